//! PD's own persisted state: one key per item in PD's engine.
//!
//! ```text
//! pd/tso/limit          the TSO window's upper limit (see `tso`)
//! pd/id/limit           the id allocator's window limit
//! pd/bootstrapped       set once the first region exists
//! pd/store/{id}         a store's address (Store)
//! pd/region/{id}        a region and its leader's store (RegionWithLeader)
//! ```

use crate::{Error, Result};
use prost::Message;
use storage::{Cf, Engine, KeyRange, Snapshot, WriteBatch};

/// Keys of PD's state.
pub enum Key {
    /// The id allocator's window.
    IdLimit,
    /// The bootstrap mark.
    Bootstrapped,
    /// A store.
    Store(u64),
    /// A region.
    Region(u64),
}

impl Key {
    fn encode(&self) -> Vec<u8> {
        let (prefix, id): (&[u8], Option<u64>) = match self {
            Key::IdLimit => (b"pd/id/limit", None),
            Key::Bootstrapped => (b"pd/bootstrapped", None),
            Key::Store(id) => (b"pd/store/", Some(*id)),
            Key::Region(id) => (b"pd/region/", Some(*id)),
        };
        let mut key = prefix.to_vec();
        if let Some(id) = id {
            key.extend_from_slice(&id.to_be_bytes());
        }
        key
    }
}

/// Read `key`'s message, if present.
pub fn get<E: Engine, M: Message + Default>(engine: &E, key: Key) -> Result<Option<M>> {
    match engine.snapshot().get(Cf::Default, &key.encode())? {
        Some(v) => Ok(Some(
            M::decode(v.as_ref()).map_err(|_| Error::Corrupt("pd meta"))?,
        )),
        None => Ok(None),
    }
}

/// Write `key`'s message (synced when asked: what must survive a crash).
pub fn put<E: Engine, M: Message>(engine: &E, key: Key, value: &M, sync: bool) -> Result<()> {
    let mut batch = WriteBatch::new();
    batch.put(Cf::Default, key.encode(), value.encode_to_vec());
    batch.set_sync(sync);
    engine.write(batch)?;
    Ok(())
}

/// Read a number (`IdLimit`, `Bootstrapped`).
pub fn get_u64<E: Engine>(engine: &E, key: Key) -> Result<Option<u64>> {
    match engine.snapshot().get(Cf::Default, &key.encode())? {
        Some(v) => Ok(Some(u64::from_be_bytes(
            v.as_ref()
                .try_into()
                .map_err(|_| Error::Corrupt("pd meta"))?,
        ))),
        None => Ok(None),
    }
}

/// Write a number, synced.
pub fn put_u64<E: Engine>(engine: &E, key: Key, value: u64) -> Result<()> {
    let mut batch = WriteBatch::new();
    batch.put(Cf::Default, key.encode(), value.to_be_bytes());
    batch.set_sync(true);
    engine.write(batch)?;
    Ok(())
}

/// Every message of one kind: `Key::Store(_)` lists all stores,
/// `Key::Region(_)` all regions (the id is ignored).
pub fn scan<E: Engine, M: Message + Default>(engine: &E, kind: Key) -> Result<Vec<M>> {
    let mut start = kind.encode();
    start.truncate(start.len() - 8);
    let mut end = start.clone();
    *end.last_mut().expect("prefixes are not empty") += 1;
    let mut out = Vec::new();
    for item in engine
        .snapshot()
        .scan(Cf::Default, &KeyRange::new(start, Some(end)), false)
    {
        let (_, v) = item?;
        out.push(M::decode(v.as_ref()).map_err(|_| Error::Corrupt("pd meta"))?);
    }
    Ok(out)
}
