//! Reading and changing the catalog in the key-value store.

use super::{DatabaseDef, ForeignKeyDef, InfoSchema, TableDef};
use crate::error::{self, from_kv};
use crate::result::SqlError;
use crate::types::Collation;
use arc_swap::ArcSwap;
use codec::table::{encode_meta_key, index_range, meta_fields_range, table_range};
use kv_client::{Client, Transaction};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::{Arc, Mutex};

const NEXT_ID: &[u8] = b"NextID";
const SCHEMA_VERSION: &[u8] = b"SchemaVersion";
const DATABASES: &[u8] = b"DBs";
const AUTO_ID: &[u8] = b"AutoID";
const DELETE_RANGES: &[u8] = b"DeleteRanges";
/// AUTO_INCREMENT values (and hidden row ids) a node takes per trip to the
/// store: inserts then allocate from memory (DESIGN §6, issue: "allocated in
/// batches, not one round-trip per row").
const AUTO_ID_BATCH: u64 = 4_000;

fn meta(key: &[u8], field: Option<&[u8]>) -> Vec<u8> {
    let mut buf = Vec::new();
    encode_meta_key(&mut buf, key, field);
    buf
}

fn db_key(db_id: i64) -> Vec<u8> {
    format!("DB:{db_id}").into_bytes()
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> SqlError {
    error::internal(format!("corrupt catalog {what}: {e}"))
}

async fn get_u64(txn: &Transaction, key: &[u8]) -> Result<u64, SqlError> {
    match txn.get(key).await.map_err(from_kv)? {
        None => Ok(0),
        Some(v) => Ok(u64::from_be_bytes(
            v.as_slice()
                .try_into()
                .map_err(|_| corrupt("counter", "length"))?,
        )),
    }
}

/// A per-table range of AUTO_INCREMENT values already reserved in the store.
#[derive(Default)]
struct Reserved {
    next: u64,
    end: u64,
}

/// The catalog of one SQL node: the current [`InfoSchema`] and the DDL
/// operations that change it.
pub struct Catalog {
    client: Client,
    schema: ArcSwap<InfoSchema>,
    /// One DDL at a time on this node (DDL is rare; DML never takes this).
    ddl: tokio::sync::Mutex<()>,
    /// Reserved AUTO_INCREMENT ranges by table id. The map lock is held only
    /// to find a table's entry; allocation itself locks that table's entry.
    auto_ids: Mutex<HashMap<i64, Arc<tokio::sync::Mutex<Reserved>>>>,
}

impl Catalog {
    /// Load the catalog from the store.
    pub async fn open(client: Client) -> Result<Self, SqlError> {
        let catalog = Catalog {
            client,
            schema: ArcSwap::from_pointee(InfoSchema::default()),
            ddl: tokio::sync::Mutex::new(()),
            auto_ids: Mutex::new(HashMap::new()),
        };
        catalog.reload().await?;
        let pending = catalog.pending_delete_ranges().await?;
        catalog.delete_ranges(pending).await;
        Ok(catalog)
    }

    /// The current schema: an `Arc` read, no lock.
    pub fn snapshot(&self) -> Arc<InfoSchema> {
        self.schema.load_full()
    }

    /// The KV client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    async fn reload(&self) -> Result<(), SqlError> {
        let txn = self.client.begin().await.map_err(from_kv)?;
        let version = get_u64(&txn, &meta(SCHEMA_VERSION, None)).await?;
        let mut content = Vec::new();
        for (_, value) in scan_fields(&txn, DATABASES).await? {
            let db: DatabaseDef =
                serde_json::from_slice(&value).map_err(|e| corrupt("database", e))?;
            let mut tables = Vec::new();
            for (_, value) in scan_fields(&txn, &db_key(db.id)).await? {
                tables.push(serde_json::from_slice(&value).map_err(|e| corrupt("table", e))?);
            }
            content.push((db, tables));
        }
        self.schema
            .store(Arc::new(InfoSchema::new(version, content)));
        Ok(())
    }

    /// Run one DDL change in its own transaction, bump the schema version,
    /// commit, and publish the new schema. `change` gets fresh ids and names
    /// the key ranges it leaves dead through the [`DdlJob`]; they are
    /// recorded in the same transaction and removed once it has committed,
    /// as TiDB's delete-range job does (a crash in between leaves the record,
    /// finished at the next start).
    async fn ddl<T>(
        &self,
        change: impl AsyncFnOnce(&mut Transaction, &InfoSchema, &mut DdlJob) -> Result<T, SqlError>,
    ) -> Result<T, SqlError> {
        let _one_at_a_time = self.ddl.lock().await;
        let schema = self.snapshot();
        let mut txn = self.client.begin().await.map_err(from_kv)?;
        let mut job = DdlJob {
            next: get_u64(&txn, &meta(NEXT_ID, None)).await?.max(1),
            dead: Vec::new(),
        };
        let out = change(&mut txn, &schema, &mut job).await?;
        let dead: Vec<DeadRange> = std::mem::take(&mut job.dead)
            .into_iter()
            .map(|r| DeadRange {
                id: job.take(),
                start: r.start,
                end: r.end,
            })
            .collect();
        for range in &dead {
            put_json(
                &mut txn,
                meta(DELETE_RANGES, Some(&range.id.to_be_bytes())),
                range,
            );
        }
        txn.put(meta(NEXT_ID, None), job.next.to_be_bytes().to_vec());
        let version = get_u64(&txn, &meta(SCHEMA_VERSION, None)).await? + 1;
        txn.put(meta(SCHEMA_VERSION, None), version.to_be_bytes().to_vec());
        txn.commit().await.map_err(from_kv)?;
        self.reload().await?;
        self.delete_ranges(dead).await;
        Ok(out)
    }

    /// The dead ranges recorded by committed DDL and not removed yet.
    async fn pending_delete_ranges(&self) -> Result<Vec<DeadRange>, SqlError> {
        let txn = self.client.begin().await.map_err(from_kv)?;
        scan_fields(&txn, DELETE_RANGES)
            .await?
            .into_iter()
            .map(|(_, v)| serde_json::from_slice(&v).map_err(|e| corrupt("delete range", e)))
            .collect()
    }

    /// Remove dead ranges from the stores, then their records. The DDL that
    /// made them has committed, so a failure here does not fail it: the
    /// record stays and the next start retries.
    async fn delete_ranges(&self, ranges: Vec<DeadRange>) {
        for range in ranges {
            if self
                .client
                .delete_range(&range.start, &range.end)
                .await
                .is_err()
            {
                continue;
            }
            let Ok(mut txn) = self.client.begin().await else {
                continue;
            };
            txn.delete(meta(DELETE_RANGES, Some(&range.id.to_be_bytes())));
            // Losing this commit only means deleting an empty range again.
            let _ = txn.commit().await;
        }
    }

    /// CREATE DATABASE.
    pub async fn create_database(
        &self,
        name: &str,
        if_not_exists: bool,
        collation: Collation,
    ) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, ids| {
            if schema.database(name).is_some() {
                return if if_not_exists {
                    Ok(())
                } else {
                    Err(error::database_exists(name))
                };
            }
            let db = DatabaseDef {
                id: ids.take(),
                name: name.to_string(),
                collation,
            };
            put_json(txn, meta(DATABASES, Some(&db.id.to_be_bytes())), &db);
            Ok(())
        })
        .await
    }

    /// ALTER DATABASE: a new default collation, for tables created later.
    pub async fn alter_database(&self, name: &str, collation: Collation) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, _| {
            let mut db = schema
                .database(name)
                .ok_or_else(|| error::unknown_database(name))
                .map(|db| DatabaseDef::clone(db))?;
            db.collation = collation;
            put_json(txn, meta(DATABASES, Some(&db.id.to_be_bytes())), &db);
            Ok(())
        })
        .await
    }

    /// DROP DATABASE with its tables and their data.
    pub async fn drop_database(&self, name: &str, if_exists: bool) -> Result<bool, SqlError> {
        self.ddl(async |txn, schema, job| {
            let Some(db) = schema.database(name) else {
                return if if_exists {
                    Ok(false)
                } else {
                    Err(error::cannot_drop_missing_database(name))
                };
            };
            for table in schema.tables(&db.name) {
                txn.delete(meta(&db_key(db.id), Some(&table.id.to_be_bytes())));
                job.drop_table(txn, table.id);
            }
            txn.delete(meta(DATABASES, Some(&db.id.to_be_bytes())));
            Ok(true)
        })
        .await
    }

    /// CREATE TABLE: `table` comes with column ids set; its table and index
    /// ids are assigned here, after `validate` accepts it against the schema
    /// it joins.
    pub async fn create_table(
        &self,
        db: &str,
        mut table: TableDef,
        if_not_exists: bool,
        validate: impl FnOnce(&InfoSchema, &TableDef) -> Result<(), SqlError>,
    ) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, ids| {
            let db_def = schema
                .database(db)
                .ok_or_else(|| error::unknown_database(db))?;
            if schema.table(db, &table.name).is_some() {
                return if if_not_exists {
                    Ok(())
                } else {
                    Err(error::table_exists(&table.name))
                };
            }
            validate(schema, &table)?;
            table.id = ids.take();
            for index in &mut table.indexes {
                index.id = ids.take();
            }
            put_json(
                txn,
                meta(&db_key(db_def.id), Some(&table.id.to_be_bytes())),
                &table,
            );
            Ok(())
        })
        .await
    }

    /// Replace a table's definition (ALTER TABLE, CREATE/DROP INDEX,
    /// TRUNCATE), running `change` on a copy of the stored one (with the
    /// schema it is checked against). `change` may
    /// give the table a new id (TRUNCATE: the old id's data is then dead) and
    /// returns the database the table moves to, if it does (ALTER TABLE ...
    /// RENAME TO other_db.t). Indexes left without their id are dead too.
    pub async fn alter_table(
        &self,
        db: &str,
        table: &str,
        change: impl AsyncFnOnce(
            &mut Transaction,
            &InfoSchema,
            &mut TableDef,
            &mut DdlJob,
        ) -> Result<Option<String>, SqlError>,
    ) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, job| {
            let old = schema
                .table(db, table)
                .ok_or_else(|| error::no_such_table(db, table))?;
            let mut new = TableDef::clone(old);
            let to_db = change(txn, schema, &mut new, job).await?;
            if new.id != old.id {
                job.drop_table(txn, old.id);
            } else {
                for index in old.stored_indexes() {
                    if !new.stored_indexes().any(|i| i.id == index.id) {
                        job.dead.push(index_range(old.id, index.id));
                    }
                }
            }
            let moved = Move {
                from_db: db.to_string(),
                old_id: old.id,
                to_db: to_db.unwrap_or_else(|| db.to_string()),
                def: new,
            };
            replace_tables(txn, schema, &[moved])
        })
        .await
    }

    /// RENAME TABLE a TO b [, c TO d ...], across databases too: applied in
    /// order, atomically, so `a TO tmp, b TO a, tmp TO b` swaps.
    pub async fn rename_tables(
        &self,
        renames: &[(QualifiedName, QualifiedName)],
    ) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, _| {
            let key = |db: &str, t: &str| (db.to_lowercase(), t.to_lowercase());
            // The tables renamed so far, where they are now.
            let mut moves: Vec<Move> = Vec::new();
            for ((db, from), (to_db, to)) in renames {
                let at = match moves
                    .iter()
                    .position(|m| key(&m.to_db, &m.def.name) == key(db, from))
                {
                    Some(at) => at,
                    None => {
                        let def = schema
                            .table(db, from)
                            .filter(|t| !moves.iter().any(|m| m.old_id == t.id))
                            .ok_or_else(|| error::no_such_table(db, from))?;
                        moves.push(Move {
                            from_db: db.clone(),
                            old_id: def.id,
                            to_db: db.clone(),
                            def: TableDef::clone(def),
                        });
                        moves.len() - 1
                    }
                };
                let taken = moves
                    .iter()
                    .any(|m| key(&m.to_db, &m.def.name) == key(to_db, to))
                    || schema
                        .table(to_db, to)
                        .is_some_and(|t| !moves.iter().any(|m| m.old_id == t.id));
                if taken {
                    return Err(error::table_exists(to));
                }
                moves[at].to_db = to_db.clone();
                moves[at].def.name = to.clone();
            }
            replace_tables(txn, schema, &moves)
        })
        .await
    }

    /// DROP TABLE, with its data.
    pub async fn drop_table(&self, db: &str, table: &str) -> Result<(), SqlError> {
        self.ddl(async |txn, schema, job| {
            let db_def = schema
                .database(db)
                .ok_or_else(|| error::unknown_database(db))?;
            let def = schema
                .table(db, table)
                .ok_or_else(|| error::unknown_table(&format!("{db}.{table}")))?;
            txn.delete(meta(&db_key(db_def.id), Some(&def.id.to_be_bytes())));
            job.drop_table(txn, def.id);
            Ok(())
        })
        .await
    }

    /// Reserve `n` consecutive AUTO_INCREMENT values (or hidden row ids) for
    /// `table` at or above `at_least`, and return the first.
    pub async fn allocate_auto_ids(
        &self,
        table: &TableDef,
        n: u64,
        at_least: u64,
    ) -> Result<u64, SqlError> {
        let entry = {
            let mut map = self.auto_ids.lock().unwrap_or_else(|e| e.into_inner());
            map.entry(table.id).or_default().clone()
        };
        let mut reserved = entry.lock().await;
        reserved.next = reserved.next.max(at_least).max(table.auto_increment_start);
        if reserved.next + n > reserved.end {
            let want = n.max(AUTO_ID_BATCH);
            let (start, end) = self
                .reserve(table.id, want, reserved.next, reserved.end)
                .await?;
            reserved.next = start;
            reserved.end = end;
        }
        let first = reserved.next;
        reserved.next += n;
        Ok(first)
    }

    /// The value the next AUTO_INCREMENT insert into `table` would take,
    /// which SHOW CREATE TABLE prints (so a dump restores the counter): this
    /// node's next reserved id while its block lasts, else the stored mark,
    /// which is past every id any node took.
    pub async fn next_auto_id(&self, table: &TableDef) -> Result<u64, SqlError> {
        let entry = self
            .auto_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&table.id)
            .cloned();
        if let Some(entry) = entry {
            let reserved = entry.lock().await;
            if reserved.next < reserved.end {
                return Ok(reserved.next.max(table.auto_increment_start));
            }
        }
        let txn = self.client.begin().await.map_err(from_kv)?;
        let stored = get_u64(&txn, &meta(AUTO_ID, Some(&table.id.to_be_bytes()))).await?;
        Ok(stored.max(table.auto_increment_start).max(1))
    }

    /// Move the stored high-water mark of `table` past `want` more ids,
    /// starting no lower than `floor`. When the mark is still `ours_until`
    /// (the end of this node's last block: nobody reserved since), the new
    /// block starts at `floor`, so the unissued tail of the old block is used
    /// rather than left as a gap.
    async fn reserve(
        &self,
        table_id: i64,
        want: u64,
        floor: u64,
        ours_until: u64,
    ) -> Result<(u64, u64), SqlError> {
        loop {
            let mut txn = self.client.begin().await.map_err(from_kv)?;
            let key = meta(AUTO_ID, Some(&table_id.to_be_bytes()));
            let stored = get_u64(&txn, &key).await?;
            let start = if stored == ours_until && stored > 0 {
                floor
            } else {
                stored.max(floor)
            }
            .max(1);
            let end = start + want;
            txn.put(key, end.to_be_bytes().to_vec());
            match txn.commit().await {
                Ok(_) => return Ok((start, end)),
                Err(e) if e.is_retryable() => continue,
                Err(e) => return Err(from_kv(e)),
            }
        }
    }
}

