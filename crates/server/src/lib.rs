//! The MySQL wire protocol, written for Basalt on tokio: handshake and
//! authentication (`mysql_native_password`, `caching_sha2_password`), packet
//! framing, the text and binary (prepared statement) protocols, and the
//! accept loop.
//!
//! The SQL layer plugs in through [`BackendFactory`] and [`Backend`]; this
//! crate never interprets SQL. Client input never panics the server: every
//! malformed packet becomes a MySQL error packet or a closed connection.
//!
//! The packet and value codecs are our own rather than `mysql_common`'s:
//! the server side needs only a small part of that crate, which would bring
//! serde, regex, bigint and compression crates into every build.

mod auth;
mod backend;
mod conn;
mod error;
mod message;
mod packet;
mod server;
mod sql_backend;
mod value;
mod wire;

pub use auth::AuthPlugin;
pub use backend::{Backend, BackendFactory, ConnectInfo};
pub use server::{ServerConfig, serve};
pub use sql_backend::SqlBackendFactory;
