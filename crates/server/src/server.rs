//! The accept loop: one task per connection, and a graceful stop.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tracing::{debug, warn};

use crate::auth::AuthPlugin;
use crate::backend::BackendFactory;
use crate::conn;

/// Server-wide protocol settings.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    /// Sent in the handshake and expected to start with a MySQL version:
    /// clients (sysbench, mysqldump, connectors) parse the leading
    /// `major.minor.patch` to decide which features to use.
    pub version: String,
    /// User name to plaintext password. Plaintext because both
    /// authentication plugins need to recompute the client's scramble.
    pub users: HashMap<String, String>,
    /// Largest request payload accepted, like MySQL's `max_allowed_packet`:
    /// a longer one gets error 1153 and the connection closes. It also caps
    /// each parameter assembled from COM_STMT_SEND_LONG_DATA.
    pub max_allowed_packet: usize,
    /// The plugin offered in the handshake. A client that answers with the
    /// other supported plugin is verified with that one; any other is asked
    /// to switch to this one.
    pub auth_plugin: AuthPlugin,
    /// How long a new connection may take to authenticate (MySQL's
    /// `connect_timeout`).
    pub connect_timeout: Duration,
}

impl Default for ServerConfig {
    /// MySQL 8.0.11 (what TiDB reports, so clients enable their MySQL 8
    /// paths), `root` without password, 64 MiB packets,
    /// `mysql_native_password` (TiDB's default; every client speaks it), 10 s
    /// to authenticate.
    fn default() -> Self {
        ServerConfig {
            version: format!("8.0.11-Basalt-{}", env!("CARGO_PKG_VERSION")),
            users: HashMap::from([("root".to_string(), String::new())]),
            max_allowed_packet: 64 << 20,
            auth_plugin: AuthPlugin::NativePassword,
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// Serves MySQL clients from `listener` until `shutdown` completes. Then it
/// stops accepting, closes idle connections, lets busy ones finish their
/// current command, and returns when all are gone.
pub async fn serve<F: BackendFactory>(
    listener: TcpListener,
    factory: Arc<F>,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) {
    let config = Arc::new(config);
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    // Only this loop hands out ids; 0 is never used (MySQL starts at 1).
    let mut next_id: u32 = 0;
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if let Err(e) = stream.set_nodelay(true) {
                        debug!("set TCP_NODELAY for {peer}: {e}");
                    }
                    next_id = next_id.checked_add(1).unwrap_or(1);
                    let host = peer.ip().to_canonical().to_string();
                    connections.spawn(F::connection(conn::run(
                        stream,
                        host,
                        next_id,
                        factory.clone(),
                        config.clone(),
                        stop_rx.clone(),
                    )));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off
                    // rather than spin.
                    warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            Some(done) = connections.join_next(), if !connections.is_empty() => {
                if let Err(e) = done {
                    warn!("connection task failed: {e}");
                }
            }
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    while let Some(done) = connections.join_next().await {
        if let Err(e) = done {
            warn!("connection task failed: {e}");
        }
    }
}
