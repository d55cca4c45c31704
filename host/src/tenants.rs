//! Tenants (one bot or app each): their route, auth policy, limits and the routing table from
//! message `Type` to the components that handle it. Built once at startup, then immutable.

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::bail;

use crate::auth::AuthPolicy;
use crate::config::{Route, TenantConfig};
use crate::runtime::{Limits, LoadedComponent, Runtime};

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
    routes: HashMap<String, Vec<Arc<LoadedComponent>>>,
}

impl Tenant {
    /// Loads the tenant's components and builds its routing table. Two components claiming the
    /// same `Type` are an error unless `fanout` is set.
    pub async fn load(runtime: &Runtime, config: &TenantConfig) -> anyhow::Result<Self> {
        let mut routes: HashMap<String, Vec<Arc<LoadedComponent>>> = HashMap::new();
        for path in &config.components {
            let component = Arc::new(LoadedComponent::load(runtime, path, &config.limits).await?);
            tracing::info!(
                tenant = %config.name,
                component = %component.name,
                types = ?component.message_types,
                "loaded component"
            );
            for msg_type in &component.message_types {
                let handlers = routes.entry(msg_type.clone()).or_default();
                if let Some(first) = handlers.first()
                    && !config.fanout
                {
                    bail!(
                        "tenant {}: message type {msg_type:?} is claimed by both {} and {}; \
                         give each Type one component, or pass --fanout to answer it once \
                         per component",
                        config.name,
                        first.path.display(),
                        component.path.display()
                    );
                }
                handlers.push(component.clone());
            }
        }
        Ok(Self {
            name: config.name.as_str().into(),
            route: config.route.clone(),
            auth: config.auth.clone(),
            limits: config.limits.clone(),
            max_message_bytes: config.max_message_bytes,
            routes,
        })
    }

    /// The components handling `msg_type`, in configuration order (empty when unknown).
    pub fn handlers(&self, msg_type: &str) -> &[Arc<LoadedComponent>] {
        self.routes.get(msg_type).map_or(&[], Vec::as_slice)
    }

    /// Every `Type` this tenant routes, sorted.
    pub fn message_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.routes.keys().map(String::as_str).collect();
        types.sort_unstable();
        types
    }
}

/// All tenants of a server.
pub struct Tenants {
    list: Vec<Arc<Tenant>>,
}

impl Tenants {
    /// Loads every tenant.
    pub async fn load(runtime: &Runtime, configs: &[TenantConfig]) -> anyhow::Result<Self> {
        let mut list = Vec::new();
        for config in configs {
            list.push(Arc::new(Tenant::load(runtime, config).await?));
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
