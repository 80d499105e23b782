//! The messages and service interfaces between Basalt's roles.
//!
//! Messages are generated from the `.proto` files beside this crate, so the
//! same types travel in-process (the playground calls a store's service as a
//! plain async method) and over gRPC (a cluster). Callers hold an
//! `Arc<dyn KvService>` or `Arc<dyn PdService>` and never know which
//! ([`grpc`] serves a trait object and implements the traits remotely).

#![allow(missing_docs, clippy::all)]

/// The transactional KV API of a store.
pub mod kvrpc {
    include!(concat!(env!("OUT_DIR"), "/kvrpc.rs"));
}

/// The placement driver's API.
pub mod pdrpc {
    include!(concat!(env!("OUT_DIR"), "/pdrpc.rs"));
}

/// Store-to-store Raft messages and the Raft state a store persists.
pub mod raftpb {
    include!(concat!(env!("OUT_DIR"), "/raftpb.rs"));
}

/// The gRPC services (generated stubs; see [`grpc`] for their use).
pub mod basaltpb {
    include!(concat!(env!("OUT_DIR"), "/basaltpb.rs"));
}

pub mod grpc;
pub mod metrics;
mod service;

pub use service::{KvService, PdService, RaftService, RpcError};
