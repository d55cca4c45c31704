//! Tenants (one bot or app each): their route, auth policy, limits, admission (concurrency,
//! queue, connections) and their [`Router`]. Built once at startup; only the routing table is
//! ever replaced (hot reload).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::auth::AuthPolicy;
use crate::config::{Route, TenantConfig};
use crate::metrics::{self, metrics};
use crate::routing::{Router, Routing};
use crate::runtime::host::StateAccess;
use crate::runtime::{Limits, Runtime};
use crate::server::Services;

/// One tenant, ready to serve.
pub struct Tenant {
    /// Unique name, carried in logs and passed to guests.
    pub name: Arc<str>,
    /// Which connections belong to it.
    pub route: Route,
    /// How its connections authenticate.
    pub auth: AuthPolicy,
    /// Per-call limits.
    pub limits: Limits,
    /// Largest accepted frame and largest reply `Data`, in bytes.
    pub max_message_bytes: usize,
    /// Directory served over plain HTTP under the route.
    pub static_dir: Option<std::path::PathBuf>,
    /// Its access to state and push (none when the server has no store).
    pub state: Option<StateAccess>,
    router: Router,
    running: Semaphore,
    waiting: AtomicUsize,
    connections: AtomicUsize,
}

impl Tenant {
    /// Loads the tenant's components and builds its routing table. Two components claiming the
    /// same `Type` are an error unless `fanout` is set.
    pub async fn load(
        runtime: &Runtime,
        config: &TenantConfig,
        services: Option<&Services>,
    ) -> anyhow::Result<Self> {
        let name: Arc<str> = config.name.as_str().into();
        let router = Router::load(
            name.clone(),
            runtime,
            &config.components,
            &config.limits,
            config.capabilities.clone(),
            config.fanout,
        )
        .await?;
        Ok(Self {
            name,
            route: config.route.clone(),
            auth: config.auth.clone(),
            limits: config.limits.clone(),
            max_message_bytes: config.max_message_bytes,
            static_dir: config.static_dir.clone(),
            state: services.map(|s| StateAccess {
                kv: s.kv.clone(),
                quota: config.quota,
                bus: s.bus.clone(),
            }),
            router,
            running: Semaphore::new(config.limits.max_concurrency),
            waiting: AtomicUsize::new(0),
            connections: AtomicUsize::new(0),
        })
    }

    /// The current routing table (replaced atomically by hot reload).
    pub fn routing(&self) -> Arc<Routing> {
        self.router.current()
    }

    /// Reloads component `index` (see [`Router::reload`]).
    pub async fn reload(&self, index: usize) -> anyhow::Result<()> {
        self.router.reload(index).await
    }

    /// Waits for a slot to run a call: at most `max_concurrency` run at once and at most
    /// `max_queue` wait. `None` means the queue is full (the client gets `overloaded`).
    pub async fn admit(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.running.try_acquire() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.limits.max_queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _waiting = Decrement(&self.waiting);
        self.running.acquire().await.ok()
    }

    /// Counts a new connection; `None` when the tenant is at `max_connections`.
    pub fn open_connection(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let open = self.connections.fetch_add(1, Ordering::AcqRel);
        let label = metrics::tenant(&self.name);
        metrics().connections_open.get_or_create(&label).inc();
        let slot = ConnectionSlot(self.clone());
        let admitted = open < self.limits.max_connections;
        if admitted {
            metrics().connections_total.get_or_create(&label).inc();
        }
        admitted.then_some(slot)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }
}

/// Decrements a counter when dropped (also when the waiting future is cancelled).
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// One open connection of a tenant; releases its count when dropped.
pub struct ConnectionSlot(Arc<Tenant>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        self.0.connections.fetch_sub(1, Ordering::AcqRel);
        let label = metrics::tenant(&self.0.name);
        metrics().connections_open.get_or_create(&label).dec();
    }
}

/// All tenants of a server.
pub struct Tenants {
    list: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// Loads every tenant.
    pub async fn load(
        runtime: &Runtime,
        configs: &[TenantConfig],
        services: Option<&Services>,
    ) -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for config in configs {
            list.push(Arc::new(Tenant::load(runtime, config, services).await?));
        }
        Ok(Self { list })
    }

    /// The tenant a request for `path` with `Host` header `host` belongs to: a tenant whose
    /// route names this host wins, then the longest matching path prefix.
    pub fn find(&self, path: &str, host: Option<&str>) -> Option<&Arc<Tenant>> {
        let host = host.map(|h| h.split(':').next().unwrap_or(h));
        self.list
            .iter()
            .filter(|t| t.route.matches(path, host))
            .max_by_key(|t| (t.route.host.is_some(), t.route.path_prefix.len()))
    }

    /// All tenants.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.list.iter()
    }
}
