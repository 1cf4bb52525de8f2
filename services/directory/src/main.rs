fn main() -> anyhow::Result<()> {
    wuye_kit::run_service(
        wuye_directory::NAME,
        wuye_directory::DEFAULT_LISTEN,
        wuye_directory::build,
    )
}
