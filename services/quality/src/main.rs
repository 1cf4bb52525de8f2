fn main() -> anyhow::Result<()> {
    wuye_kit::run_service(
        wuye_quality::NAME,
        wuye_quality::DEFAULT_LISTEN,
        wuye_quality::build,
    )
}
