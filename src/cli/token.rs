//! `wuye token`: development tokens, and tokens signed with a deployment's key.

use std::time::Duration;

use clap::Args;

use super::output::say;

#[derive(Args)]
pub struct TokenArgs {
    /// A role code of DOMAIN.md "Who is who", such as front_desk or cs_supervisor.
    #[arg(long)]
    role: String,
    /// A property the token is scoped to; repeat for several.
    #[arg(long = "property", required = true)]
    properties: Vec<String>,
    #[arg(long, default_value = "dev-user")]
    user: String,
    #[arg(long, default_value = "开发用户")]
    name: String,
    /// Hours until the token expires (the gateway refuses more than its
    /// auth.max_lifetime_secs, 12 h by default).
    #[arg(long, default_value_t = 12)]
    hours: u64,
    /// Sign with this Ed25519 private key (PEM) instead of the development key: for a
    /// deployment whose gateway trusts it (`deploy/make-keys.sh` makes one), until sign-in
    /// through the company's identity provider.
    #[arg(long, requires = "kid")]
    key: Option<std::path::PathBuf>,
    /// The `kid` the gateway knows the key by.
    #[arg(long)]
    kid: Option<String>,
}

pub fn token(args: TokenArgs) -> anyhow::Result<()> {
    let ttl = Duration::from_secs(args.hours * 3600);
    let token = match (&args.key, &args.kid) {
        (Some(key), Some(kid)) => {
            let pem = std::fs::read(key)
                .map_err(|e| anyhow::anyhow!("reading {}: {e}", key.display()))?;
            let claims = wuye_gateway::Claims::new(
                &args.user,
                &args.name,
                &args.role,
                &args.properties,
                ttl,
            );
            wuye_gateway::sign_token(wuye_gateway::KeyAlgorithm::EdDSA, &pem, kid, &claims)?
        }
        _ => {
            wuye_gateway::sign_dev_token(&args.role, &args.properties, &args.user, &args.name, ttl)?
        }
    };
    say!("{token}");
    Ok(())
}
