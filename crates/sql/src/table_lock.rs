//! LOCK TABLES as the locking session sees it: while it holds table locks,
//! it may use only the tables it locked (1100), and write only those it
//! locked for WRITE (1099). Locks are not yet seen by other sessions: they
//! neither wait for them nor are blocked by them.

use crate::result::SqlError;

/// The tables a session locked, by lower-cased database and name, and
/// whether for WRITE.
#[derive(Debug, Default)]
pub struct TableLocks(Vec<(String, String, bool)>);

impl TableLocks {
    /// Lock `db.table`, for WRITE or READ (a table named twice keeps the
    /// stronger lock).
    pub fn add(&mut self, db: &str, table: &str, write: bool) {
        let (db, table) = (db.to_lowercase(), table.to_lowercase());
        match self.0.iter_mut().find(|(d, t, _)| *d == db && *t == table) {
            Some(entry) => entry.2 |= write,
            None => self.0.push((db, table, write)),
        }
    }

    /// Whether `db.table` may be read (`write`: written) under these locks.
    pub fn check(&self, db: &str, table: &str, write: bool) -> Result<(), SqlError> {
        let found = self
            .0
            .iter()
            .find(|(d, t, _)| d.eq_ignore_ascii_case(db) && t.eq_ignore_ascii_case(table));
        match found {
            None => Err(SqlError::new(
                1100,
                "HY000",
                format!("Table '{table}' was not locked with LOCK TABLES"),
            )),
            Some((_, _, false)) if write => Err(SqlError::new(
                1099,
                "HY000",
                format!("Table '{table}' was locked with a READ lock and can't be updated"),
            )),
            Some(_) => Ok(()),
        }
    }
}
