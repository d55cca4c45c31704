//! The accept loop and graceful shutdown: load everything first, then listen, serve each
//! connection on its own task, and on shutdown stop accepting, let in-flight messages finish
//! and close every socket with 1001.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tracing::{error, info};

use anyhow::Context as _;

use crate::config::{Config, StateConfig};
use crate::connection::{self, Shared};
use crate::push::Bus;
use crate::runtime::Runtime;
use crate::state::KvStore;
use crate::tenants::Tenants;

/// A server whose components are compiled and checked, ready to accept connections.
pub struct Prepared {
    shared: Arc<Shared>,
    watch: bool,
    runtime: Runtime,
    config: Config,
    services: Option<Services>,
}

/// The state store and push bus shared by all tenants (each reaches only its namespace).
#[derive(Clone)]
pub struct Services {
    /// Key-value store.
    pub kv: KvStore,
    /// Push bus.
    pub bus: Bus,
}

impl Services {
    /// Opens the configured backends: Redis for both when `redis` is set, else the embedded
    /// store under `data_dir` with in-process push; none when neither is configured.
    pub async fn open(config: &StateConfig) -> anyhow::Result<Option<Self>> {
        if let Some(url) = &config.redis {
            let kv = KvStore::connect_redis(url)
                .await
                .with_context(|| format!("connecting to Redis at {url}"))?;
            let bus = Bus::redis(url).await?;
            info!("state and push: Redis");
            return Ok(Some(Self { kv, bus }));
        }
        let Some(dir) = &config.data_dir else {
            return Ok(None);
        };
        let kv = KvStore::open_embedded(dir)
            .with_context(|| format!("opening the state store in {}", dir.display()))?;
        info!(dir = %dir.display(), "state: embedded store; push: in-process");
        Ok(Some(Self {
            kv,
            bus: Bus::Local(Arc::default()),
        }))
    }
}

impl Prepared {
    /// Compiles every component, asks each for its message types and builds the routing
    /// tables. Any problem (missing file, wrong world, Type collision) is an error here,
    /// before anything listens.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let runtime = Runtime::new(&config.engine)?;
        let services = Services::open(&config.state).await?;
        let tenants = Tenants::load(&runtime, &config.tenants, services.as_ref()).await?;
        let max_frame_bytes = config
            .tenants
            .iter()
            .map(|t| t.max_message_bytes)
            .max()
            .unwrap_or(1 << 20);
        Ok(Self {
            shared: Arc::new(Shared::new(tenants, max_frame_bytes)),
            watch: config.watch,
            runtime,
            config,
            services,
        })
    }

    /// Re-reads the configuration file and, if it is valid and fits the instance pool sized
    /// at startup, serves new connections with it. Open connections keep their tenant.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let Some(path) = &self.config.source else {
            anyhow::bail!("not serving a configuration file");
        };
        let mut config = Config::from_file(path)?;
        config.watch = self.config.watch;
        let (old, new) = (&self.config.engine, &config.engine);
        if new.total_instances > old.total_instances
            || new.max_memory_bytes > old.max_memory_bytes
            || new.max_core_instances > old.max_core_instances
            || new.consume_fuel != old.consume_fuel
        {
            anyhow::bail!(
                "the new configuration needs a larger instance pool or other engine settings \
                 than the server started with; restart to apply it"
            );
        }
        // What the command line gave (--data-dir, --redis) still applies unless the file says.
        let running = &self.config.state;
        if config.state.data_dir.is_none() {
            config.state.data_dir = running.data_dir.clone();
        }
        if config.state.redis.is_none() {
            config.state.redis = running.redis.clone();
        }
        if config.state != self.config.state {
            anyhow::bail!("data_dir and redis cannot change on reload; restart to apply them");
        }
        let tenants = Tenants::load(&self.runtime, &config.tenants, self.services.as_ref()).await?;
        self.shared.replace_tenants(tenants);
        Ok(())
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
    let prepared = Arc::new(prepared);
    let reloader = reload_on_sighup(&prepared);
    tokio::select! {
        () = accept_loop(&listener, &prepared.shared, &notify_shutdown, &done_tx) => {}
        () = shutdown => info!("shutting down: no new connections, finishing in-flight messages"),
    }
    drop(listener);
    if let Some(watcher) = watcher {
        watcher.abort();
    }
    if let Some(reloader) = reloader {
        reloader.abort();
    }
    drop(notify_shutdown);
    drop(done_tx);
    // Every connection task holds a clone of `done_tx`; recv returns None when the last ends.
    let _ = done_rx.recv().await;
    info!("shut down");
    Ok(())
}

/// SIGHUP re-reads the configuration file (when serving one).
fn reload_on_sighup(prepared: &Arc<Prepared>) -> Option<tokio::task::JoinHandle<()>> {
    prepared.config.source.as_ref()?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok()?;
    let prepared = prepared.clone();
    Some(tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match prepared.reload().await {
                Ok(()) => info!("configuration reloaded"),
                Err(e) => {
                    error!(error = %format!("{e:#}"), "reload failed; keeping the running configuration")
                }
            }
        }
    }))
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