/// `(database, table)`.
pub type QualifiedName = (String, String);

/// A table definition leaving its place in the catalog for another (a
/// changed definition, a new name or database, a new id).
#[derive(Clone)]
struct Move {
    from_db: String,
    old_id: i64,
    to_db: String,
    def: TableDef,
}

/// Remove the moved tables' old definitions and store the new ones, refusing
/// a name taken by a table that stays. Foreign keys follow their parent to
/// its new name and to the new names of its columns, as in MySQL.
fn replace_tables(
    txn: &mut Transaction,
    schema: &InfoSchema,
    moves: &[Move],
) -> Result<(), SqlError> {
    let db_id = |name: &str| {
        schema
            .database(name)
            .map(|d| d.id)
            .ok_or_else(|| error::unknown_database(name))
    };
    let mut moves = moves.to_vec();
    let followers = follow_parents(schema, &mut moves)?;
    for m in &moves {
        txn.delete(meta(
            &db_key(db_id(&m.from_db)?),
            Some(&m.old_id.to_be_bytes()),
        ));
    }
    for m in &moves {
        if schema
            .table(&m.to_db, &m.def.name)
            .is_some_and(|t| !moves.iter().any(|o| o.old_id == t.id))
        {
            return Err(error::table_exists(&m.def.name));
        }
        put_json(
            txn,
            meta(&db_key(db_id(&m.to_db)?), Some(&m.def.id.to_be_bytes())),
            &m.def,
        );
    }
    for (db, child) in &followers {
        put_json(
            txn,
            meta(&db_key(db_id(db)?), Some(&child.id.to_be_bytes())),
            child,
        );
    }
    Ok(())
}

