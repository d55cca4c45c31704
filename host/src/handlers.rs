//! A tenant's handler table from message `Type` to components ([`HandlerTable`]), and its
//! replacement by hot reload ([`Handlers`]): the table is swapped atomically, so in-flight
//! calls finish on the component they started with while new messages use the new one.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use anyhow::bail;

use crate::runtime::{ComponentSpec, LoadContext, LoadedComponent, Runtime};

/// One immutable routing table.
pub struct HandlerTable {
    /// The components, in configuration order.
    pub components: Vec<Arc<LoadedComponent>>,
    by_type: HashMap<String, Vec<Arc<LoadedComponent>>>,
}

impl HandlerTable {
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
    pub fn for_type(&self, msg_type: &str) -> &[Arc<LoadedComponent>] {
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
pub struct Handlers {
    tenant: Arc<str>,
    fanout: bool,
    runtime: Runtime,
    current: RwLock<Arc<HandlerTable>>,
}

impl Handlers {
    /// Loads every component of `specs` and builds the first table.
    pub async fn load(
        tenant: Arc<str>,
        runtime: &Runtime,
        specs: &[ComponentSpec],
        context: &LoadContext,
        fanout: bool,
    ) -> anyhow::Result<Self> {
        let mut components = Vec::new();
        for spec in specs {
            let component = LoadedComponent::load(runtime, spec, context.clone())
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
        let routing = HandlerTable::build(&tenant, components, fanout)?;
        Ok(Self {
            tenant,
            fanout,
            runtime: runtime.clone(),
            current: RwLock::new(Arc::new(routing)),
        })
    }

    /// The current table. Holding it keeps its components alive.
    pub fn current(&self) -> Arc<HandlerTable> {
        self.current.read().expect("routing lock").clone()
    }

    /// Reloads component `index` from its file. On any error the old table stays and the
    /// error is returned (and logged by the caller).
    pub async fn reload(&self, index: usize, context: &LoadContext) -> anyhow::Result<()> {
        let old = self.current();
        let Some(previous) = old.components.get(index) else {
            bail!("no component {index}");
        };
        let component =
            LoadedComponent::load(&self.runtime, &previous.spec, context.clone()).await?;
        let mut components = old.components.clone();
        components[index] = Arc::new(component);
        let routing = HandlerTable::build(&self.tenant, components, self.fanout)?;
        *self.current.write().expect("routing lock") = Arc::new(routing);
        Ok(())
    }
}
