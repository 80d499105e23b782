//! Many calls on one stream.
//!
//! A unary gRPC call costs a fresh HTTP/2 stream: headers out, headers, data
//! and trailers back, each a write and a wake-up on both sides. Between two
//! of our processes that cost dwarfs a point read. So a client keeps one
//! bidirectional stream per peer: callers queue tagged calls, one task sends
//! whatever has queued as a single message and hands each reply (matched by
//! its tag) back to its caller; the server runs every call as its own task
//! (a lock wait holds up nobody else) and sends replies back batched the same
//! way, in whatever order they finish. The busier the peer, the more calls
//! share a message.

use super::rpc_error;
use crate::service::RpcError;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::Poll;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tonic::{Status, Streaming};

/// One message of a multiplexed stream: a batch of tagged calls or replies.
pub trait Batch: prost::Message + Default + Send + 'static {
    /// A call or a reply, with the tag that pairs them.
    type Item: Send + 'static;
    /// The message carrying `items`.
    fn from_items(items: Vec<Self::Item>) -> Self;
    /// The items the message carries.
    fn into_items(self) -> Vec<Self::Item>;
    /// An item's tag.
    fn tag(item: &Self::Item) -> u64;
}

/// Most items in one message: enough to amortise a write, few enough that
/// one message does not hold back the next for long.
const MAX_BATCH: usize = 256;

/// Times the sending task yields before it sends, so that more calls join
/// the message: two served more point selects than one, and than yielding
/// for as long as calls kept coming.
const GATHER_ROUNDS: usize = 2;

type Waiter<R> = oneshot::Sender<Result<R, RpcError>>;

/// Opens a stream carrying the given calls and yields its replies.
pub type Opener<Q, A> =
    Box<dyn Fn(Outgoing<Q>) -> BoxFuture<'static, Result<Streaming<A>, Status>> + Send + 'static>;

/// The messages a client sends on one stream, as they are queued.
pub struct Outgoing<Q>(mpsc::UnboundedReceiver<Q>);

impl<Q> futures_util::Stream for Outgoing<Q> {
    type Item = Q;
    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Q>> {
        self.0.poll_recv(cx)
    }
}

/// The client end of a multiplexed stream to one peer.
pub struct Mux<Q: Batch, A: Batch> {
    next_tag: AtomicU64,
    calls: mpsc::UnboundedSender<(Q::Item, Waiter<A::Item>)>,
}

impl<Q: Batch, A: Batch> Mux<Q, A> {
    /// Start the task that owns the stream; `open` opens a stream carrying
    /// the given calls and yields its replies. The stream is opened when the
    /// first call arrives, and again after it breaks; the task ends when the
    /// `Mux` is dropped.
    pub fn spawn(open: Opener<Q, A>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(run(open, rx));
        Self {
            next_tag: AtomicU64::new(0),
            calls: tx,
        }
    }

    /// Send the call `make` builds around its tag, and wait up to `timeout`
    /// for the reply. A call whose stream breaks fails as unavailable:
    /// whether it took effect is unknown, as with any failed call.
    pub async fn call(
        &self,
        make: impl FnOnce(u64) -> Q::Item,
        timeout: Duration,
    ) -> Result<A::Item, RpcError> {
        let tag = self.next_tag.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        let closed = || RpcError::Unavailable("connection closed".into());
        self.calls.send((make(tag), tx)).map_err(|_| closed())?;
        match tokio::time::timeout(timeout, rx).await {
            Ok(reply) => reply.map_err(|_| closed())?,
            Err(_) => Err(RpcError::Unavailable(format!(
                "no reply within {timeout:?}"
            ))),
        }
    }
}

