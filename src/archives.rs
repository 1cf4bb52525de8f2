use clap::Args;
#[derive(Args)]
pub struct ArchiveArgs {}
pub async fn archive(_a: ArchiveArgs) -> anyhow::Result<()> { Ok(()) }
