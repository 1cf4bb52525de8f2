fn main() -> anyhow::Result<()> {
    wuye_kit::run_service(
        wuye_customer_service::NAME,
        wuye_customer_service::DEFAULT_LISTEN,
        wuye_customer_service::build,
    )
}
