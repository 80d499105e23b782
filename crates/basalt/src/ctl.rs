//! `basalt ctl`: the operator's view of a cluster, through PD.

use anyhow::{Context, Result};
use proto::grpc::PdClient;
use proto::kvrpc::Region;
use proto::pdrpc::*;
use proto::{KvService, PdService};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::time::{Duration, Instant};

/// What to ask.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum Ctl {
    /// Stores.
    Store {
        #[command(subcommand)]
        what: StoreCmd,
    },
    /// Regions: `region list`, `region <id>`, `region key <hex>`,
    /// `region split <id> <hex>`, `region checksum <id>`.
    Region {
        /// `list`, a region id, `key`, or `split`.
        what: String,
        /// The key (`key`), or the region id (`split`).
        arg: Option<String>,
        /// The split key, in hex of the raw key (`split`).
        arg2: Option<String>,
    },
    /// Operators: `operator add transfer-leader <region> <store>`.
    Operator {
        /// `add`.
        action: String,
        /// `transfer-leader`.
        kind: String,
        /// The region.
        region: u64,
        /// The store to lead it.
        store: u64,
    },
    /// A fresh timestamp.
    Tso,
}

/// Store commands.
#[derive(clap::Subcommand, Clone, Debug)]
pub enum StoreCmd {
    /// Every store with its state and counts.
    List,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Result<Vec<u8>> {
    anyhow::ensure!(s.len().is_multiple_of(2), "hex of odd length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).with_context(|| format!("not hex: {s}")))
        .collect()
}

fn region_json(region: &Region, leader_store: u64) -> Value {
    let epoch = region.epoch.unwrap_or_default();
    json!({
        "id": region.id,
        "start_key": hex(&region.start_key),
        "end_key": hex(&region.end_key),
        "epoch": {"conf_ver": epoch.conf_ver, "version": epoch.version},
        "peers": region.peers.iter().map(|p| json!({"id": p.id, "store_id": p.store_id})).collect::<Vec<_>>(),
        "leader_store_id": leader_store,
    })
}

fn store_json(s: &Store) -> Value {
    json!({
        "id": s.id,
        "address": s.address,
        "state": s.state().as_str_name(),
        "last_heartbeat_ago_ms": s.last_heartbeat_ago_ms,
        "region_count": s.region_count,
        "leader_count": s.leader_count,
    })
}

fn print(value: &Value, as_json: bool) {
    if as_json {
        println!("{value}");
        return;
    }
    match value {
        Value::Array(rows) => {
            for row in rows {
                println!("{row}");
            }
        }
        other => println!(
            "{}",
            serde_json::to_string_pretty(other).unwrap_or_default()
        ),
    }
}

/// Region `region_id` as PD knows it, and its leader's store.
async fn region(pd: &PdClient, region_id: u64) -> Result<(Region, u64)> {
    let r = pd
        .get_region_by_id(GetRegionByIdRequest { region_id })
        .await?;
    let region = r
        .region
        .with_context(|| format!("PD knows no region {region_id}"))?;
    Ok((region, r.leader_store_id))
}

/// Every replica's digest of a region's data at one fresh timestamp, once
/// the replicas have applied the same log: one still applying a write or a
/// split (whose range is then wider) differs from the others without being
/// inconsistent. After ten seconds of disagreeing indexes the digests are
/// compared as they are.
async fn checksum(pd: &PdClient, region_id: u64) -> Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (version, replicas) = replica_checksums(pd, region_id).await?;
        // Replicas that did not answer have no index to wait for.
        let indexes: HashSet<u64> = replicas
            .iter()
            .filter_map(|r| r.get("applied_index").and_then(Value::as_u64))
            .collect();
        if indexes.len() > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let sums: HashSet<String> = replicas
            .iter()
            .map(|r| r.get("checksum").map_or("?".into(), |c| c.to_string()))
            .collect();
        return Ok(json!({
            "region": region_id,
            "version": version,
            "replicas": replicas,
            "consistent": sums.len() == 1 && !sums.contains("?"),
        }));
    }
}

