//! The SQL layer: what a MySQL connection's statements mean, turned into
//! transactional key-value reads and writes through [`kv_client`].
//!
//! The protocol layer (crate `server`) owns bytes on the wire; this crate
//! owns meaning. They meet at [`Session`] (one per connection) and the result
//! types of [`result`].

pub mod result;

pub use result::{ColumnInfo, ColumnType, Output, Prepared, SqlError};
