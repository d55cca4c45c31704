//! The one wasmtime `Engine` and `Linker` of a server: pooling allocator, epoch interruption
//! and their numbers, each explained where it is set.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::{HasSelf, Linker};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use super::bindings::Handler;
use super::host::HostState;

/// One epoch tick. Deadlines are checked (and long calls yield to the scheduler) at this
/// granularity, so a 1 s deadline fires between 1.00 and 1.01 s.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Sizes of the shared instance pool, computed from the tenants' totals by the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// Component instances alive at once across all tenants (running, pooled, per-connection).
    pub total_instances: u32,
    /// Largest linear memory any tenant allows, in bytes (the pool's slot size).
    pub max_memory_bytes: usize,
    /// Most core instances any component may contain.
    pub max_core_instances: u32,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            total_instances: 1000,
            max_memory_bytes: 64 << 20,
            max_core_instances: 50,
        }
    }
}

/// The compiled-code side shared by all tenants: engine, linker with the host imports, and the
/// epoch ticker that drives deadlines.
#[derive(Clone)]
pub struct Runtime {
    /// The wasmtime engine.
    pub engine: Engine,
    /// Linker with WASI (no capabilities) and the world's `log`/`session` imports.
    pub linker: Arc<Linker<HostState>>,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker thread.
    pub fn new(settings: &EngineSettings) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(settings))
            .map_err(anyhow::Error::from)
            .context("configuring wasmtime")?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking WASI")?;
        Handler::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state)
            .map_err(anyhow::Error::from)
            .context("linking extws:handler imports")?;
        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: Arc::new(linker),
        })
    }
}

fn engine_config(s: &EngineSettings) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    // Deadlines: the ticker bumps the epoch every EPOCH_TICK; each store decides per tick
    // whether to yield or trap.
    config.epoch_interruption(true);

    let mut pool = PoolingAllocationConfig::default();
    let instances = s.total_instances.max(1);
    let cores = s.max_core_instances.max(1);
    pool.total_component_instances(instances);
    // Every component instance may hold up to `cores` core instances, but most hold a few:
    // budget 4 on average and let a few large (Python, JavaScript) ones take more.
    let core_total = instances.saturating_mul(4).max(cores);
    pool.total_core_instances(core_total);
    pool.total_memories(core_total);
    pool.total_tables(core_total);
    // One fiber stack per running call; pooled/connection instances hold none while idle.
    pool.total_stacks(instances);
    pool.max_core_instances_per_component(cores);
    pool.max_memories_per_component(cores);
    pool.max_tables_per_component(cores);
    pool.max_memory_size(s.max_memory_bytes);
    // Interpreters (Python, JavaScript) have large indirect-call tables.
    pool.table_elements(100_000);
    // Component and core instance metadata (vmctx) can be large for big guests.
    pool.max_component_instance_size(1 << 20);
    pool.max_core_instance_size(1 << 20);
    // Keep the first pages of each slot resident when a slot is reused: a fresh instance then
    // needs no page faults for its stack and small heap (this is most of the instantiate cost).
    pool.linear_memory_keep_resident(1 << 20);
    pool.table_keep_resident(64 << 10);
    pool.async_stack_keep_resident(128 << 10);
    config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    config
}

fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("epoch-ticker".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawning the epoch ticker thread");
}
