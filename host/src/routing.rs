//! A tenant's routing table from message `Type` to components, and hot reload: the table is
//! swapped atomically, so in-flight calls finish on the component they started with while new
//! messages use the new one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use anyhow::bail;

use crate::runtime::{Capabilities, Limits, LoadedComponent, Runtime};

/// One immutable routing table.
pub struct Routing {
    /// The components, in configuration order.
    pub components: Vec<Arc<LoadedComponent>>,
    by_type: HashMap<String, Vec<Arc<LoadedComponent>>>,
}

impl Routing {
    /// Builds the table. Two components claiming the same `Type` are an error unless `fanout`.
    pub fn build(
        tenant: &str,
        components: Vec<Arc<LoadedComponent>>,
        fanout: bool,
    ) -> anyhow::Result<Self> {
        let mut by_type: HashMap<String, Vec<Arc<LoadedComponent>>> = HashMap::new();
        for component in &components {
            for msg_type in &component.message_types {
                let handlers = by_type.entry(msg_type.clone()).or_default();
                if let Some(first) = handlers.first()
                    && !fanout
                {
                    bail!(
                        "tenant {tenant}: message type {msg_type:?} is claimed by both {} and {}; \
                         give each Type one component, or pass --fanout to answer it once \
                         per component",
                        first.spec.path.display(),
                        component.spec.path.display()
                    );
                }
                handlers.push(component.clone());
            }
        }
        Ok(Self {
            components,
            by_type,
        })
    }

    /// The components handling `msg_type`, in configuration order (empty when unknown).
    pub fn handlers(&self, msg_type: &str) -> &[Arc<LoadedComponent>] {
        self.by_type.get(msg_type).map_or(&[], Vec::as_slice)
    }

    /// Every routed `Type`, sorted.
    pub fn message_types(&self) -> Vec<&str> {
        let mut types: Vec<&str> = self.by_type.keys().map(String::as_str).collect();
        types.sort_unstable();
        types
    }
}

/// The current routing table of a tenant and what is needed to rebuild it.
pub struct Router {
    tenant: Arc<str>,
    fanout: bool,
    limits: Limits,
    capabilities: Arc<Capabilities>,
    runtime: Runtime,
    current: RwLock<Arc<Routing>>,
}

/// What a file looked like when last loaded: a changed stamp means a reload.
pub type FileStamp = Option<(SystemTime, u64)>;

/// The modification time and size of `path`.
pub fn stamp(path: &std::path::Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

impl Router {
    /// Loads every component of `specs` and builds the first table.
    pub async fn load(
        tenant: Arc<str>,
        runtime: &Runtime,
        specs: &[crate::runtime::ComponentSpec],
        limits: &Limits,
        capabilities: Capabilities,
        fanout: bool,
    ) -> anyhow::Result<Self> {
        let capabilities = Arc::new(capabilities);
        let mut components = Vec::new();
        for spec in specs {
            let component = LoadedComponent::load(runtime, spec, limits, capabilities.clone())
                .await
                .map_err(|e| anyhow::anyhow!("tenant {tenant}: {e}"))?;
            tracing::info!(
                tenant = %tenant,
                component = %component.name,
                types = ?component.message_types,
                "loaded component"
            );
            components.push(Arc::new(component));
        }
        let routing = Routing::build(&tenant, components, fanout)?;
        Ok(Self {
            tenant,
            fanout,
            limits: limits.clone(),
            capabilities,
            runtime: runtime.clone(),
            current: RwLock::new(Arc::new(routing)),
        })
    }

    /// The current table. Holding it keeps its components alive.
    pub fn current(&self) -> Arc<Routing> {
        self.current.read().expect("routing lock").clone()
    }

    /// Reloads component `index` from its file. On any error the old table stays and the
    /// error is returned (and logged by the caller).
    pub async fn reload(&self, index: usize) -> anyhow::Result<()> {
        let old = self.current();
        let Some(previous) = old.components.get(index) else {
            bail!("no component {index}");
        };
        let component = LoadedComponent::load(
            &self.runtime,
            &previous.spec,
            &self.limits,
            self.capabilities.clone(),
        )
        .await?;
        let mut components = old.components.clone();
        components[index] = Arc::new(component);
        let routing = Routing::build(&self.tenant, components, self.fanout)?;
        *self.current.write().expect("routing lock") = Arc::new(routing);
        Ok(())
    }
}

/// How often `--watch` looks at component files.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(300);

/// `--watch`: polls every tenant's component files and reloads one when its modification time
/// or size changes (once it has stopped changing). A component that fails to load keeps the
/// old one serving, and the reason is logged. Runs until the task is aborted.
pub async fn watch(shared: Arc<crate::connection::Shared>) {
    let mut seen: HashMap<(usize, usize), FileStamp> = HashMap::new();
    let mut tenants = shared.tenants();
    for (t, tenant) in tenants.iter().enumerate() {
        for (c, component) in tenant.routing().components.iter().enumerate() {
            seen.insert((t, c), stamp(&component.spec.path));
        }
    }
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let current = shared.tenants();
        if !Arc::ptr_eq(&current, &tenants) {
            // The configuration was reloaded: start over with its files.
            tenants = current;
            seen.clear();
            for (t, tenant) in tenants.iter().enumerate() {
                for (c, component) in tenant.routing().components.iter().enumerate() {
                    seen.insert((t, c), stamp(&component.spec.path));
                }
            }
        }
        for (t, tenant) in tenants.iter().enumerate() {
            let routing = tenant.routing();
            for (c, component) in routing.components.iter().enumerate() {
                let path = &component.spec.path;
                let now = stamp(path);
                if now.is_none() || seen.get(&(t, c)) == Some(&now) {
                    continue;
                }
                // Let a writer finish: reload only once the file is stable.
                tokio::time::sleep(WATCH_INTERVAL).await;
                if stamp(path) != now {
                    continue;
                }
                seen.insert((t, c), now);
                match tenant.reload(c).await {
                    Ok(()) => tracing::info!(
                        tenant = &*tenant.name,
                        path = %path.display(),
                        "reloaded component"
                    ),
                    Err(e) => tracing::error!(
                        tenant = &*tenant.name,
                        path = %path.display(),
                        error = %format!("{e:#}"),
                        "reload failed; the previous version keeps serving"
                    ),
                }
            }
        }
    }
}
