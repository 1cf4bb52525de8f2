use clap::Args;
#[derive(Args)]
pub struct SurveyArgs {}
pub async fn survey(_a: SurveyArgs) -> anyhow::Result<()> { Ok(()) }
#[derive(Args)]
pub struct VisitArgs {}
pub async fn visit(_a: VisitArgs) -> anyhow::Result<()> { Ok(()) }
