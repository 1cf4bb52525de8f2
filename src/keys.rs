use clap::Args;
#[derive(Args)]
pub struct KeysArgs {}
pub async fn keys(_a: KeysArgs) -> anyhow::Result<()> { Ok(()) }
