//! Byte encodings shared by every layer: memcomparable keys (byte order equals
//! SQL order), the table/index/meta key layout, the row value format, and the
//! MVCC timestamp suffix.

pub mod bytes;
pub mod datum;
pub mod decimal;
pub mod mvcc;
pub mod number;
pub mod row;
pub mod table;
pub mod time;
pub mod ts;

pub use datum::Datum;
pub use decimal::Decimal;
pub use time::{Date, DateTime, Time};

/// Why bytes failed to decode, or a value failed to parse or validate. Decoding
/// only ever sees bytes this crate wrote, so a decode error means corruption or
/// a caller mixing up key kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The input ended inside a value.
    #[error("truncated {0}")]
    Truncated(&'static str),
    /// The input is not a valid encoding, or a value is outside its type's
    /// range.
    #[error("invalid {0}")]
    Invalid(&'static str),
}

/// Result alias for this crate.
pub type Result<T> = std::result::Result<T, Error>;
