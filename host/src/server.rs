//! The accept loop and graceful shutdown: load everything first, then listen, serve each
//! connection on its own task ([`crate::gateway`]), and on shutdown stop accepting, let
//! in-flight messages finish within their deadline, close every socket with 1001, and return
//! within a bound whatever the clients do.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::{broadcast, mpsc};
use tracing::{debug, error, info, warn};

use crate::capabilities::Services;
use crate::config::Config;
use crate::gateway::Gateway;
use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::shutdown::Shutdown;
use crate::tenants::{TenantSet, Tenants};
use crate::updates::polling::Pollers;

/// A server whose components are compiled and checked, ready to accept connections.
pub struct Prepared {
    gateway: Arc<Gateway>,
    runtime: Runtime,
    config: Config,
    /// The `getUpdates` tasks of the tenants being served (started by [`run`]).
    pollers: tokio::sync::Mutex<Pollers>,
}

impl Prepared {
    /// Compiles every component, asks each for its message types and builds the routing
    /// tables. Any problem (missing file, wrong world, Type collision) is an error here,
    /// before anything listens.
    pub async fn new(config: Config) -> anyhow::Result<Self> {
        let runtime = Runtime::new(&config.engine)?;
        let state = &config.state;
        let services = Services::open(state.redis.as_deref(), state.data_dir.as_deref()).await?;
        let metrics = Arc::new(Metrics::new());
        let tenants = Tenants::load(&runtime, &config.tenants, services.as_ref(), &metrics).await?;
        warn_about_updates(&tenants);
        let gateway = Gateway {
            tenants: Arc::new(TenantSet::new(tenants)),
            metrics,
            public_metrics: config.metrics_listen.is_none(),
            timeouts: config.timeouts.clone(),
            services,
        };
        Ok(Self {
            gateway: Arc::new(gateway),
            runtime,
            config,
            pollers: Default::default(),
        })
    }

    /// Re-reads the configuration file and, if it is valid and fits the instance pool sized
    /// at startup, serves new connections with it. Open connections keep their tenant.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let Some(path) = &self.config.source else {
            anyhow::bail!("not serving a configuration file");
        };
        let config = Config::from_file(path)?;
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
        // The command line's --data-dir / --redis apply to the new file as they did at start.
        if config.state.with_flags(&self.config.state_flags) != self.config.state {
            anyhow::bail!("data_dir and redis cannot change on reload; restart to apply them");
        }
        if config.metrics_listen.is_some() && config.metrics_listen != self.config.metrics_listen {
            warn!("metrics_listen changes on restart only: /metrics stays where it is");
        }
        let gateway = &self.gateway;
        let services = gateway.services.as_ref();
        let tenants =
            Tenants::load(&self.runtime, &config.tenants, services, &gateway.metrics).await?;
        warn_about_updates(&tenants);
        // The old tenants' pollers stop before the new ones start: one bot is never polled
        // twice at once (Telegram would refuse one of them).
        let mut pollers = self.pollers.lock().await;
        std::mem::take(&mut *pollers)
            .stop(self.shutdown_bound())
            .await;
        *pollers = Pollers::start(&tenants);
        gateway.tenants.replace(tenants);
        Ok(())
    }

    /// The longest any part of shutdown may take: in-flight calls get their deadline, a
    /// reply its write deadline, the close its grace twice (close frame, then the client's
    /// answer); then the server returns and whatever is left is dropped.
    pub fn shutdown_bound(&self) -> Duration {
        let t = &self.config.timeouts;
        // The tenants being served now: a reload may have changed their deadlines.
        let tenants = self.gateway.tenants.current();
        let deadline = tenants.iter().map(|t| t.limits().timeout).max();
        deadline.unwrap_or_default() + t.push_send + t.close_grace * 2 + Duration::from_secs(1)
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
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let gateway = prepared.gateway.clone();
    let watcher = prepared
        .config
        .watch
        .then(|| tokio::spawn(crate::watch::watch(gateway.tenants.clone())));
    *prepared.pollers.lock().await = Pollers::start(&gateway.tenants.current());
    let prepared = Arc::new(prepared);
    // SIGHUP's handler is in place before the line that tells the world we are up.
    let reloader = reload_on_sighup(&prepared);
    let metrics_server = match prepared.config.metrics_listen {
        Some(at) => Some(serve_metrics(at, &gateway).await?),
        None => None,
    };
    eprintln!("listening on ws://{addr}");
    tokio::select! {
        () = accept_loop(&listener, &gateway, &notify_shutdown, &done_tx) => {}
        () = shutdown => info!("shutting down: no new connections, finishing in-flight messages"),
    }
    drop(listener);
    for task in [watcher, reloader, metrics_server].into_iter().flatten() {
        task.abort();
    }
    let bound = prepared.shutdown_bound();
    std::mem::take(&mut *prepared.pollers.lock().await)
        .stop(bound)
        .await;
    drop(notify_shutdown);
    drop(done_tx);
    // Every connection task holds a clone of `done_tx`; recv returns None when the last ends.
    match tokio::time::timeout(bound, done_rx.recv()).await {
        Ok(_) => info!("shut down"),
        Err(_) => warn!(
            ?bound,
            "shut down with connections still open: dropping them"
        ),
    }
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

/// Binds the metrics address (`--metrics-listen`), says where it is (`metrics on
/// http://ADDR/metrics`, before the listening line) and serves `/metrics` there until aborted.
async fn serve_metrics(
    at: std::net::SocketAddr,
    gateway: &Arc<Gateway>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let listener = TcpListener::bind(at)
        .await
        .with_context(|| format!("binding the metrics address {at}"))?;
    eprintln!("metrics on http://{}/metrics", listener.local_addr()?);
    let gateway = gateway.clone();
    Ok(tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let gateway = gateway.clone();
                    tokio::spawn(async move {
                        if let Err(e) = gateway.serve_metrics(stream).await {
                            debug!(%peer, error = %e, "metrics request ended");
                        }
                    });
                }
                Err(e) => {
                    error!(error = %e, "accept failed on the metrics address");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }))
}

async fn accept_loop(
    listener: &TcpListener,
    gateway: &Arc<Gateway>,
    notify_shutdown: &broadcast::Sender<()>,
    done: &mpsc::Sender<()>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                let _ = stream.set_nodelay(true);
                let gateway = gateway.clone();
                let shutdown = Shutdown::new(notify_shutdown.subscribe());
                let done = done.clone();
                tokio::spawn(async move {
                    gateway.accept(stream, peer, shutdown).await;
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

fn warn_about_updates(tenants: &Tenants) {
    for tenant in tenants.iter() {
        for warning in crate::updates::warnings(tenant, tenant.store().is_some()) {
            warn!(tenant = %tenant.name, "{warning}");
        }
    }
}
