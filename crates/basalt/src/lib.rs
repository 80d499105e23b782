//! Process wiring for the `basalt` binary: how PD, a store and the KV client
//! are put together in each mode.

pub mod embedded;
