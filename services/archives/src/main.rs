fn main() -> anyhow::Result<()> {
    wuye_kit::run_service(
        wuye_archives::NAME,
        wuye_archives::DEFAULT_LISTEN,
        wuye_archives::build,
    )
}
