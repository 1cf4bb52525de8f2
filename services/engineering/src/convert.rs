//! Protobuf ↔ domain, in one place: `TryFrom` from the contracts' enums and messages, `From`
//! to them. The transport converts requests and answers with it; the application, the
//! payloads of its events.

use chrono::{DateTime, Utc};
use prost_types::Timestamp;
use wuye_kit::time::to_timestamp;

/// One proto enum ↔ one domain enum, variant by variant: `From` the domain enum and, with
/// `<=>`, `TryFrom` the proto enum, its unspecified value refused.
macro_rules! enum_map {
    ($domain:ident <=> $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        enum_map!($domain => $proto { $($d = $p),+ });
        impl TryFrom<$proto> for $domain {
            type Error = ();
            fn try_from(p: $proto) -> Result<Self, ()> {
                match p {
                    $(<$proto>::$p => Ok($domain::$d),)+
                    _ => Err(()),
                }
            }
        }
    };
    ($domain:ident => $proto:ty { $($d:ident = $p:ident),+ $(,)? }) => {
        impl From<$domain> for $proto {
            fn from(d: $domain) -> Self {
                match d { $($domain::$d => <$proto>::$p,)+ }
            }
        }
    };
}

fn at(t: DateTime<Utc>) -> Option<Timestamp> {
    Some(to_timestamp(t))
}

fn at_opt(t: Option<DateTime<Utc>>) -> Option<Timestamp> {
    t.map(to_timestamp)
}

mod alerts;
mod duty;
mod equipment;
mod figures;
mod handover;
mod inspections;
mod work_orders;
