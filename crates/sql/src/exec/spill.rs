//! Rows on disk: what an operator writes to a temporary file when its
//! statement reaches its memory quota, and reads back in the same order.
//! Each row is written in the row value format (`codec::row`, its columns
//! numbered from 0), which keeps every value exactly: a decimal's scale, a
//! float's bits, a string's bytes.

use super::Row;
use crate::error;
use crate::expr::EvalContext;
use crate::memory::{SPILLED_BYTES, SPILLS, tmp_storage_error};
use crate::result::SqlError;
use codec::Datum;
use codec::row::{RowView, encode_row};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};

/// Bytes buffered per file, writing or reading.
const BUFFER: usize = 64 * 1024;

/// Count one time `operator` put what it held on disk
/// (`basalt_sql_spills_total`).
pub(super) fn count(operator: &str) {
    SPILLS.with_label_values(&[operator]).inc();
}

/// A file being filled with rows.
pub(super) struct RunWriter {
    out: BufWriter<File>,
    encoded: Vec<u8>,
    bytes: usize,
}

impl RunWriter {
    /// A new temporary file, or `None` when the statement may not spill.
    pub(super) fn create(ctx: &EvalContext<'_>) -> Option<Result<RunWriter, SqlError>> {
        Some(ctx.memory.spill_file()?.map(RunWriter::new))
    }

    fn new(file: File) -> RunWriter {
        RunWriter {
            out: BufWriter::with_capacity(BUFFER, file),
            encoded: Vec::new(),
            bytes: 0,
        }
    }

    /// Append `row`.
    pub(super) fn write(&mut self, row: &Row) -> Result<(), SqlError> {
        let columns: Vec<(i64, &Datum)> =
            row.iter().enumerate().map(|(i, d)| (i as i64, d)).collect();
        self.encoded.clear();
        encode_row(&mut self.encoded, &columns).map_err(error::internal)?;
        let len = self.encoded.len() as u32;
        self.out
            .write_all(&len.to_le_bytes())
            .and_then(|()| self.out.write_all(&self.encoded))
            .map_err(|e| tmp_storage_error(&e))?;
        self.bytes += 4 + self.encoded.len();
        Ok(())
    }

    /// Bytes written so far.
    pub(super) fn bytes(&self) -> usize {
        self.bytes
    }

    /// The rows written, to read back from the first, with `width` columns
    /// each.
    pub(super) fn finish(self, width: usize) -> Result<RunReader, SqlError> {
        SPILLED_BYTES.inc_by(self.bytes as u64);
        let mut file = self
            .out
            .into_inner()
            .map_err(|e| tmp_storage_error(e.error()))?;
        file.seek(SeekFrom::Start(0))
            .map_err(|e| tmp_storage_error(&e))?;
        Ok(RunReader {
            input: BufReader::with_capacity(BUFFER, file),
            encoded: Vec::new(),
            width,
        })
    }
}

/// A file of rows read back in the order they were written.
pub(super) struct RunReader {
    input: BufReader<File>,
    encoded: Vec<u8>,
    width: usize,
}

impl RunReader {
    /// The next row, `None` after the last.
    pub(super) fn next(&mut self) -> Result<Option<Row>, SqlError> {
        let mut len = [0; 4];
        match self.input.read_exact(&mut len) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(tmp_storage_error(&e)),
        }
        self.encoded.resize(u32::from_le_bytes(len) as usize, 0);
        self.input
            .read_exact(&mut self.encoded)
            .map_err(|e| tmp_storage_error(&e))?;
        let columns = RowView::new(&self.encoded)
            .and_then(|view| view.decode_all())
            .map_err(error::internal)?;
        if columns.len() != self.width {
            return Err(error::internal("a spilled row of the wrong width"));
        }
        Ok(Some(columns.into_iter().map(|(_, datum)| datum).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_exactly() {
        let rows: Vec<Row> = vec![
            vec![
                Datum::I64(i64::MIN),
                Datum::U64(u64::MAX),
                Datum::F64(-0.0),
                Datum::Decimal("1.50".parse().unwrap()),
                Datum::Bytes(b"a\0b".to_vec()),
                Datum::Null,
            ],
            vec![
                Datum::Date("2024-02-29".parse().unwrap()),
                Datum::DateTime("2024-01-02 03:04:05.670000".parse().unwrap()),
                Datum::Time("-838:59:59".parse().unwrap()),
                Datum::Decimal("-0.000".parse().unwrap()),
                Datum::Bytes(Vec::new()),
                Datum::F64(f64::MAX),
            ],
            vec![Datum::Null; 6],
        ];
        let mut writer = RunWriter::new(tempfile::tempfile().unwrap());
        for row in &rows {
            writer.write(row).unwrap();
        }
        let mut reader = writer.finish(6).unwrap();
        let mut back = Vec::new();
        while let Some(row) = reader.next().unwrap() {
            back.push(row);
        }
        assert_eq!(format!("{back:?}"), format!("{rows:?}"));
    }
}
