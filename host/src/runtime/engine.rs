//! The one wasmtime `Engine` and `Linker` of a server: pooling allocator, epoch interruption
//! and their numbers, each explained where it is set.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use wasmtime::component::Linker;
use wasmtime::{
    Cache, CacheConfig, Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig,
};

use super::compiled::CompiledCache;
use super::host::HostState;

/// One epoch tick. Deadlines are checked (and long calls yield to the scheduler) at this
/// granularity, so a 1 s deadline fires between 1.000 and 1.001 s.
/// It is also the longest slice a busy guest runs before other connections get the thread:
/// at 10 ms one tenant's loops delayed another tenant's replies by ~150 ms (docs/benchmarks.md).
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Sizes of the shared instance pool, computed from the tenants' totals by the config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineSettings {
    /// Component instances alive at once across all tenants (running, pooled, per-connection).
    pub total_instances: u32,
    /// Largest linear memory any tenant allows, in bytes (the pool's slot size).
    pub max_memory_bytes: usize,
    /// Most core instances any component may contain.
    pub max_core_instances: u32,
    /// Whether any tenant limits fuel (fuel metering costs every call a little).
    pub consume_fuel: bool,
}

impl Default for EngineSettings {
    fn default() -> Self {
        Self {
            total_instances: 1000,
            max_memory_bytes: 64 << 20,
            max_core_instances: 50,
            consume_fuel: false,
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
    /// Whether stores must be given fuel.
    pub fuel_enabled: bool,
    /// Compiled components by file, shared by the tenants that load the same one.
    pub(super) compiled: CompiledCache,
}

impl Runtime {
    /// Builds the engine and linker and starts the epoch ticker thread.
    pub fn new(settings: &EngineSettings) -> anyhow::Result<Self> {
        let engine = Engine::new(&engine_config(settings))
            .map_err(anyhow::Error::from)
            .context("configuring wasmtime")?;
        let mut linker = Linker::new(&engine);
        super::host::link(&mut linker)
            .map_err(anyhow::Error::from)
            .context("linking the host's imports")?;
        start_epoch_ticker(&engine);
        Ok(Self {
            engine,
            linker: Arc::new(linker),
            fuel_enabled: settings.consume_fuel,
            compiled: CompiledCache::default(),
        })
    }

    /// How many distinct component files are compiled and in use (tenants loading the same
    /// file share one).
    pub fn compiled_components(&self) -> usize {
        self.compiled.len()
    }
}

/// Where compiled components are cached: `$EXTWS_COMPILE_CACHE` (`off` disables), else
/// `$XDG_CACHE_HOME/extws-wasm/compiled` or `~/.cache/extws-wasm/compiled`. Entries are keyed
/// by the component's bytes and the engine's settings, so a stale entry is never used.
fn compile_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("EXTWS_COMPILE_CACHE") {
        Some(v) if v == "off" => None,
        Some(v) => Some(PathBuf::from(v)),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .map(|base| base.join("extws-wasm/compiled")),
    }
}

fn engine_config(s: &EngineSettings) -> Config {
    let mut config = Config::new();
    if let Some(dir) = compile_cache_dir() {
        let mut cache = CacheConfig::new();
        cache.with_directory(dir);
        match Cache::new(cache) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => tracing::warn!(error = %e, "compile cache disabled"),
        }
    }
    config.wasm_component_model(true);
    // Deadlines: the ticker bumps the epoch every EPOCH_TICK; each store decides per tick
    // whether to yield or trap.
    config.epoch_interruption(true);
    config.consume_fuel(s.consume_fuel);

    let mut pool = PoolingAllocationConfig::default();
    let instances = s.total_instances.max(1);
    let cores = s.max_core_instances.max(1);
    pool.total_component_instances(instances);
    // Rust, C and Go components hold 1-3 core instances, Python about 14: budget 16 per
    // component instance so interpreters fit while the others leave slack.
    pool.total_core_instances(instances.saturating_mul(16).max(cores));
    // Core instances with their own memory or table are far fewer than core instances.
    let memories = instances.saturating_mul(4);
    pool.total_memories(memories);
    pool.total_tables(memories);
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
    // Reset only the pages a call actually dirtied (Linux >= 6.7 `PAGEMAP_SCAN`; elsewhere
    // wasmtime falls back to the memset above). Without it every fresh instance memsets its
    // whole kept-resident megabyte: 37 -> 11 us per Rust calc instantiate+call.
    pool.pagemap_scan(wasmtime::Enabled::Auto);
    // Each memory slot reserves 4 GiB of address space by default, which lets compiled code
    // skip bounds checks. Many slots (thousands of connection-lifecycle instances) would not
    // fit in the address space: past 4096 slots (16 TiB), reserve only the memory limit and
    // let the compiler emit bounds checks instead.
    if u64::from(memories) > 4096 {
        config.memory_reservation(s.max_memory_bytes as u64);
        config.memory_reservation_for_growth(0);
        config.memory_guard_size(64 << 10);
    }
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
