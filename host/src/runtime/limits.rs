//! Per-call resource limits and the store's `ResourceLimiter` that enforces them.

use std::time::Duration;

/// A tenant's resource limits: per call (deadline, fuel, memory, tables, instances) and per
/// tenant (concurrency, queue, connections, message rate).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock deadline of one call (instantiation included), enforced by epoch interruption.
    pub timeout: Duration,
    /// Optional fuel (roughly, wasm instructions) per call; `None` leaves CPU to the deadline.
    pub fuel: Option<u64>,
    /// Maximum linear memory of one instance, in bytes (all its memories together).
    pub max_memory_bytes: usize,
    /// Maximum table elements of one table.
    pub max_table_elements: usize,
    /// Maximum core instances one component instance may create (Python needs more than 10).
    pub max_core_instances: usize,
    /// Calls of this tenant running at once; more wait in a queue.
    pub max_concurrency: usize,
    /// Calls that may wait for a slot; beyond that the client gets `overloaded`.
    pub max_queue: usize,
    /// Open connections of this tenant; more are refused with HTTP 503.
    pub max_connections: usize,
    /// Open connections of one Telegram user in this tenant; more are refused with HTTP 429
    /// (or, for first-message auth, closed with 1008).
    pub max_connections_per_user: usize,
    /// Open connections from one IP address still waiting for their first-message auth; more
    /// are refused with HTTP 429. Once authenticated they count as their user.
    pub max_connections_per_ip: usize,
    /// Sustained messages per second per connection (token bucket refill rate).
    pub rate_per_second: f64,
    /// Messages a connection may send in a burst (token bucket size).
    pub rate_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            // Long enough for any honest handler, short enough that a stuck one frees its
            // slot quickly on a public server.
            timeout: Duration::from_secs(1),
            fuel: None,
            // Fits the JavaScript and Python runtimes with room for their heaps.
            max_memory_bytes: 64 << 20,
            // Rust/C need a few hundred; interpreters' indirect-call tables tens of thousands.
            max_table_elements: 100_000,
            // componentize-py components contain a dozen or more core instances.
            max_core_instances: 50,
            // Two cores here: a handful of calls in parallel per tenant keeps one tenant from
            // taking every worker thread.
            max_concurrency: 8,
            // Short bursts queue; a flood is refused quickly instead of growing latency.
            max_queue: 64,
            max_connections: 10_000,
            // A user with the Mini App open on a phone, a desktop and a few tabs has a
            // handful; a script replaying one initData has hundreds.
            max_connections_per_user: 16,
            // Several users may share an address (NAT, a proxy), and this counts only
            // connections whose first-message auth is pending (at most 10 s each).
            max_connections_per_ip: 64,
            // Generous for an interactive Mini App, tight enough to stop a scripted flood.
            rate_per_second: 50.0,
            rate_burst: 100,
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
    /// Set once a table growth was refused.
    pub table_refused: bool,
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
            table_refused: false,
        }
    }

    /// Forgets refusals of an earlier call (a kept instance starts each call clean).
    pub fn reset(&mut self) {
        self.memory_refused = false;
        self.table_refused = false;
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
        let allowed = desired <= self.max_table_elements;
        self.table_refused |= !allowed;
        Ok(allowed)
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