/// Point the foreign keys whose parent a move renames (the table, or its
/// columns) at the new names: in the moved definitions themselves, and in
/// the children that stay, returned with their database to be stored. A
/// table may not take a name that a foreign key of a table that stays
/// names without its parent existing (made with `foreign_key_checks` off):
/// it would become that key's parent unchecked.
fn follow_parents(
    schema: &InfoSchema,
    moves: &mut [Move],
) -> Result<Vec<(String, TableDef)>, SqlError> {
    let mut followers: Vec<(String, TableDef)> = Vec::new();
    for at in 0..moves.len() {
        let Some(before) = schema.table_by_id(moves[at].old_id) else {
            continue;
        };
        let (from_db, to_db) = (moves[at].from_db.clone(), moves[at].to_db.clone());
        let after = moves[at].def.clone();
        let same_name =
            from_db.eq_ignore_ascii_case(&to_db) && before.name.eq_ignore_ascii_case(&after.name);
        if !same_name
            && schema.table(&to_db, &after.name).is_none()
            && !schema.references_to(&to_db, &after.name).is_empty()
        {
            return Err(error::unsupported(
                "renaming a table to a name a foreign key references",
            ));
        }
        let renamed_columns = before.columns.iter().any(|c| {
            after
                .columns
                .iter()
                .any(|n| n.id == c.id && n.name != c.name)
        });
        if same_name && !renamed_columns {
            continue;
        }
        let follow = |fk: &mut ForeignKeyDef| {
            fk.parent_db = to_db.clone();
            fk.parent_table = after.name.clone();
            fk.follow_columns(before, &after);
        };
        for reference in schema.references_to(&from_db, &before.name) {
            let child_id = reference.child.id;
            if let Some(m) = moves.iter_mut().find(|m| m.old_id == child_id) {
                // The moved definition may have lost or reordered its keys
                // (ALTER TABLE ... DROP FOREIGN KEY, RENAME TO): by name.
                let name = &reference.def().name;
                if let Some(fk) = m
                    .def
                    .foreign_keys
                    .iter_mut()
                    .find(|f| f.name.eq_ignore_ascii_case(name))
                {
                    follow(fk);
                }
                continue;
            }
            let at = match followers.iter().position(|(_, c)| c.id == child_id) {
                Some(at) => at,
                None => {
                    followers.push((
                        reference.child_db.clone(),
                        TableDef::clone(&reference.child),
                    ));
                    followers.len() - 1
                }
            };
            follow(&mut followers[at].1.foreign_keys[reference.key]);
        }
    }
    Ok(followers)
}

