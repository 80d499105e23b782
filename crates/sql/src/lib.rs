//! The SQL layer: what a MySQL connection's statements mean, turned into
//! transactional key-value reads and writes through [`kv_client`].
//!
//! The protocol layer (crate `server`) owns bytes on the wire; this crate
//! owns meaning. They meet at [`Session`] (one per connection) and the result
//! types of [`result`].
//!
//! A statement goes: text → `sqlparser` AST ([`session`]) → bound
//! expressions and a [`plan::Plan`] ([`plan`], reading the catalog snapshot
//! of [`catalog`]) → rows ([`exec`]) or writes ([`dml`]), all inside one
//! `kv_client::Transaction`. Rows and index entries become key-value pairs
//! in [`table`].

pub mod admission;
mod binary_prefix;
pub mod catalog;
pub mod ddl;
pub mod dml;
pub mod error;
pub mod exec;
pub mod explain;
pub mod expr;
pub mod load_data;
pub mod memory;
pub mod metrics;
pub mod optimizer;
pub mod plan;
pub mod plan_cache;
pub mod process;
pub mod prune;
pub mod result;
pub mod session;
pub mod show;
pub mod slow_log;
pub mod statement_summary;
pub mod status_api;
pub mod table;
pub mod table_lock;
pub mod temporary;
pub mod text_statement;
pub mod types;
pub mod variables;

pub use result::{ColumnInfo, ColumnType, Outlet, Output, Prepared, SqlError, Streamed};
pub use session::{Session, SqlEngine};
