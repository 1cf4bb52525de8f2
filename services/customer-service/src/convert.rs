//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

/// A proto enum and its domain enum, variant for variant: `TryFrom` (the unspecified value
/// has no domain form) and `From` back.
macro_rules! enum_conversions {
    ($pb:ident <=> $domain:ident { $($variant:ident),+ $(,)? }) => {
        impl TryFrom<pb::$pb> for $domain {
            type Error = ();

            fn try_from(value: pb::$pb) -> Result<Self, ()> {
                match value {
                    $(pb::$pb::$variant => Ok($domain::$variant),)+
                    pb::$pb::Unspecified => Err(()),
                }
            }
        }

        impl From<$domain> for pb::$pb {
            fn from(value: $domain) -> Self {
                match value {
                    $($domain::$variant => pb::$pb::$variant,)+
                }
            }
        }
    };
}

mod complaints;
mod households;
mod keys;
mod surveys;
mod visits;

pub(crate) use complaints::property_settings;
pub(crate) use surveys::{CampaignAt, FormOf, StatisticsOf};
pub(crate) use visits::VisitAt;
