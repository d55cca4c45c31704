//! Tenants (one bot or app each): their route, auth policy, limits, [`admission`] and their
//! [`Handlers`]. Built at startup and on SIGHUP; only a tenant's routing table is replaced in
//! place (hot reload). [`TenantSet`] is what connections look tenants up in.

pub mod admission;

use std::sync::{Arc, RwLock};

use tokio::sync::SemaphorePermit;

use crate::auth::AuthPolicy;
use crate::capabilities::ledger::Ledger;
use crate::capabilities::telegram::BotApi;
use crate::capabilities::{Capabilities, KvGrant, PushGrant, Services};
use crate::config::updates::{Updates, WebhookSecret};
use crate::config::{Route, TenantConfig};
use crate::handlers::{HandlerTable, Handlers};
use crate::metrics::Metrics;
use crate::runtime::{Limits, LoadContext, Runtime};
use crate::state::KvStore;

use admission::{CallSlots, ConnectionCount};
pub use admission::{ConnectionSlot, Holder, Refused, TokenBucket};

/// One tenant, ready to serve.
pub struct Tenant {
    /// Unique name, carried in logs and passed to guests.
    pub name: Arc<str>,
    /// Which connections belong to it.
    pub route: Route,
    /// How its connections authenticate.
    pub auth: AuthPolicy,
    /// Its limits on what its guests make the host send: frame size (accepted and sent),
    /// topics per connection (see [`crate::capabilities::ledger`]).
    pub ledger: Ledger,
    /// Directory served over plain HTTP under the route.
    pub static_dir: Option<std::path::PathBuf>,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// How the bot's updates reach its components (none: they do not).
    pub updates: Option<Updates>,
    /// Limits, capabilities and instance counting of its components (the one copy).
    load: LoadContext,
    router: Handlers,
    calls: CallSlots,
    connections: Arc<ConnectionCount>,
}

impl Tenant {
    /// Loads the tenant's components and builds its routing table. Two components claiming the
    /// same `Type` are an error unless `fanout` is set.
    pub async fn load(
        runtime: &Runtime,
        config: &TenantConfig,
        services: Option<&Services>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let name: Arc<str> = config.name.as_str().into();
        let on_instance = {
            let (metrics, name) = (metrics.clone(), name.clone());
            Arc::new(move |l: crate::runtime::Lifecycle| metrics.instance(&name, l.as_str()))
        };
        // With Redis, a bot's flood limits are kept there, for every node serving it.
        let telegram = config.capabilities.telegram.as_ref().map(|api| {
            match services.and_then(Services::redis) {
                Some(conn) => Arc::new(api.shared_through(conn)),
                None => api.clone(),
            }
        });
        let capabilities = Capabilities {
            telegram,
            kv: services.map(|s| KvGrant {
                store: s.kv.clone(),
                quota: config.quota,
            }),
            push: services.map(|s| PushGrant {
                bus: s.bus.clone(),
                history: s.history.clone(),
                history_policy: config.push_history,
                ledger: config.ledger,
            }),
            ..config.capabilities.clone()
        };
        let load = LoadContext {
            limits: config.limits.clone(),
            capabilities: Arc::new(capabilities),
            on_instance,
        };
        let router = Handlers::load(
            name.clone(),
            runtime,
            &config.components,
            &load,
            config.fanout,
        )
        .await?;
        let limits = &config.limits;
        Ok(Self {
            route: config.route.clone(),
            auth: config.auth.clone(),
            ledger: config.ledger,
            static_dir: config.static_dir.clone(),
            calls: CallSlots::new(limits.max_concurrency, limits.max_queue),
            connections: Arc::new(ConnectionCount::new(name.clone(), limits, metrics.clone())),
            metrics,
            updates: config.updates.clone(),
            load,
            router,
            name,
        })
    }

    /// The tenant's Bot API access, if it has any.
    pub fn bot_api(&self) -> Option<&Arc<BotApi>> {
        self.load.capabilities.telegram.as_ref()
    }

    /// What the tenant grants its guests (one copy, shared by all its stores).
    pub fn capabilities(&self) -> &Arc<Capabilities> {
        &self.load.capabilities
    }

    /// The server's state store, for the host's own records of this tenant (update claims);
    /// none when the server has no store.
    pub fn store(&self) -> Option<&KvStore> {
        self.load.capabilities.kv.as_ref().map(|g| &g.store)
    }

    /// The tenant's limits.
    pub fn limits(&self) -> &Limits {
        &self.load.limits
    }

    /// The current routing table (replaced atomically by hot reload).
    pub fn handlers(&self) -> Arc<HandlerTable> {
        self.router.current()
    }

    /// Reloads component `index` from its file (see [`Handlers::reload`]).
    pub async fn reload(&self, index: usize) -> anyhow::Result<()> {
        self.router.reload(index, &self.load).await
    }

    /// Waits for a slot to run a call: at most `max_concurrency` run at once and at most
    /// `max_queue` wait. `None` means the queue is full (the client gets `overloaded`).
    pub async fn admit(&self) -> Option<SemaphorePermit<'_>> {
        self.calls.admit().await
    }

    /// Counts a new connection (of `holder`, if any); refused when the tenant is at
    /// `max_connections` or the holder at its own limit.
    pub fn open_connection(&self, holder: Option<Holder>) -> Result<ConnectionSlot, Refused> {
        self.connections.open(holder)
    }

    /// Connections open right now.
    pub fn open_connections(&self) -> usize {
        self.connections.current()
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
        metrics: &Arc<Metrics>,
    ) -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for config in configs {
            let tenant = Tenant::load(runtime, config, services, metrics.clone()).await?;
            list.push(Arc::new(tenant));
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

    /// The tenant whose webhook is at `path` on `host`, with its secret.
    pub fn webhook(
        &self,
        path: &str,
        host: Option<&str>,
    ) -> Option<(&Arc<Tenant>, &WebhookSecret)> {
        let host = host.map(|h| h.split(':').next().unwrap_or(h));
        // The same precedence as connections ([`Tenants::find`]): a tenant routed by host
        // before one that is not, then the longest path prefix.
        self.list
            .iter()
            .filter_map(|t| match &t.updates {
                Some(Updates::Webhook { path: p, secret })
                    if p == path && t.route.matches(path, host) =>
                {
                    Some((t, secret))
                }
                _ => None,
            })
            .max_by_key(|(t, _)| (t.route.host.is_some(), t.route.path_prefix.len()))
    }

    /// All tenants.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Tenant>> {
        self.list.iter()
    }
}

/// The tenants new connections are admitted to; replaced as a whole when the configuration
/// is reloaded (SIGHUP). Open connections keep the tenant they were accepted by.
pub struct TenantSet(RwLock<Arc<Tenants>>);

impl TenantSet {
    /// A set of these tenants.
    pub fn new(tenants: Tenants) -> Self {
        Self(RwLock::new(Arc::new(tenants)))
    }

    /// The current tenants.
    pub fn current(&self) -> Arc<Tenants> {
        self.0.read().expect("tenants lock").clone()
    }

    /// Replaces the tenants for new connections.
    pub fn replace(&self, tenants: Tenants) {
        *self.0.write().expect("tenants lock") = Arc::new(tenants);
    }
}
