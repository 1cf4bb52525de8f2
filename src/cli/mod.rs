//! The command-line client: one module per department and area, one small function per
//! subcommand over the department's gRPC client, and the output in [`output`].

pub(crate) mod archives;
pub(crate) mod customer_service;
pub(crate) mod engineering;
pub(crate) mod hq;
pub(crate) mod input;
pub(crate) mod login;
pub(crate) mod output;
pub(crate) mod quality;
pub(crate) mod token;
pub(crate) mod whoami;

use wuye::connect::{Authed, Target};

/// One command's connection to the gateway, and the property it works on.
pub(crate) struct Session {
    channel: Authed,
    property: String,
}

impl Session {
    pub(crate) async fn open(target: &Target) -> anyhow::Result<Self> {
        Ok(Self {
            channel: target.channel().await?,
            property: target.property.clone(),
        })
    }

    /// The property, for a request's `property_id`.
    pub(crate) fn p(&self) -> String {
        self.property.clone()
    }

    /// A client of one service on the session's channel: `s.client(KeyServiceClient::new)`.
    pub(crate) fn client<C>(&self, new: impl FnOnce(Authed) -> C) -> C {
        new(self.channel.clone())
    }
}

/// Asks for the pages of a list until the last: `page` asks for the one after a page token,
/// takes its rows and returns the next token (empty after the last page).
pub(crate) async fn for_each_page(
    mut page: impl AsyncFnMut(String) -> anyhow::Result<String>,
) -> anyhow::Result<()> {
    let mut page_token = String::new();
    loop {
        page_token = page(page_token).await?;
        if page_token.is_empty() {
            return Ok(());
        }
    }
}