/// Each replica's checksum of region `region_id` at a fresh timestamp, and
/// that timestamp.
async fn replica_checksums(pd: &PdClient, region_id: u64) -> Result<(u64, Vec<Value>)> {
    let (region, _) = region(pd, region_id).await?;
    let version = pd.tso(TsoRequest { count: 1 }).await?.first_ts;
    let mut replicas = Vec::new();
    for peer in &region.peers {
        let store = pd
            .get_store(GetStoreRequest {
                store_id: peer.store_id,
            })
            .await?
            .store
            .unwrap_or_default();
        let req = proto::kvrpc::RegionChecksumRequest { region_id, version };
        let answer = match proto::grpc::KvClient::new(&store.address)?
            .region_checksum(req)
            .await
        {
            Ok(r) if r.region_error.is_none() && r.error.is_none() => json!({
                "store_id": peer.store_id,
                "checksum": format!("{:016x}", r.checksum),
                "kvs": r.kvs,
                "bytes": r.bytes,
                "applied_index": r.applied_index,
            }),
            Ok(r) => {
                json!({"store_id": peer.store_id, "error": format!("{:?}{:?}", r.region_error, r.error)})
            }
            Err(e) => json!({"store_id": peer.store_id, "error": e.to_string()}),
        };
        replicas.push(answer);
    }
    Ok((version, replicas))
}

/// Carry out `cmd` against the PD at `pd_addr`.
pub async fn run(pd_addr: &str, cmd: Ctl, as_json: bool) -> Result<()> {
    let pd = PdClient::new(pd_addr)?;
    let out = match cmd {
        Ctl::Store {
            what: StoreCmd::List,
        } => {
            let stores = pd.get_all_stores(GetAllStoresRequest {}).await?.stores;
            Value::Array(stores.iter().map(store_json).collect())
        }
        Ctl::Region { what, arg, arg2 } => match (what.as_str(), arg, arg2) {
            ("list", None, None) => {
                let regions = pd
                    .scan_regions(ScanRegionsRequest::default())
                    .await?
                    .regions;
                Value::Array(
                    regions
                        .iter()
                        .map(|r| {
                            region_json(&r.region.clone().unwrap_or_default(), r.leader_store_id)
                        })
                        .collect(),
                )
            }
            ("key", Some(key), None) => {
                let key = codec::mvcc::encode_key(&unhex(&key)?);
                let r = pd.get_region(GetRegionRequest { key }).await?;
                region_json(&r.region.unwrap_or_default(), r.leader_store_id)
            }
            ("split", Some(id), Some(key)) => {
                let region_id: u64 = id.parse().context("region id")?;
                let split_key = codec::mvcc::encode_key(&unhex(&key)?);
                pd.add_operator(AddOperatorRequest {
                    region_id,
                    kind: Some(add_operator_request::Kind::Split(SplitOp { split_key })),
                })
                .await?;
                json!({"region": region_id, "operator": "split", "queued": true})
            }
            ("checksum", Some(id), None) => checksum(&pd, id.parse().context("region id")?).await?,
            (id, None, None) => {
                let region_id: u64 = id
                    .parse()
                    .context("region id, list, key, split or checksum")?;
                let (r, leader) = region(&pd, region_id).await?;
                region_json(&r, leader)
            }
            _ => anyhow::bail!(
                "usage: region list | region <id> | region key <hex> | region split <id> <hex>"
            ),
        },
        Ctl::Operator {
            action,
            kind,
            region,
            store,
        } => {
            anyhow::ensure!(
                action == "add" && kind == "transfer-leader",
                "usage: operator add transfer-leader <region> <store>"
            );
            let (r, _) = self::region(&pd, region).await?;
            let peer = r
                .peers
                .iter()
                .find(|p| p.store_id == store)
                .copied()
                .with_context(|| format!("region {region} has no replica on store {store}"))?;
            pd.add_operator(AddOperatorRequest {
                region_id: region,
                kind: Some(add_operator_request::Kind::TransferLeader(
                    TransferLeaderOp { peer: Some(peer) },
                )),
            })
            .await?;
            json!({"region": region, "operator": "transfer-leader", "store": store, "queued": true})
        }
        Ctl::Tso => {
            let ts = pd.tso(TsoRequest { count: 1 }).await?.first_ts;
            json!({"ts": ts, "physical_ms": codec::ts::physical_ms(ts)})
        }
    };
    print(&out, as_json);
    Ok(())
}
