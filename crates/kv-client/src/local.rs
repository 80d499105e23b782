//! Keys that never leave this process: the rows of MySQL's temporary tables
//! (TiDB's local temporary tables). They belong to one session, so no other
//! transaction can see or conflict with them, and they need no region, no
//! lock and no commit protocol.
//!
//! A key is local when [`codec::table::is_local`] says so (its table id is
//! negative). A [`Transaction`](crate::Transaction) given the session's
//! [`LocalStore`] reads such keys from it, under its own buffered writes;
//! its commit applies its local writes after the rest has committed, and its
//! rollback drops them, as InnoDB does for temporary tables.

use std::collections::{BTreeMap, HashSet};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

/// One session's local keys. Cloning shares them. The lock is the session's
/// own: a session runs one statement at a time, so it is never contended.
#[derive(Clone, Default, Debug)]
pub struct LocalStore(Arc<Mutex<Local>>);

#[derive(Default, Debug)]
struct Local {
    /// Tables whose keys are kept; writes to any other (a table dropped
    /// while a transaction still held writes to it) are dropped.
    tables: HashSet<i64>,
    data: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl LocalStore {
    fn lock(&self) -> MutexGuard<'_, Local> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keep the keys of table `id` from now on.
    pub fn add_table(&self, id: i64) {
        self.lock().tables.insert(id);
    }

    /// Forget table `id` and its keys.
    pub fn remove_table(&self, id: i64) {
        let mut local = self.lock();
        local.tables.remove(&id);
        local
            .data
            .retain(|k, _| codec::table::table_of(k) != Some(id));
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lock().data.get(key).cloned()
    }

    pub(crate) fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Vec<(Vec<u8>, Vec<u8>)> {
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        let local = self.lock();
        let range = local.data.range::<[u8], _>((Bound::Included(start), upper));
        let pairs = |it: &mut dyn Iterator<Item = (&Vec<u8>, &Vec<u8>)>| {
            it.take(limit)
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect()
        };
        if reverse {
            pairs(&mut range.rev())
        } else {
            pairs(&mut range.into_iter())
        }
    }

    /// Apply committed writes (`None`: delete).
    pub(crate) fn apply(&self, writes: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        let mut local = self.lock();
        for (key, value) in writes {
            let kept = codec::table::table_of(&key).is_some_and(|t| local.tables.contains(&t));
            match value {
                Some(value) if kept => {
                    local.data.insert(key, value);
                }
                _ => {
                    local.data.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LocalStore;
    use codec::table::{encode_row_key, is_local, local_range};

    fn row(table: i64, handle: i64) -> Vec<u8> {
        let mut key = Vec::new();
        encode_row_key(&mut key, table, handle);
        key
    }

    #[test]
    fn local_keys_are_those_of_negative_table_ids() {
        assert!(is_local(&row(-1, 5)) && is_local(&row(i64::MIN, 0)));
        assert!(!is_local(&row(0, 5)) && !is_local(&row(7, -3)) && !is_local(b"mNextID"));
        let range = local_range();
        assert!(range.contains(&row(-1, i64::MAX)) && !range.contains(&row(1, 0)));
    }

    #[test]
    fn writes_apply_to_kept_tables_only_and_go_with_their_table() {
        let store = LocalStore::default();
        store.add_table(-1);
        store.apply(vec![
            (row(-1, 1), Some(b"a".to_vec())),
            (row(-1, 2), Some(b"b".to_vec())),
            (row(-2, 1), Some(b"dropped".to_vec())),
        ]);
        assert_eq!(store.get(&row(-2, 1)), None);
        let all = store.scan(&row(-1, i64::MIN), Some(&row(-1, i64::MAX)), 10, true);
        assert_eq!(
            all,
            vec![(row(-1, 2), b"b".to_vec()), (row(-1, 1), b"a".to_vec())]
        );
        store.apply(vec![(row(-1, 1), None)]);
        assert_eq!(store.scan(&row(-1, i64::MIN), None, 10, false).len(), 1);
        store.remove_table(-1);
        assert_eq!(store.get(&row(-1, 2)), None);
    }
}
