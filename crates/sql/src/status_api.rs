//! What the SQL node's own status routes answer, as TiDB's debugging API
//! does: the schema it runs with, a region seen from SQL (which tables and
//! indexes its keys belong to), and every MVCC record of one row. The
//! answers are JSON; the HTTP server that carries them is the `status`
//! crate's.

use crate::catalog::TableDef;
use crate::expr::cast::to_text;
use crate::session::SqlEngine;
use codec::Datum;
use serde_json::{Value, json};

/// Why a route has no answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No such database, table, region or row (HTTP 404).
    #[error("{0}")]
    NotFound(String),
    /// The cluster could not be asked (HTTP 500).
    #[error("{0}")]
    Failed(String),
}

fn failed(e: impl std::fmt::Display) -> ApiError {
    ApiError::Failed(e.to_string())
}

/// Lower-case hex of a key.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A table as `/schema/{db}/{table}` shows it.
fn table_json(table: &TableDef) -> Value {
    json!({
        "id": table.id,
        "name": table.name,
        "columns": table.columns.iter().map(|c| json!({
            "id": c.id,
            "name": c.name,
            "type": crate::show::type_sql(&c.ty),
            "nullable": c.nullable,
            "auto_increment": c.auto_increment,
        })).collect::<Vec<_>>(),
        "indexes": table.indexes.iter().map(|i| json!({
            "id": i.id,
            "name": i.name,
            "columns": i.columns.iter().map(|&(c, _)| table.columns[c].name.as_str()).collect::<Vec<_>>(),
            "unique": i.unique,
            "primary": i.primary,
        })).collect::<Vec<_>>(),
        "comment": table.comment,
    })
}

/// A value as text, NULL as JSON null.
fn datum_json(d: &Datum) -> Value {
    match d {
        Datum::Null => Value::Null,
        d => Value::String(to_text(d)),
    }
}

impl SqlEngine {
    /// `/schema`: every database with its tables' names; `/schema/{db}`:
    /// its tables; `/schema/{db}/{table}`: one table.
    pub fn schema_json(&self, db: Option<&str>, table: Option<&str>) -> Result<Value, ApiError> {
        let schema = self.catalog().snapshot();
        let Some(db) = db else {
            let dbs = schema.databases().into_iter().map(|d| {
                let tables: Vec<&str> = schema
                    .tables(&d.name)
                    .into_iter()
                    .map(|t| t.name.as_str())
                    .collect();
                json!({"id": d.id, "name": d.name, "tables": tables})
            });
            return Ok(json!({
                "schema_version": schema.version,
                "databases": dbs.collect::<Vec<_>>(),
            }));
        };
        if schema.database(db).is_none() {
            return Err(ApiError::NotFound(format!("Unknown database '{db}'")));
        }
        match table {
            None => Ok(Value::Array(
                schema.tables(db).into_iter().map(|t| table_json(t)).collect(),
            )),
            Some(name) => schema
                .table(db, name)
                .map(|t| table_json(t))
                .ok_or_else(|| ApiError::NotFound(format!("Table '{db}.{name}' doesn't exist"))),
        }
    }

    /// `/regions/{id}`: the region as PD knows it, and the tables whose rows
    /// or indexes its key range holds (`frames`, as TiDB names them).
    pub async fn region_json(&self, id: u64) -> Result<Value, ApiError> {
        let info = self
            .catalog()
            .client()
            .region_by_id(id)
            .await
            .map_err(failed)?
            .ok_or_else(|| ApiError::NotFound(format!("no region {id}")))?;
        let start = info.start_raw().map_err(failed)?;
        let end = info.end_raw().map_err(failed)?;
        let schema = self.catalog().snapshot();
        let mut frames = Vec::new();
        for db in schema.databases() {
            for table in schema.tables(&db.name) {
                let range = codec::table::table_range(table.id);
                let overlaps = end.as_ref().is_none_or(|e| range.start < *e) && start < range.end;
                if overlaps {
                    frames.push(json!({
                        "db_name": db.name,
                        "table_name": table.name,
                        "table_id": table.id,
                    }));
                }
            }
        }
        let region = &info.region;
        let epoch = region.epoch.unwrap_or_default();
        Ok(json!({
            "region_id": region.id,
            "start_key": hex(&start),
            "end_key": end.as_deref().map(hex),
            "epoch": {"conf_ver": epoch.conf_ver, "version": epoch.version},
            "peers": region.peers.iter().map(|p| json!({"id": p.id, "store_id": p.store_id})).collect::<Vec<_>>(),
            "leader_store_id": info.leader_store,
            "frames": frames,
        }))
    }

    /// `/mvcc/key/{db}/{table}/{handle}`: every MVCC record of a row, from
    /// the leader of its region: the lock of a transaction in flight on it,
    /// and each committed version (newest first) with its value decoded
    /// into columns, deletions and rollbacks included.
    pub async fn mvcc_json(&self, db: &str, table: &str, handle: i64) -> Result<Value, ApiError> {
        let schema = self.catalog().snapshot();
        let def = schema
            .table(db, table)
            .ok_or_else(|| ApiError::NotFound(format!("Table '{db}.{table}' doesn't exist")))?;
        let key = crate::table::row_key(def, handle);
        let info = self
            .catalog()
            .client()
            .mvcc_by_key(&key)
            .await
            .map_err(failed)?;
        let row = |value: &[u8]| -> Value {
            match crate::table::decode_columns(def, value, None) {
                Ok(values) => Value::Object(
                    def.columns
                        .iter()
                        .zip(&values)
                        .map(|(c, v)| (c.name.clone(), datum_json(v)))
                        .collect(),
                ),
                Err(e) => json!({ "undecodable": e.to_string(), "hex": hex(value) }),
            }
        };
        let lock = info.lock.as_ref().map(|l| {
            json!({
                "type": l.r#type,
                "start_ts": l.start_ts,
                "primary": hex(&l.primary),
                "ttl": l.ttl,
                "txn_size": l.txn_size,
                "for_update_ts": l.for_update_ts,
                "row": l.short_value.as_deref().map(row),
            })
        });
        let writes: Vec<Value> = info
            .writes
            .iter()
            .map(|w| {
                json!({
                    "type": w.r#type,
                    "start_ts": w.start_ts,
                    "commit_ts": w.commit_ts,
                    "row": w.value.as_deref().map(row),
                })
            })
            .collect();
        Ok(json!({
            "key": hex(&key),
            "db": db,
            "table": def.name,
            "handle": handle,
            "lock": lock,
            "writes": writes,
        }))
    }
}
