//! Why a packet could not be read or used, and the MySQL errors the protocol
//! layer itself reports (as opposed to the SQL layer's).

use sql::SqlError;

/// A failure below the SQL layer: transport, framing or packet contents.
#[derive(Debug, thiserror::Error)]
pub(crate) enum Error {
    /// The socket failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The client went away, at a packet boundary or inside a packet.
    #[error("client closed the connection")]
    Closed,
    /// A payload longer than `max_allowed_packet`.
    #[error("packet larger than max_allowed_packet ({0} bytes)")]
    TooLarge(usize),
    /// A packet whose sequence id is not the next one.
    #[error("packet sequence id {got}, expected {expected}")]
    OutOfOrder { got: u8, expected: u8 },
    /// A packet whose contents do not parse.
    #[error("malformed packet: {0}")]
    Malformed(&'static str),
}

fn err(code: u16, state: &'static str, message: impl Into<String>) -> SqlError {
    SqlError {
        code,
        state,
        message: message.into(),
    }
}

/// ER_MALFORMED_PACKET.
pub(crate) fn malformed() -> SqlError {
    err(1835, "HY000", "Malformed communication packet.")
}

/// ER_NET_PACKET_TOO_LARGE.
pub(crate) fn packet_too_large() -> SqlError {
    err(
        1153,
        "08S01",
        "Got a packet bigger than 'max_allowed_packet' bytes",
    )
}

/// ER_NET_PACKETS_OUT_OF_ORDER.
pub(crate) fn out_of_order() -> SqlError {
    err(1156, "08S01", "Got packets out of order")
}

/// ER_HANDSHAKE_ERROR.
pub(crate) fn bad_handshake() -> SqlError {
    err(1043, "08S01", "Bad handshake")
}

/// ER_ACCESS_DENIED_ERROR.
pub(crate) fn access_denied(user: &str, host: &str, used_password: bool) -> SqlError {
    let using = if used_password { "YES" } else { "NO" };
    err(
        1045,
        "28000",
        format!("Access denied for user '{user}'@'{host}' (using password: {using})"),
    )
}

/// ER_UNKNOWN_COM_ERROR.
pub(crate) fn unknown_command() -> SqlError {
    err(1047, "08S01", "Unknown command")
}

/// ER_EMPTY_QUERY.
pub(crate) fn empty_query() -> SqlError {
    err(1065, "42000", "Query was empty")
}

/// ER_INVALID_CHARACTER_STRING: statement text that is not UTF-8.
pub(crate) fn invalid_utf8(bytes: &[u8]) -> SqlError {
    let valid = bytes.utf8_chunks().next().map_or(0, |c| c.valid().len());
    let hex: String = bytes[valid..]
        .iter()
        .take(8)
        .map(|b| format!("\\x{b:02X}"))
        .collect();
    err(
        1300,
        "HY000",
        format!("Invalid utf8mb4 character string: '{hex}'"),
    )
}

/// ER_UNKNOWN_STMT_HANDLER.
pub(crate) fn unknown_statement(id: u32, command: &str) -> SqlError {
    err(
        1243,
        "HY000",
        format!("Unknown prepared statement handler ({id}) given to {command}"),
    )
}

/// ER_WRONG_ARGUMENTS for COM_STMT_EXECUTE: parameters that were never
/// typed, or values no SQL type can hold.
pub(crate) fn wrong_execute_arguments() -> SqlError {
    err(1210, "HY000", "Incorrect arguments to mysqld_stmt_execute")
}

/// ER_NET_PACKET_TOO_LARGE for a parameter assembled from long data.
pub(crate) fn long_data_too_large() -> SqlError {
    err(
        1153,
        "08S01",
        "Parameter of prepared statement which is set through mysql_send_long_data() is longer than 'max_allowed_packet' bytes",
    )
}

/// ER_STMT_HAS_NO_OPEN_CURSOR: we never open cursors.
pub(crate) fn no_open_cursor(id: u32) -> SqlError {
    err(
        1421,
        "HY000",
        format!("The statement ({id}) has no open cursor."),
    )
}

/// ER_INTERNAL_ERROR: the SQL layer returned a value that its column type
/// cannot carry in the binary protocol.
pub(crate) fn value_mismatch(column: &str) -> SqlError {
    err(
        1105,
        "HY000",
        format!("Internal error: value of column '{column}' does not match its type"),
    )
}
