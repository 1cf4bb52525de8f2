fn main() -> anyhow::Result<()> {
    wuye_kit::run_service(
        wuye_engineering::NAME,
        wuye_engineering::DEFAULT_LISTEN,
        wuye_engineering::build,
    )
}
