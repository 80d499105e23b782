//! Payloads of the server's generic packets: OK, EOF, ERR, column
//! definitions, and the capability and status bits they depend on.

use sql::{ColumnInfo, SqlError};

use crate::wire::{NULL_VALUE, put_lenenc_bytes, put_lenenc_int};

/// Capability flags (`CLIENT_*`).
pub(crate) mod cap {
    pub const LONG_PASSWORD: u32 = 1;
    pub const FOUND_ROWS: u32 = 1 << 1;
    pub const LONG_FLAG: u32 = 1 << 2;
    pub const CONNECT_WITH_DB: u32 = 1 << 3;
    pub const LOCAL_FILES: u32 = 1 << 7;
    pub const PROTOCOL_41: u32 = 1 << 9;
    pub const INTERACTIVE: u32 = 1 << 10;
    pub const TRANSACTIONS: u32 = 1 << 13;
    pub const SECURE_CONNECTION: u32 = 1 << 15;
    pub const MULTI_STATEMENTS: u32 = 1 << 16;
    pub const MULTI_RESULTS: u32 = 1 << 17;
    pub const PS_MULTI_RESULTS: u32 = 1 << 18;
    pub const PLUGIN_AUTH: u32 = 1 << 19;
    pub const CONNECT_ATTRS: u32 = 1 << 20;
    pub const PLUGIN_AUTH_LENENC_CLIENT_DATA: u32 = 1 << 21;
    pub const DEPRECATE_EOF: u32 = 1 << 24;

    /// What we offer. Not offered: SSL, compression, session tracking,
    /// query attributes, optional result set metadata.
    pub const SERVER: u32 = LONG_PASSWORD
        | FOUND_ROWS
        | LONG_FLAG
        | CONNECT_WITH_DB
        | LOCAL_FILES
        | PROTOCOL_41
        | INTERACTIVE
        | TRANSACTIONS
        | SECURE_CONNECTION
        | MULTI_STATEMENTS
        | MULTI_RESULTS
        | PS_MULTI_RESULTS
        | PLUGIN_AUTH
        | CONNECT_ATTRS
        | PLUGIN_AUTH_LENENC_CLIENT_DATA
        | DEPRECATE_EOF;
}

/// `SERVER_MORE_RESULTS_EXISTS`: another result of the same command follows.
pub(crate) const MORE_RESULTS_EXISTS: u16 = 0x0008;

/// The header of EOF packets, and of OK packets that replace them.
const EOF_HEADER: u8 = 0xFE;

/// OK: affected rows, last insert id, status, warnings, info. The info is
/// length-encoded and left out when empty: the protocol documentation says
/// "rest of packet", but MySQL and MariaDB send it length-encoded and
/// clients (libmysqlclient, mysql_common) parse it that way.
pub(crate) fn ok(
    out: &mut Vec<u8>,
    affected: u64,
    last_insert_id: u64,
    status: u16,
    warnings: u16,
    info: &str,
) {
    out.push(0x00);
    ok_body(out, affected, last_insert_id, status, warnings);
    if !info.is_empty() {
        put_lenenc_bytes(out, info.as_bytes());
    }
}

fn ok_body(out: &mut Vec<u8>, affected: u64, last_insert_id: u64, status: u16, warnings: u16) {
    put_lenenc_int(out, affected);
    put_lenenc_int(out, last_insert_id);
    out.extend_from_slice(&status.to_le_bytes());
    out.extend_from_slice(&warnings.to_le_bytes());
}

/// The end of a result set or of a list of definitions: an EOF packet, or
/// for `CLIENT_DEPRECATE_EOF` clients an OK packet with the EOF header.
pub(crate) fn end_of_rows(out: &mut Vec<u8>, deprecate_eof: bool, status: u16, warnings: u16) {
    out.push(EOF_HEADER);
    if deprecate_eof {
        ok_body(out, 0, 0, status, warnings);
    } else {
        out.extend_from_slice(&warnings.to_le_bytes());
        out.extend_from_slice(&status.to_le_bytes());
    }
}

/// ERR: code, `#` and SQLSTATE, message.
pub(crate) fn err(out: &mut Vec<u8>, e: &SqlError) {
    out.push(0xFF);
    out.extend_from_slice(&e.code.to_le_bytes());
    out.push(b'#');
    // SQLSTATE is exactly five characters on the wire.
    let mut state = *b"HY000";
    for (dst, src) in state.iter_mut().zip(e.state.bytes()) {
        *dst = src;
    }
    out.extend_from_slice(&state);
    out.extend_from_slice(e.message.as_bytes());
}

/// A column definition (protocol 4.1). COM_FIELD_LIST adds a default
/// value, which we send as NULL.
pub(crate) fn column_def(out: &mut Vec<u8>, col: &ColumnInfo, with_default: bool) {
    put_lenenc_bytes(out, b"def");
    put_lenenc_bytes(out, col.schema.as_bytes());
    put_lenenc_bytes(out, col.table.as_bytes());
    put_lenenc_bytes(out, col.org_table.as_bytes());
    put_lenenc_bytes(out, col.name.as_bytes());
    put_lenenc_bytes(out, col.org_name.as_bytes());
    out.push(0x0C);
    out.extend_from_slice(&col.charset.to_le_bytes());
    out.extend_from_slice(&col.length.to_le_bytes());
    out.push(col.column_type as u8);
    out.extend_from_slice(&col.flags.to_le_bytes());
    out.push(col.decimals);
    out.extend_from_slice(&[0, 0]);
    if with_default {
        out.push(NULL_VALUE);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sql::ColumnType;

    #[test]
    fn ok_and_eof_layouts() {
        let mut out = Vec::new();
        ok(&mut out, 300, 7, 0x0002, 1, "info");
        assert_eq!(
            out,
            [
                0x00, 0xFC, 0x2C, 0x01, 7, 2, 0, 1, 0, 4, b'i', b'n', b'f', b'o'
            ]
        );

        let mut out = Vec::new();
        end_of_rows(&mut out, false, 0x000A, 3);
        assert_eq!(out, [0xFE, 3, 0, 0x0A, 0]);

        let mut out = Vec::new();
        end_of_rows(&mut out, true, 0x000A, 3);
        assert_eq!(out, [0xFE, 0, 0, 0x0A, 0, 3, 0]);
    }

    #[test]
    fn err_layout_pads_a_short_sqlstate() {
        let mut out = Vec::new();
        let e = SqlError {
            code: 1064,
            state: "42",
            message: "bad".into(),
        };
        err(&mut out, &e);
        assert_eq!(
            out,
            [
                0xFF, 0x28, 0x04, b'#', b'4', b'2', b'0', b'0', b'0', b'b', b'a', b'd'
            ]
        );
    }

    #[test]
    fn column_def_layout() {
        let col = ColumnInfo {
            schema: "db".into(),
            table: "t".into(),
            org_table: "t".into(),
            name: "a".into(),
            org_name: "a".into(),
            charset: 63,
            length: 20,
            column_type: ColumnType::LongLong,
            flags: 0x0001,
            decimals: 0,
        };
        let mut out = Vec::new();
        column_def(&mut out, &col, true);
        let expected: &[u8] = &[
            3, b'd', b'e', b'f', 2, b'd', b'b', 1, b't', 1, b't', 1, b'a', 1, b'a', 0x0C, 63, 0,
            20, 0, 0, 0, 8, 1, 0, 0, 0, 0, 0xFB,
        ];
        assert_eq!(out, expected);
    }
}
