//! Per-call resource limits and the store's `ResourceLimiter` that enforces them.

use std::time::Duration;

/// Resource limits for every call of a tenant's handlers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Wall-clock deadline of one call (instantiation included), enforced by epoch interruption.
    pub timeout: Duration,
    /// Maximum linear memory of one instance, in bytes (all its memories together).
    pub max_memory_bytes: usize,
    /// Maximum table elements of one table.
    pub max_table_elements: usize,
    /// Maximum core instances one component instance may create (Python needs more than 10).
    pub max_core_instances: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Long enough for any honest handler, short enough that a stuck one frees its
            // slot quickly on a public server.
            timeout: Duration::from_secs(1),
            // Fits the JavaScript and Python runtimes with room for their heaps.
            max_memory_bytes: 64 << 20,
            // Rust/C need a few hundred; interpreters' indirect-call tables tens of thousands.
            max_table_elements: 100_000,
            // componentize-py components contain a dozen or more core instances.
            max_core_instances: 50,
        }
    }
}

/// Enforces [`Limits`] on one store and remembers whether it refused memory, so a trap that
/// follows a refused `memory.grow` is reported as a limit rather than a crash.
#[derive(Debug)]
pub struct Limiter {
    max_memory_bytes: usize,
    max_table_elements: usize,
    max_core_instances: usize,
    memory_used: usize,
    /// Set once a memory growth was refused.
    pub memory_refused: bool,
}

impl Limiter {
    /// A limiter for one store.
    pub fn new(limits: &Limits) -> Self {
        Self {
            max_memory_bytes: limits.max_memory_bytes,
            max_table_elements: limits.max_table_elements,
            max_core_instances: limits.max_core_instances,
            memory_used: 0,
            memory_refused: false,
        }
    }
}

impl wasmtime::ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        let total = self.memory_used - current.min(self.memory_used) + desired;
        if total > self.max_memory_bytes {
            self.memory_refused = true;
            return Ok(false);
        }
        self.memory_used = total;
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        Ok(desired <= self.max_table_elements)
    }

    fn instances(&self) -> usize {
        self.max_core_instances
    }

    fn tables(&self) -> usize {
        self.max_core_instances * 2
    }

    fn memories(&self) -> usize {
        self.max_core_instances
    }
}
