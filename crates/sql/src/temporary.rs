//! MySQL's temporary tables: visible only to the session that made them,
//! shadowing a permanent table of the same name, gone when the session
//! ends, never in SHOW TABLES or INFORMATION_SCHEMA.
//!
//! Their definitions live here, not in the catalog; their rows live in the
//! session's [`LocalStore`] and never reach a region. A temporary table gets
//! a negative table id, which is what makes its keys local
//! ([`codec::table::is_local`]): the session's transactions read them with
//! their own writes and apply them at commit, so rows of a temporary table
//! commit and roll back with the transaction, as InnoDB's do. AUTO_INCREMENT
//! values and hidden row ids come from a counter kept here.

use crate::catalog::TableDef;
use crate::error;
use crate::result::SqlError;
use kv_client::LocalStore;
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// Temporary table ids: negative, never reused within the process.
static NEXT_ID: AtomicI64 = AtomicI64::new(-1);

/// One session's temporary tables.
#[derive(Default)]
pub struct TemporaryTables {
    /// By lower-cased (database, name): the database and the definition.
    tables: HashMap<(String, String), (String, Arc<TableDef>)>,
    store: LocalStore,
    /// The next AUTO_INCREMENT value (or hidden row id) of each table.
    auto_ids: Mutex<HashMap<i64, u64>>,
    /// The last index id handed out: ids are never reused, so the entries
    /// of an index an ALTER dropped are never read as another's.
    last_index_id: AtomicI64,
    /// Bumped by every CREATE and DROP, so that a plan cached while a name
    /// meant another table is not reused.
    pub version: u64,
}

fn key(db: &str, name: &str) -> (String, String) {
    (db.to_lowercase(), name.to_lowercase())
}

impl TemporaryTables {
    /// The temporary table `db.name`, if the session has one.
    pub fn get(&self, db: &str, name: &str) -> Option<&Arc<TableDef>> {
        if self.tables.is_empty() {
            return None;
        }
        self.tables.get(&key(db, name)).map(|(_, t)| t)
    }

    /// The local keys the session's transactions read and write.
    pub fn store(&self) -> LocalStore {
        self.store.clone()
    }

    /// Add `def` as temporary table `db.{def.name}`, giving it and its
    /// indexes their ids; 1050 if the session has one of that name.
    pub fn create(&mut self, db: &str, mut def: TableDef) -> Result<(), SqlError> {
        let k = key(db, &def.name);
        if self.tables.contains_key(&k) {
            return Err(error::table_exists(&def.name));
        }
        def.id = NEXT_ID.fetch_sub(1, Ordering::Relaxed);
        def.indexes.iter_mut().for_each(|i| i.id = 0);
        self.number_indexes(&mut def);
        self.store.add_table(def.id);
        self.auto_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(def.id, def.auto_increment_start.max(1));
        self.tables.insert(k, (db.to_string(), Arc::new(def)));
        self.version += 1;
        Ok(())
    }

    /// Give the indexes of `def` that have none (id 0) their ids.
    pub fn number_indexes(&self, def: &mut TableDef) {
        for index in def.indexes.iter_mut().filter(|i| i.id == 0) {
            index.id = self.last_index_id.fetch_add(1, Ordering::Relaxed) + 1;
        }
    }

    /// After an ALTER (`crate::ddl::alter_temporary`) whose rows committed:
    /// `db.name` is `def` now, under the database and name `to` when the
    /// ALTER renamed it. A raised AUTO_INCREMENT start raises the counter.
    pub fn replace(&mut self, db: &str, name: &str, def: TableDef, to: Option<(String, String)>) {
        let Some((mut db, _)) = self.tables.remove(&key(db, name)) else {
            return;
        };
        let mut def = def;
        if let Some((to_db, to_name)) = to {
            (db, def.name) = (to_db, to_name);
        }
        let mut ids = self.auto_ids.lock().unwrap_or_else(PoisonError::into_inner);
        let next = ids.entry(def.id).or_insert(1);
        *next = (*next).max(def.auto_increment_start);
        drop(ids);
        self.tables.insert(key(&db, &def.name), (db, Arc::new(def)));
        self.version += 1;
    }

    /// Drop the temporary table `db.name` with its rows; false if there is
    /// none.
    pub fn drop(&mut self, db: &str, name: &str) -> bool {
        let Some((_, def)) = self.tables.remove(&key(db, name)) else {
            return false;
        };
        self.store.remove_table(def.id);
        self.auto_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&def.id);
        self.version += 1;
        true
    }

    /// TRUNCATE: the rows go, AUTO_INCREMENT starts again.
    pub fn truncate(&mut self, db: &str, name: &str) -> bool {
        let Some((_, def)) = self.tables.get(&key(db, name)) else {
            return false;
        };
        self.store.remove_table(def.id);
        self.store.add_table(def.id);
        self.auto_ids
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(def.id, def.auto_increment_start.max(1));
        true
    }

    /// The value the next AUTO_INCREMENT insert into temporary table `table`
    /// would take.
    pub fn next_auto_id(&self, table: &TableDef) -> u64 {
        let ids = self.auto_ids.lock().unwrap_or_else(PoisonError::into_inner);
        ids.get(&table.id)
            .copied()
            .unwrap_or(1)
            .max(table.auto_increment_start)
    }

    /// Reserve `n` consecutive AUTO_INCREMENT values (or hidden row ids) of
    /// temporary table `table` at or above `at_least`; returns the first.
    pub fn allocate_auto_ids(&self, table: &TableDef, n: u64, at_least: u64) -> u64 {
        let mut ids = self.auto_ids.lock().unwrap_or_else(PoisonError::into_inner);
        let next = ids.entry(table.id).or_insert(1);
        *next = (*next).max(at_least);
        let first = *next;
        *next += n;
        first
    }
}
