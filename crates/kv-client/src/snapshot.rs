//! Reads at one timestamp, across regions, with lock resolution.

use crate::backoff::Backoff;
use crate::resolver::resolve_or_wait;
use crate::{Client, Result, key_error};
use proto::kvrpc::{BatchGetRequest, GetRequest, KeyError, KvPair, ScanRequest, key_error::Kind};

/// A consistent read-only view at `ts`.
#[derive(Clone)]
pub struct Snapshot {
    client: Client,
    ts: u64,
}

/// A response's key error, split into "a lock is in the way" and the rest.
enum Outcome {
    Done,
    Locked(proto::kvrpc::LockInfo),
}

fn outcome(error: Option<KeyError>) -> Result<Outcome> {
    match error.and_then(|e| e.kind) {
        None => Ok(Outcome::Done),
        Some(Kind::Locked(lock)) => Ok(Outcome::Locked(lock)),
        Some(kind) => Err(key_error(KeyError { kind: Some(kind) })),
    }
}

impl Snapshot {
    pub(crate) fn new(client: Client, ts: u64) -> Self {
        Self { client, ts }
    }

    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// The read timestamp.
    pub fn ts(&self) -> u64 {
        self.ts
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.client.inner.config.backoff_budget)
    }

    /// The value of `key`.
    pub async fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>> {
        let inner = &self.client.inner;
        let mut backoff = self.backoff();
        let mut version = self.ts;
        loop {
            let region = inner.regions.locate(key).await?;
            let req = GetRequest {
                context: Some(region.context()),
                key: key.to_vec(),
                version,
            };
            let resp = inner
                .call(&region, |kv| async move { kv.kv_get(req).await })
                .await?;
            if let Some(e) = resp.region_error {
                inner.regions.on_region_error(e, &mut backoff).await?;
                continue;
            }
            match outcome(resp.error)? {
                // A lock in the way of a read of the newest version: read
                // at a real timestamp instead, which the lock may not block.
                Outcome::Locked(_) if version == codec::ts::LATEST => {
                    version = self.client.current_ts().await?;
                }
                Outcome::Locked(lock) => resolve_or_wait(&self.client, &lock, &mut backoff).await?,
                Outcome::Done => return Ok((!resp.not_found).then_some(resp.value)),
            }
        }
    }

    /// The value of each of `keys`, by position (`None`: no such key).
    pub async fn batch_get(&self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>> {
        let inner = &self.client.inner;
        let mut backoff = self.backoff();
        // Positions in `keys` still to read: a group that failed goes back
        // here, and the next round groups it by the regions then known.
        let mut pending: Vec<usize> = (0..keys.len()).collect();
        let mut out = vec![None; keys.len()];
        while !pending.is_empty() {
            for (region, group) in inner
                .regions
                .group_by_region(
                    std::mem::take(&mut pending)
                        .into_iter()
                        .map(|i| (i, keys[i].as_slice())),
                    |(_, key)| key,
                )
                .await?
            {
                let req = BatchGetRequest {
                    context: Some(region.context()),
                    keys: group.iter().map(|(_, key)| key.to_vec()).collect(),
                    version: self.ts,
                };
                let resp = inner
                    .call(&region, |kv| async move { kv.kv_batch_get(req).await })
                    .await?;
                if let Some(e) = resp.region_error {
                    pending.extend(group.iter().map(|(i, _)| i));
                    inner.regions.on_region_error(e, &mut backoff).await?;
                    continue;
                }
                match outcome(resp.error)? {
                    Outcome::Locked(lock) => {
                        pending.extend(group.iter().map(|(i, _)| i));
                        resolve_or_wait(&self.client, &lock, &mut backoff).await?;
                    }
                    Outcome::Done => place_pairs(&group, resp.pairs, &mut out),
                }
            }
        }
        Ok(out)
    }

    /// Up to `limit` pairs of `[start, end)` (`end == None`: to the end of the
    /// key space), ascending, or descending with `reverse`.
    pub async fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        let inner = &self.client.inner;
        let mut backoff = self.backoff();
        let mut out: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
        // The part of the range not read yet.
        let (mut lo, mut hi) = (start.to_vec(), end.map(<[u8]>::to_vec));
        'ranges: while out.len() < limit && hi.as_ref().is_none_or(|hi| lo < *hi) {
            let mut regions = inner.regions.regions_in(&lo, hi.as_deref()).await?;
            if reverse {
                regions.reverse();
            }
            for region in regions {
                // This region's share of the remaining range.
                let region_lo = region.start_raw()?.max(lo.clone());
                let region_hi = match (region.end_raw()?, &hi) {
                    (Some(r), Some(h)) => Some(r.min(h.clone())),
                    (r, h) => r.or(h.clone()),
                };
                let want = limit - out.len();
                let req = ScanRequest {
                    context: Some(region.context()),
                    start_key: region_lo.clone(),
                    end_key: region_hi.clone().unwrap_or_default(),
                    limit: want.min(u32::MAX as usize) as u32,
                    version: self.ts,
                    reverse,
                };
                let resp = inner
                    .call(&region, |kv| async move { kv.kv_scan(req).await })
                    .await?;
                if let Some(e) = resp.region_error {
                    inner.regions.on_region_error(e, &mut backoff).await?;
                    continue 'ranges;
                }
                if let Outcome::Locked(lock) = outcome(resp.error)? {
                    resolve_or_wait(&self.client, &lock, &mut backoff).await?;
                    continue 'ranges;
                }
                let got = resp.pairs.len();
                out.extend(resp.pairs.into_iter().map(|p| (p.key, p.value)));
                if out.len() >= limit {
                    break 'ranges;
                }
                debug_assert!(got < want);
                if reverse {
                    hi = Some(region_lo);
                } else {
                    match region_hi {
                        Some(h) => lo = h,
                        None => break 'ranges,
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Put the pairs a store found for `group` (positions and keys) at their
/// positions in `out`. A store answers in request order, so one forward
/// walk matches them; a pair out of order is looked up from the start.
fn place_pairs(group: &[(usize, &[u8])], pairs: Vec<KvPair>, out: &mut [Option<Vec<u8>>]) {
    let mut next = 0;
    for pair in pairs {
        let found = group[next..]
            .iter()
            .position(|(_, key)| *key == pair.key.as_slice())
            .map(|at| next + at)
            .or_else(|| {
                group
                    .iter()
                    .position(|(_, key)| *key == pair.key.as_slice())
            });
        if let Some(at) = found {
            out[group[at].0] = Some(pair.value);
            next = at + 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_land_at_their_keys_positions() {
        let group: Vec<(usize, &[u8])> = vec![(4, b"a"), (0, b"b"), (2, b"c")];
        let pair = |k: &[u8], v: &[u8]| KvPair {
            key: k.to_vec(),
            value: v.to_vec(),
        };
        let mut out = vec![None; 5];
        place_pairs(&group, vec![pair(b"a", b"1"), pair(b"c", b"3")], &mut out);
        assert_eq!(
            out,
            [None, None, Some(b"3".to_vec()), None, Some(b"1".to_vec())]
        );
        // Out of request order still lands right.
        let mut out = vec![None; 5];
        place_pairs(&group, vec![pair(b"c", b"3"), pair(b"b", b"2")], &mut out);
        assert_eq!(out[0].as_deref(), Some(&b"2"[..]));
        assert_eq!(out[2].as_deref(), Some(&b"3"[..]));
    }
}
