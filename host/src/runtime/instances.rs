//! Instance lifecycles: where the instance for a call comes from and whether it is kept
//! afterwards. One small policy per [`Lifecycle`], behind [`InstancePolicy`].

use std::collections::HashMap;
use std::sync::Mutex;

use wasmtime::Store;

use super::host::HostState;
use crate::wit::Handler;

/// How long an instance lives. Fresh is the default and the strongest isolation.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Lifecycle {
    /// A new instance for every message: nothing survives a call.
    #[default]
    Fresh,
    /// Warm instances reused across messages of the same tenant (never across tenants),
    /// discarded after any failure and after `max_uses` calls. Memory may carry over between
    /// users of one tenant.
    Pooled,
    /// One instance per connection, so a handler can keep session state in memory; discarded
    /// with the connection or after any failure.
    Connection,
}

impl Lifecycle {
    /// The configuration name (`fresh`, `pooled`, `connection`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Pooled => "pooled",
            Self::Connection => "connection",
        }
    }

    /// The lifecycle of a configuration name.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::Fresh, Self::Pooled, Self::Connection]
            .into_iter()
            .find(|l| l.as_str() == name)
    }
}

/// A live instance with its store.
pub struct Instance {
    /// The store (one per instance; never shared across tenants).
    pub store: Store<HostState>,
    /// The typed exports.
    pub handler: Handler,
    /// The raw instance, for the optional hook exports.
    pub raw: wasmtime::component::Instance,
    /// Calls served so far.
    pub uses: u32,
}

/// The connection-lifecycle instances of one connection, by component id.
#[derive(Default)]
pub struct ConnectionInstances(HashMap<u64, Instance>);

/// Where a call's instance comes from and where it goes after a call that left it usable
/// (a call that failed other than by the guest's own `handler-error` always discards it).
pub trait InstancePolicy: Send + Sync {
    /// A kept instance for the next call, if the policy keeps any.
    fn take(&self, connection: &mut ConnectionInstances) -> Option<Instance>;
    /// Keeps `instance` for a later call, or drops it.
    fn keep(&self, instance: Instance, connection: &mut ConnectionInstances);
    /// Idle instances held right now (pools only).
    fn idle(&self) -> usize {
        0
    }
}

/// `fresh`: nothing is kept.
pub struct Fresh;

impl InstancePolicy for Fresh {
    fn take(&self, _: &mut ConnectionInstances) -> Option<Instance> {
        None
    }

    fn keep(&self, _: Instance, _: &mut ConnectionInstances) {}
}

/// `pooled`: up to `pool_size` idle instances, each serving at most `max_uses` calls.
pub struct Pooled {
    idle: Mutex<Vec<Instance>>,
    max_uses: u32,
    pool_size: usize,
}

impl Pooled {
    /// An empty pool.
    pub fn new(max_uses: u32, pool_size: usize) -> Self {
        Self {
            idle: Mutex::new(Vec::new()),
            max_uses,
            pool_size,
        }
    }
}

impl InstancePolicy for Pooled {
    fn take(&self, _: &mut ConnectionInstances) -> Option<Instance> {
        self.idle.lock().expect("pool lock").pop()
    }

    fn keep(&self, instance: Instance, _: &mut ConnectionInstances) {
        if instance.uses >= self.max_uses {
            return;
        }
        let mut idle = self.idle.lock().expect("pool lock");
        if idle.len() < self.pool_size {
            idle.push(instance);
        }
    }

    fn idle(&self) -> usize {
        self.idle.lock().expect("pool lock").len()
    }
}

/// `connection`: one instance per connection and component, kept in the connection's
/// [`ConnectionInstances`].
pub struct PerConnection {
    /// The component's id, its key in every connection's map.
    pub component: u64,
}

impl InstancePolicy for PerConnection {
    fn take(&self, connection: &mut ConnectionInstances) -> Option<Instance> {
        connection.0.remove(&self.component)
    }

    fn keep(&self, instance: Instance, connection: &mut ConnectionInstances) {
        connection.0.insert(self.component, instance);
    }
}
