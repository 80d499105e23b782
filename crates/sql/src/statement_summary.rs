//! `INFORMATION_SCHEMA.STATEMENTS_SUMMARY`: every statement the node ran,
//! aggregated by digest (TiDB's statement summary, MySQL's
//! `events_statements_summary_by_digest`).
//!
//! A digest is the statement's text normalised: literals become `?`,
//! keywords upper case, runs of white space one space; its SHA-256 names
//! it. A prepared statement's digest is computed once, at PREPARE; a text
//! statement's on each run. The aggregates are atomics in a lock-free
//! ordered map, so recording a run never waits for another connection:
//! count, errors, latency sum, min, max and a log-scale histogram (for the
//! p95), rows, first and last seen.

use crate::metrics::StatementType;
use codec::Datum;
use crossbeam_skiplist::SkipMap;
use sha2::{Digest as _, Sha256};
use sqlparser::dialect::MySqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use std::sync::{Arc, LazyLock};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A statement's digest: its normalised text and that text's hash.
#[derive(Clone, Debug)]
pub struct Digest {
    /// SHA-256 of `text`, in hex.
    pub hex: Arc<str>,
    /// The normalised text.
    pub text: Arc<str>,
}

/// The digest of `sql` (one statement); empty when measuring is off, as
/// nothing is recorded then.
pub fn digest(sql: &str) -> Digest {
    if !kv_client::metrics::enabled() {
        return Digest {
            hex: Arc::from(""),
            text: Arc::from(""),
        };
    }
    let text = normalize(sql);
    let hex: String = Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Digest {
        hex: hex.into(),
        text: text.into(),
    }
}

/// Literals to `?`, keywords upper case, tokens one space apart (none
/// inside parentheses' edges, before commas, around dots), comments and a
/// trailing `;` dropped. Text the tokenizer refuses is kept with its white
/// space collapsed.
fn normalize(sql: &str) -> String {
    let Ok(tokens) = Tokenizer::new(&MySqlDialect {}, sql).tokenize() else {
        return sql.split_whitespace().collect::<Vec<_>>().join(" ");
    };
    let mut out = String::with_capacity(sql.len());
    let mut glued = true;
    for token in tokens {
        let piece = match &token {
            Token::Whitespace(_) | Token::SemiColon => continue,
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::HexStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::Placeholder(_) => "?".to_string(),
            Token::Word(w)
                if w.quote_style.is_none()
                    && w.keyword != sqlparser::keywords::Keyword::NoKeyword =>
            {
                w.value.to_uppercase()
            }
            other => other.to_string(),
        };
        let tight_before = matches!(token, Token::RParen | Token::Comma | Token::Period);
        if !glued && !tight_before {
            out.push(' ');
        }
        glued = matches!(token, Token::LParen | Token::Period);
        out.push_str(&piece);
    }
    out
}

/// Buckets of the latency histogram: bucket `i` holds runs under 2^(i+1) µs.
const BUCKETS: usize = 40;

/// One digest's aggregates.
struct Summary {
    kind: StatementType,
    schema: Option<String>,
    text: Arc<str>,
    sample: String,
    count: AtomicU64,
    errors: AtomicU64,
    sum_ns: AtomicU64,
    min_ns: AtomicU64,
    max_ns: AtomicU64,
    rows: AtomicU64,
    first_seen_us: i64,
    last_seen_us: AtomicU64,
    buckets: [AtomicU64; BUCKETS],
}

/// One run of a statement, as the summary records it.
pub struct Run<'a> {
    pub kind: StatementType,
    pub schema: Option<&'a str>,
    pub took: Duration,
    pub rows: u64,
    pub failed: bool,
    /// Its text, kept as the digest's sample the first time.
    pub sample: &'a str,
    /// When it ended.
    pub ended: Instant,
}

/// The summaries of one SQL node.
#[derive(Default)]
pub struct Summaries {
    by_digest: SkipMap<Arc<str>, Summary>,
}

/// `at` in microseconds since the Unix epoch, from the statement's own
/// clock reading rather than a second (wall clock) one.
fn unix_us(at: Instant) -> i64 {
    static ANCHOR: LazyLock<(Instant, i64)> = LazyLock::new(|| {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as i64);
        (Instant::now(), unix)
    });
    let (instant, unix) = *ANCHOR;
    match at.checked_duration_since(instant) {
        Some(after) => unix + after.as_micros() as i64,
        None => unix - instant.duration_since(at).as_micros() as i64,
    }
}

/// STATEMENTS_SUMMARY's columns, in order (latencies in nanoseconds).
pub const COLUMNS: [&str; 15] = [
    "STMT_TYPE",
    "SCHEMA_NAME",
    "DIGEST",
    "DIGEST_TEXT",
    "EXEC_COUNT",
    "SUM_ERRORS",
    "SUM_LATENCY",
    "MIN_LATENCY",
    "MAX_LATENCY",
    "AVG_LATENCY",
    "P95_LATENCY",
    "AVG_RESULT_ROWS",
    "FIRST_SEEN",
    "LAST_SEEN",
    "QUERY_SAMPLE_TEXT",
];

