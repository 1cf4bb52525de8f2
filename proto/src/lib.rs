//! wuye's protobuf contracts: one module per `wuye.<area>.v1` package.

pub mod codec;
pub mod personal;

// Generated code: message sizes are the contracts' to decide.
#[allow(clippy::large_enum_variant)]
pub mod wuye {
    pub mod archives {
        pub mod v1 {
            tonic::include_proto!("wuye.archives.v1");
        }
    }
    pub mod common {
        pub mod v1 {
            tonic::include_proto!("wuye.common.v1");
        }
    }
    pub mod customerservice {
        pub mod v1 {
            tonic::include_proto!("wuye.customerservice.v1");
        }
    }
    pub mod engineering {
        pub mod v1 {
            tonic::include_proto!("wuye.engineering.v1");
        }
    }
    pub mod events {
        pub mod v1 {
            tonic::include_proto!("wuye.events.v1");
        }
    }
    pub mod hq {
        pub mod v1 {
            tonic::include_proto!("wuye.hq.v1");
        }
    }
    pub mod quality {
        pub mod v1 {
            tonic::include_proto!("wuye.quality.v1");
        }
    }
}

pub use wuye::{
    archives::v1 as archives, common::v1 as common, customerservice::v1 as customerservice,
    engineering::v1 as engineering, events::v1 as events, hq::v1 as hq, quality::v1 as quality,
};

/// The encoded `FileDescriptorSet` of every contract, for reflection and policy checks.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("wuye_descriptor");
