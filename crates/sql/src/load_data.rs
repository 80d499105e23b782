//! LOAD DATA LOCAL INFILE: the statement's options, and splitting the file
//! the client sends into rows of fields as MySQL does.
//!
//! The protocol turns the statement around: the server answers with a
//! request for the file (`Output::LocalInfile`), the client streams it, and
//! the session inserts its rows ([`Session::local_infile`]). Rows go in
//! through the ordinary INSERT path in batches, with the fields as `?`
//! parameters, so conversions, defaults, AUTO_INCREMENT and duplicate keys
//! behave as for INSERT. As in MySQL, LOCAL implies IGNORE unless REPLACE is
//! given: the file is already sent, so a bad row becomes a warning.
//!
//! [`Session::local_infile`]: crate::session::Session::local_infile

use sqlparser::ast::ObjectName;

/// What a duplicate key does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnDuplicate {
    /// Error (server-side files only), or skip with LOCAL.
    Default,
    /// `IGNORE`: skip the row with a warning.
    Ignore,
    /// `REPLACE`: replace the old row.
    Replace,
}

/// A parsed `LOAD DATA` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadData {
    /// `LOCAL`: the client sends the file.
    pub local: bool,
    /// The file name, as the client should open it.
    pub file: String,
    /// REPLACE / IGNORE.
    pub on_duplicate: OnDuplicate,
    /// The target table.
    pub table: ObjectName,
    /// `FIELDS TERMINATED BY` (default tab).
    pub fields_terminated: Vec<u8>,
    /// `[OPTIONALLY] ENCLOSED BY` (default none).
    pub enclosed: Option<u8>,
    /// `ESCAPED BY` (default backslash; none when empty).
    pub escaped: Option<u8>,
    /// `LINES STARTING BY` (default empty).
    pub lines_starting: Vec<u8>,
    /// `LINES TERMINATED BY` (default newline).
    pub lines_terminated: Vec<u8>,
    /// `IGNORE n LINES`.
    pub ignore_lines: u64,
    /// The column list (default: every column in order).
    pub columns: Vec<String>,
}

impl LoadData {
    /// MySQL's defaults for a LOAD DATA of `file` into `table`.
    pub fn new(local: bool, file: String, table: ObjectName) -> Self {
        Self {
            local,
            file,
            on_duplicate: OnDuplicate::Default,
            table,
            fields_terminated: b"\t".to_vec(),
            enclosed: None,
            escaped: Some(b'\\'),
            lines_starting: Vec::new(),
            lines_terminated: b"\n".to_vec(),
            ignore_lines: 0,
            columns: Vec::new(),
        }
    }

    /// The rows of `data`: each a list of fields, `None` for NULL (`\N`,
    /// or the unquoted word NULL when fields are enclosed).
    pub fn rows(&self, data: &[u8]) -> Vec<Vec<Option<Vec<u8>>>> {
        let mut rows = Vec::new();
        let mut pos = 0;
        let mut line = 0u64;
        while pos < data.len() {
            if !self.lines_starting.is_empty() {
                match find(&data[pos..], &self.lines_starting) {
                    Some(at) => pos += at + self.lines_starting.len(),
                    None => break,
                }
            }
            let (fields, next) = self.line(data, pos);
            pos = next;
            line += 1;
            if line > self.ignore_lines {
                rows.push(fields);
            }
        }
        rows
    }

    /// The fields of the line starting at `pos`, and where the next begins.
    fn line(&self, data: &[u8], mut pos: usize) -> (Vec<Option<Vec<u8>>>, usize) {
        let mut fields = Vec::new();
        loop {
            let mut field = Vec::new();
            let mut quoted = false;
            let mut escaped_null = false;
            if self.enclosed.is_some() && data.get(pos).copied() == self.enclosed {
                quoted = true;
                pos += 1;
            }
            let mut end_of_line = false;
            loop {
                let Some(&b) = data.get(pos) else {
                    end_of_line = true;
                    break;
                };
                if Some(b) == self.escaped && pos + 1 < data.len() {
                    let c = data[pos + 1];
                    if c == b'N' && field.is_empty() && !quoted {
                        escaped_null = true;
                    }
                    field.push(unescape(c));
                    pos += 2;
                    continue;
                }
                if quoted && Some(b) == self.enclosed {
                    if data.get(pos + 1).copied() == self.enclosed {
                        field.push(b);
                        pos += 2;
                        continue;
                    }
                    let rest = &data[pos + 1..];
                    if rest.starts_with(&self.fields_terminated)
                        || rest.starts_with(&self.lines_terminated)
                        || rest.is_empty()
                    {
                        quoted = false;
                        pos += 1;
                        continue;
                    }
                    field.push(b);
                    pos += 1;
                    continue;
                }
                if !quoted {
                    if data[pos..].starts_with(&self.fields_terminated) {
                        pos += self.fields_terminated.len();
                        break;
                    }
                    if data[pos..].starts_with(&self.lines_terminated) {
                        pos += self.lines_terminated.len();
                        end_of_line = true;
                        break;
                    }
                }
                field.push(b);
                pos += 1;
            }
            let null = (escaped_null && field == b"N")
                || (self.enclosed.is_some() && !quoted && field == b"NULL");
            fields.push((!null).then_some(field));
            if end_of_line {
                return (fields, pos);
            }
        }
    }
}

/// The byte an escape sequence `\c` stands for.
fn unescape(c: u8) -> u8 {
    match c {
        b'0' => 0,
        b'b' => 8,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'Z' => 26,
        other => other,
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(f: impl FnOnce(&mut LoadData)) -> LoadData {
        let mut l = LoadData::new(true, "f".into(), ObjectName::from(vec![]));
        f(&mut l);
        l
    }

    fn s(v: &str) -> Option<Vec<u8>> {
        Some(v.as_bytes().to_vec())
    }

    #[test]
    fn tab_separated_with_escapes_and_nulls() {
        let l = load(|_| {});
        let rows = l.rows(b"1\ta\\tb\t\\N\n2\tx\\\\y\t\n3");
        assert_eq!(
            rows,
            vec![
                vec![s("1"), s("a\tb"), None],
                vec![s("2"), s("x\\y"), s("")],
                vec![s("3")],
            ]
        );
    }

    #[test]
    fn csv_with_quotes_header_and_crlf() {
        let l = load(|l| {
            l.fields_terminated = b",".to_vec();
            l.enclosed = Some(b'"');
            l.lines_terminated = b"\r\n".to_vec();
            l.ignore_lines = 1;
        });
        let rows = l.rows(b"id,name\r\n1,\"a,b\"\r\n2,\"say \"\"hi\"\"\"\r\n3,NULL\r\n");
        assert_eq!(
            rows,
            vec![
                vec![s("1"), s("a,b")],
                vec![s("2"), s("say \"hi\"")],
                vec![s("3"), None],
            ]
        );
    }
}
