//! A TSO client that serves concurrent callers with one PD request.
//!
//! Every transaction needs a start timestamp and a commit timestamp. Callers
//! queue on a channel; one task drains whatever is queued, asks PD for that
//! many timestamps in one call and hands them out in queue order. Under load
//! the queue fills while a call is in flight, so the number of PD calls grows
//! far slower than the number of transactions.

use crate::backoff::Backoff;
use crate::metrics::BackoffReason;
use crate::{Error, PD_PATIENCE, Result};
use proto::pdrpc::TsoRequest;
use proto::{PdService, RpcError};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

type Waiter = oneshot::Sender<Result<u64>>;

/// Handle to the batching task.
pub struct TsoClient {
    requests: mpsc::UnboundedSender<Waiter>,
}

/// Most callers served by one PD call.
const MAX_BATCH: usize = 10_000;

impl TsoClient {
    /// Start the batching task on the current tokio runtime.
    pub fn spawn(pd: Arc<dyn PdService>) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Waiter>();
        tokio::spawn(async move {
            let mut batch = Vec::new();
            while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let count = batch.len() as u32;
                // PD may be restarting: wait for it, within bounds.
                let mut backoff = Backoff::new(PD_PATIENCE);
                let answer = loop {
                    match pd.tso(TsoRequest { count }).await {
                        Err(RpcError::Unavailable(why)) => {
                            if let Err(e) = backoff.wait(BackoffReason::Pd, why).await {
                                break Err(e);
                            }
                        }
                        other => break other.map_err(Error::from),
                    }
                };
                match answer {
                    Ok(resp) if resp.count >= count => {
                        for (i, waiter) in batch.drain(..).enumerate() {
                            let _ = waiter.send(Ok(resp.first_ts + i as u64 * codec::ts::STEP));
                        }
                    }
                    Ok(resp) => fail(
                        &mut batch,
                        Error::Rpc(RpcError::Internal(format!(
                            "PD returned {} timestamps, asked {count}",
                            resp.count
                        ))),
                    ),
                    Err(e) => fail(&mut batch, e),
                }
            }
        });
        Self { requests: tx }
    }

    /// One fresh timestamp.
    pub async fn get_ts(&self) -> Result<u64> {
        let started = crate::metrics::clock();
        let (tx, rx) = oneshot::channel();
        let gone = || Error::Rpc(RpcError::Unavailable("TSO client stopped".into()));
        self.requests.send(tx).map_err(|_| gone())?;
        let ts = rx.await.map_err(|_| gone())?;
        if let Some(started) = started {
            crate::metrics::TSO_WAIT.observe(started.elapsed().as_secs_f64());
        }
        crate::metrics::waited_on_kv(started);
        ts
    }
}

fn fail(batch: &mut Vec<Waiter>, e: Error) {
    for waiter in batch.drain(..) {
        let _ = waiter.send(Err(e.clone()));
    }
}