/// The task behind a [`Mux`]: one stream at a time, opened on demand.
async fn run<Q: Batch, A: Batch>(
    open: Opener<Q, A>,
    mut calls: mpsc::UnboundedReceiver<(Q::Item, Waiter<A::Item>)>,
) {
    let mut queued = Vec::new();
    let mut waiting: HashMap<u64, Waiter<A::Item>> = HashMap::new();
    while calls.recv_many(&mut queued, MAX_BATCH).await > 0 {
        let (out, out_rx) = mpsc::unbounded_channel::<Q>();
        // A stopped peer accepts the connection but never answers.
        let opened = tokio::time::timeout(super::CALL_TIMEOUT, open(Outgoing(out_rx))).await;
        let mut replies =
            match opened.unwrap_or_else(|_| Err(Status::deadline_exceeded("no answer"))) {
                Ok(replies) => replies,
                Err(status) => {
                    // Fail what is queued now; the next call tries again.
                    let e = rpc_error(status);
                    while let Ok(call) = calls.try_recv() {
                        queued.push(call);
                    }
                    for (_, waiter) in queued.drain(..) {
                        let _ = waiter.send(Err(e.clone()));
                    }
                    continue;
                }
            };
        let broken = loop {
            if !queued.is_empty() {
                // Let the tasks already runnable on this worker (other
                // sessions about to call the same peer) queue their calls
                // first, so that they share this write.
                for _ in 0..GATHER_ROUNDS {
                    tokio::task::yield_now().await;
                }
                while queued.len() < MAX_BATCH
                    && let Ok(call) = calls.try_recv()
                {
                    queued.push(call);
                }
                let items = queued
                    .drain(..)
                    .map(|(item, waiter)| {
                        waiting.insert(Q::tag(&item), waiter);
                        item
                    })
                    .collect();
                if out.send(Q::from_items(items)).is_err() {
                    break RpcError::Unavailable("stream closed".into());
                }
            }
            tokio::select! {
                n = calls.recv_many(&mut queued, MAX_BATCH) => if n == 0 {
                    return; // the client is gone
                },
                batch = replies.message() => match batch {
                    Ok(Some(batch)) => {
                        for item in batch.into_items() {
                            // A caller that timed out has dropped its end.
                            if let Some(waiter) = waiting.remove(&A::tag(&item)) {
                                let _ = waiter.send(Ok(item));
                            }
                        }
                    }
                    Ok(None) => break RpcError::Unavailable("the peer closed the stream".into()),
                    Err(status) => break rpc_error(status),
                },
            }
        };
        for (_, waiter) in waiting.drain() {
            let _ = waiter.send(Err(broken.clone()));
        }
    }
}

/// The server end: run each call of `incoming` through `dispatch` and
/// stream the replies back, batched, until the client closes its side and
/// every call has been answered. A call that can answer at once (a read
/// under a leader's lease) is answered on the spot, which saves a task and
/// a thread wake-up; one that has to wait (for replication, for a lock)
/// goes on as a task of its own so that it holds up nobody else.
pub fn serve<Q, A, S, F, Fut>(
    service: Arc<S>,
    mut incoming: Streaming<Q>,
    dispatch: F,
) -> BoxStream<'static, Result<A, Status>>
where
    Q: Batch,
    A: Batch,
    S: ?Sized + Send + Sync + 'static,
    F: Fn(Arc<S>, Q::Item) -> Fut + Send + Copy + 'static,
    Fut: Future<Output = A::Item> + Send + 'static,
{
    let (tx, rx) = mpsc::unbounded_channel::<A::Item>();
    tokio::spawn(async move {
        crate::metrics::GRPC_STREAMS.inc();
        while let Ok(Some(batch)) = incoming.message().await {
            for call in batch.into_items() {
                let mut reply = Box::pin(dispatch(service.clone(), call));
                // Poll once with this task's context: a call that is not
                // done registers a wake-up of this task, a harmless extra.
                match std::future::poll_fn(|cx| Poll::Ready(reply.as_mut().poll(cx))).await {
                    Poll::Ready(reply) => {
                        let _ = tx.send(reply);
                    }
                    Poll::Pending => {
                        let tx = tx.clone();
                        tokio::spawn(async move {
                            let _ = tx.send(reply.await);
                        });
                    }
                }
            }
        }
        crate::metrics::GRPC_STREAMS.dec();
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        let mut items = Vec::new();
        (rx.recv_many(&mut items, MAX_BATCH).await > 0).then(|| (Ok(A::from_items(items)), rx))
    })
    .boxed()
}