impl Summaries {
    /// Add a run of the statement with `digest`.
    pub fn record(&self, digest: &Digest, run: &Run) {
        let entry = match self.by_digest.get(&digest.hex) {
            Some(entry) => entry,
            None => self.by_digest.get_or_insert(
                digest.hex.clone(),
                Summary {
                    kind: run.kind,
                    schema: run.schema.map(str::to_owned),
                    text: digest.text.clone(),
                    sample: run.sample.to_owned(),
                    count: AtomicU64::new(0),
                    errors: AtomicU64::new(0),
                    sum_ns: AtomicU64::new(0),
                    min_ns: AtomicU64::new(u64::MAX),
                    max_ns: AtomicU64::new(0),
                    rows: AtomicU64::new(0),
                    first_seen_us: unix_us(run.ended),
                    last_seen_us: AtomicU64::new(0),
                    buckets: std::array::from_fn(|_| AtomicU64::new(0)),
                },
            ),
        };
        let s = entry.value();
        let ns = run.took.as_nanos().min(u128::from(u64::MAX)) as u64;
        s.count.fetch_add(1, Ordering::Relaxed);
        s.errors.fetch_add(u64::from(run.failed), Ordering::Relaxed);
        s.sum_ns.fetch_add(ns, Ordering::Relaxed);
        s.min_ns.fetch_min(ns, Ordering::Relaxed);
        s.max_ns.fetch_max(ns, Ordering::Relaxed);
        s.rows.fetch_add(run.rows, Ordering::Relaxed);
        s.last_seen_us
            .store(unix_us(run.ended) as u64, Ordering::Relaxed);
        let bucket = (64 - (ns / 1000).leading_zeros() as usize).min(BUCKETS - 1);
        s.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    }

    /// STATEMENTS_SUMMARY's rows.
    pub fn rows(&self) -> Vec<Vec<Datum>> {
        let text = |s: &str| Datum::Bytes(s.as_bytes().to_vec());
        let time = |us: i64| {
            text(&crate::expr::cast::to_text(&Datum::DateTime(
                crate::expr::cast::datetime_from_unix_micros(us),
            )))
        };
        self.by_digest
            .iter()
            .map(|entry| {
                let s = entry.value();
                let count = s.count.load(Ordering::Relaxed).max(1);
                let sum = s.sum_ns.load(Ordering::Relaxed);
                vec![
                    text(s.kind.name()),
                    s.schema.as_deref().map_or(Datum::Null, text),
                    text(entry.key()),
                    text(&s.text),
                    Datum::I64(s.count.load(Ordering::Relaxed) as i64),
                    Datum::I64(s.errors.load(Ordering::Relaxed) as i64),
                    Datum::I64(sum as i64),
                    Datum::I64(s.min_ns.load(Ordering::Relaxed).min(s.max_ns.load(Ordering::Relaxed)) as i64),
                    Datum::I64(s.max_ns.load(Ordering::Relaxed) as i64),
                    Datum::I64((sum / count) as i64),
                    Datum::I64(p95_ns(&s.buckets, count) as i64),
                    Datum::F64(s.rows.load(Ordering::Relaxed) as f64 / count as f64),
                    time(s.first_seen_us),
                    time(s.last_seen_us.load(Ordering::Relaxed) as i64),
                    text(&s.sample),
                ]
            })
            .collect()
    }
}

/// The upper bound of the bucket that holds the 95th percentile run.
fn p95_ns(buckets: &[AtomicU64; BUCKETS], count: u64) -> u64 {
    let target = count - count / 20;
    let mut seen = 0;
    for (i, b) in buckets.iter().enumerate() {
        seen += b.load(Ordering::Relaxed);
        if seen >= target {
            return 1000 << (i + 1).min(63 - 10);
        }
    }
    1000 << BUCKETS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_spacing_do_not_change_a_digest() {
        let a = digest("select c from sbtest1 where id=42");
        let b = digest("SELECT  c\n FROM sbtest1 WHERE id = ?;");
        assert!(a.text.starts_with("SELECT c FROM sbtest1 WHERE "), "{}", a.text);
        assert!(a.text.ends_with(" = ?"), "{}", a.text);
        assert_eq!(a.hex, b.hex);
        assert_eq!(a.hex.len(), 64);
        assert_ne!(a.hex, digest("SELECT c FROM sbtest2 WHERE id = 1").hex);
        assert_eq!(
            digest("INSERT INTO t VALUES (1, 'x', 2.5)").text.as_ref(),
            "INSERT INTO t VALUES (?, ?, ?)"
        );
    }

    #[test]
    fn runs_aggregate_under_their_digest() {
        let summaries = Summaries::default();
        let d = digest("SELECT 1");
        for ms in [1, 2, 3, 100] {
            summaries.record(
                &d,
                &Run {
                    kind: StatementType::Select,
                    schema: Some("test"),
                    took: Duration::from_millis(ms),
                    rows: 1,
                    failed: ms == 100,
                    sample: "SELECT 1",
                    ended: Instant::now(),
                },
            );
        }
        let rows = summaries.rows();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!(row[4], Datum::I64(4));
        assert_eq!(row[5], Datum::I64(1));
        assert_eq!(row[6], Datum::I64(106_000_000));
        assert_eq!(row[7], Datum::I64(1_000_000));
        assert_eq!(row[8], Datum::I64(100_000_000));
        // The slowest of four runs is the p95: its bucket's bound.
        assert!(matches!(row[10], Datum::I64(p) if (100_000_000..300_000_000).contains(&p)));
    }
}