/// A key range a DDL left without a reader, removed after it commits.
#[derive(Serialize, Deserialize)]
struct DeadRange {
    id: i64,
    start: Vec<u8>,
    end: Vec<u8>,
}

/// What one DDL transaction hands out and leaves behind: fresh catalog ids,
/// and the key ranges (dropped tables and indexes) to delete once it commits.
pub struct DdlJob {
    next: u64,
    /// Ranges no definition refers to any more.
    dead: Vec<Range<Vec<u8>>>,
}

impl DdlJob {
    /// A table's data is dead: its range, and its AUTO_INCREMENT mark.
    fn drop_table(&mut self, txn: &mut Transaction, table: i64) {
        self.dead.push(table_range(table));
        txn.delete(meta(AUTO_ID, Some(&table.to_be_bytes())));
    }

    /// A fresh id.
    pub fn take(&mut self) -> i64 {
        let id = self.next as i64;
        self.next += 1;
        id
    }
}

fn put_json<T: serde::Serialize>(txn: &mut Transaction, key: Vec<u8>, value: &T) {
    // Serializing plain structs of strings and numbers cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    txn.put(key, bytes);
}

async fn scan_fields(txn: &Transaction, key: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>, SqlError> {
    let range = meta_fields_range(key);
    txn.scan(&range.start, Some(&range.end), usize::MAX, false)
        .await
        .map_err(from_kv)
}
