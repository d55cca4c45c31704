//! The accept loop and graceful shutdown: load everything first, then listen, serve each
//! connection on its own task, and on shutdown stop accepting, let in-flight messages finish
//! and close every socket with 1001.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tracing::{error, info};

use crate::config::Config;
use crate::connection::{self, Shared};
use crate::runtime::Runtime;
use crate::tenants::Tenants;

/// A server whose components are compiled and checked, ready to accept connections.
pub struct Prepared {
    shared: Arc<Shared>,
    watch: bool,
}

impl Prepared {
    /// Compiles every component, asks each for its message types and builds the routing
    /// tables. Any problem (missing file, wrong world, Type collision) is an error here,
    /// before anything listens.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let runtime = Runtime::new(&config.engine)?;
        let tenants = Tenants::load(&runtime, &config.tenants).await?;
        let max_frame_bytes = config
            .tenants
            .iter()
            .map(|t| t.max_message_bytes)
            .max()
            .unwrap_or(1 << 20);
        Ok(Self {
            shared: Arc::new(Shared {
                tenants,
                max_frame_bytes,
            }),
            watch: config.watch,
        })
    }
}

/// Serves on `listener` until `shutdown` completes, then shuts down gracefully.
///
/// Prints `listening on ws://ADDR` on stderr once, with the real bound address.
pub async fn run(
    listener: TcpListener,
    prepared: Prepared,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    eprintln!("listening on ws://{addr}");
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let watcher = prepared
        .watch
        .then(|| tokio::spawn(crate::routing::watch(prepared.shared.clone())));
    tokio::select! {
        () = accept_loop(&listener, &prepared.shared, &notify_shutdown, &done_tx) => {}
        () = shutdown => info!("shutting down: no new connections, finishing in-flight messages"),
    }
    drop(listener);
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    drop(notify_shutdown);
    drop(done_tx);
    // Every connection task holds a clone of `done_tx`; recv returns None when the last ends.
    let _ = done_rx.recv().await;
    info!("shut down");
    Ok(())
}

async fn accept_loop(
    listener: &TcpListener,
    shared: &Arc<Shared>,
    notify_shutdown: &broadcast::Sender<()>,
    done: &mpsc::Sender<()>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let shared = shared.clone();
                let shutdown = notify_shutdown.subscribe();
                let done = done.clone();
                tokio::spawn(async move {
                    connection::accept(stream, peer, shared, shutdown).await;
                    drop(done);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: back off instead of spinning.
                error!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}
