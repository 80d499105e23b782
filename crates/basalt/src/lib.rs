//! Process wiring for the `basalt` binary: how PD, a store and the KV client
//! are put together in each mode (one process, a role per process, a local
//! cluster of processes).

pub mod ctl;
pub mod embedded;
pub mod playground;
pub mod roles;
pub mod sql_routes;
