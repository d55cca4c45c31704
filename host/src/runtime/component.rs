//! One loaded handler component: compiled once, pre-instantiated, asked for its message types
//! at load time, and invoked per its [`Lifecycle`] with a deadline, optional fuel and a memory
//! cap.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use wasmtime::component::Component;
use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::{Handler, HandlerError, HandlerPre, Response, User};
use super::engine::Runtime;
use super::host::{CallerInfo, Capabilities, HostState};
use super::limits::Limits;

/// How long an instance lives. Fresh is the default and the strongest isolation.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    clap::ValueEnum,
    serde::Deserialize,
    serde::Serialize,
)]
#[serde(rename_all = "kebab-case")]
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
    /// The configuration name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Fresh => "fresh",
            Self::Pooled => "pooled",
            Self::Connection => "connection",
        }
    }
}

/// Which component to load and how to run it.
#[derive(Debug, Clone, PartialEq)]
pub struct ComponentSpec {
    /// Path of the `.wasm` component.
    pub path: PathBuf,
    /// Instance lifecycle.
    pub lifecycle: Lifecycle,
    /// Pooled: calls one instance serves before it is replaced.
    pub max_uses: u32,
    /// Pooled: idle instances kept warm.
    pub pool_size: usize,
}

impl ComponentSpec {
    /// A fresh-per-message component.
    pub fn fresh(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            lifecycle: Lifecycle::Fresh,
            max_uses: 10_000,
            pool_size: 8,
        }
    }
}

/// Why a component could not be loaded. Reported at startup, before listening.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read or is not a valid component.
    #[error("{path}: cannot compile: {reason}")]
    Compile { path: PathBuf, reason: String },
    /// The component does not implement the `extws:handler/handler` world or imports
    /// something the host does not provide.
    #[error("{path}: does not implement world extws:handler/handler@0.1.0: {reason}")]
    World { path: PathBuf, reason: String },
    /// Calling `message-types` failed or returned nothing usable.
    #[error("{path}: message-types: {reason}")]
    MessageTypes { path: PathBuf, reason: String },
}

/// Why one call did not produce a response. Each maps to a `HandlerException` code.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The guest returned its own `handler-error`.
    #[error("{}", .0.message)]
    Handler(HandlerError),
    /// The call ran past its deadline or its fuel.
    #[error("the handler ran past its {0}")]
    Timeout(String),
    /// The guest hit a resource limit (memory, stack, tables, instances, reply size).
    #[error("the handler exceeded its {0}")]
    Limit(&'static str),
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...).
    #[error("the handler failed: {0}")]
    Trap(String),
    /// The guest returned a reply the host cannot send (not JSON).
    #[error("the handler returned an invalid reply: {0}")]
    InvalidReply(String),
}

impl InvokeError {
    /// The `HandlerException` code the client gets.
    pub fn code(&self) -> crate::envelope::ErrorCode {
        use crate::envelope::ErrorCode;
        match self {
            Self::Handler(_) => ErrorCode::HandlerError,
            Self::Timeout(_) => ErrorCode::Timeout,
            Self::Limit(_) => ErrorCode::Limit,
            Self::Trap(_) | Self::InvalidReply(_) => ErrorCode::HandlerFailed,
        }
    }
}

/// The inputs of one call.
pub struct Invocation<'a> {
    /// The request's `Type`.
    pub msg_type: &'a str,
    /// JSON text of the request's `Data`.
    pub data: &'a str,
    /// The authenticated user, as the WIT record.
    pub user: Option<&'a User>,
    /// Tenant, component and session of the caller.
    pub caller: CallerInfo,
}

/// A live instance with its store.
pub struct Instance {
    store: Store<HostState>,
    handler: Handler,
    raw: wasmtime::component::Instance,
    uses: u32,
}

/// The connection-lifecycle instances of one connection, by component.
#[derive(Default)]
pub struct ConnectionInstances(HashMap<u64, Instance>);

/// A compiled, pre-instantiated handler component of one tenant.
pub struct LoadedComponent {
    /// Display name (file stem), used in logs.
    pub name: Arc<str>,
    /// How it was configured.
    pub spec: ComponentSpec,
    /// The `Type`s it handles, from `message-types`.
    pub message_types: Vec<String>,
    id: u64,
    runtime: Runtime,
    pre: HandlerPre<HostState>,
    capabilities: Arc<Capabilities>,
    pool: Mutex<Vec<Instance>>,
    hooks: Vec<Hook>,
}

/// The optional lifecycle hooks of world `handler-with-hooks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hook {
    /// `on-connect`, after a connection authenticated.
    Connect,
    /// `on-disconnect`, after it closed.
    Disconnect,
}

impl Hook {
    /// The export's name.
    pub fn export(self) -> &'static str {
        match self {
            Self::Connect => "on-connect",
            Self::Disconnect => "on-disconnect",
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The tenant name of the one instance created at load time to ask for message types.
const LOADING_TENANT: &str = "(loading)";

impl LoadedComponent {
    /// Compiles the component, checks it against the world, and asks for its message types.
    pub async fn load(
        runtime: &Runtime,
        spec: &ComponentSpec,
        limits: &Limits,
        capabilities: Arc<Capabilities>,
    ) -> Result<Self, LoadError> {
        let path = spec.path.as_path();
        let component =
            Component::from_file(&runtime.engine, path).map_err(|e| LoadError::Compile {
                path: path.to_path_buf(),
                reason: format!("{e:#}"),
            })?;
        let world = |e: wasmtime::Error| LoadError::World {
            path: path.to_path_buf(),
            reason: format!("{e:#}"),
        };
        let hooks = [Hook::Connect, Hook::Disconnect]
            .into_iter()
            .filter(|h| component.get_export_index(None, h.export()).is_some())
            .collect();
        let instance_pre = runtime.linker.instantiate_pre(&component).map_err(world)?;
        let pre = HandlerPre::new(instance_pre).map_err(world)?;
        let mut loaded = Self {
            name: display_name(path),
            spec: spec.clone(),
            message_types: Vec::new(),
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            runtime: runtime.clone(),
            pre,
            capabilities,
            pool: Mutex::new(Vec::new()),
            hooks,
        };
        loaded.message_types =
            loaded
                .ask_message_types(limits)
                .await
                .map_err(|reason| LoadError::MessageTypes {
                    path: path.to_path_buf(),
                    reason,
                })?;
        Ok(loaded)
    }

    async fn ask_message_types(&self, limits: &Limits) -> Result<Vec<String>, String> {
        let caller = CallerInfo {
            tenant: LOADING_TENANT.into(),
            component: self.name.clone(),
            init_data: None,
            connection: None,
            state: None,
        };
        let mut instance = self
            .instantiate(caller, limits)
            .await
            .map_err(|e| format!("instantiating: {e}"))?;
        let types = instance
            .handler
            .call_message_types(&mut instance.store)
            .await
            .map_err(|e| format!("{e:#}"))?;
        if types.is_empty() {
            return Err("returned no message types".into());
        }
        if let Some(bad) = types.iter().find(|t| t.is_empty() || t.len() > 256) {
            return Err(format!("invalid message type {bad:?}"));
        }
        Ok(types)
    }

    async fn instantiate(
        &self,
        caller: CallerInfo,
        limits: &Limits,
    ) -> Result<Instance, InvokeError> {
        if &*caller.tenant != LOADING_TENANT {
            crate::metrics::metrics().instance(&caller.tenant, self.spec.lifecycle.as_str());
        }
        let state = HostState::new(caller, limits, &self.capabilities)
            .map_err(|e| InvokeError::Trap(format!("preparing the sandbox: {e:#}")))?;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        arm(&mut store, limits, self.runtime.fuel_enabled);
        let raw = match self.pre.instance_pre().instantiate_async(&mut store).await {
            Ok(raw) => raw,
            Err(e) => return Err(classify(e, &store, limits)),
        };
        match Handler::new(&mut store, &raw) {
            Ok(handler) => Ok(Instance {
                store,
                handler,
                raw,
                uses: 0,
            }),
            Err(e) => Err(classify(e, &store, limits)),
        }
    }

    /// Runs one message on an instance chosen by the lifecycle. `connection` holds this
    /// connection's instances for the `connection` lifecycle.
    pub async fn invoke(
        &self,
        call: Invocation<'_>,
        limits: &Limits,
        max_reply_bytes: usize,
        connection: &mut ConnectionInstances,
    ) -> Result<Response, InvokeError> {
        match self.spec.lifecycle {
            Lifecycle::Fresh => {
                let mut instance = self.instantiate(call.caller.clone(), limits).await?;
                self.call_on(&mut instance, &call, limits, max_reply_bytes)
                    .await
            }
            Lifecycle::Pooled => {
                let idle = self.pool.lock().expect("pool lock").pop();
                let mut instance = match idle {
                    Some(instance) => instance,
                    None => self.instantiate(call.caller.clone(), limits).await?,
                };
                let result = self
                    .call_on(&mut instance, &call, limits, max_reply_bytes)
                    .await;
                if reusable(&result) && instance.uses < self.spec.max_uses {
                    let mut pool = self.pool.lock().expect("pool lock");
                    if pool.len() < self.spec.pool_size {
                        pool.push(instance);
                    }
                }
                result
            }
            Lifecycle::Connection => {
                let mut instance = match connection.0.remove(&self.id) {
                    Some(instance) => instance,
                    None => self.instantiate(call.caller.clone(), limits).await?,
                };
                let result = self
                    .call_on(&mut instance, &call, limits, max_reply_bytes)
                    .await;
                if reusable(&result) {
                    connection.0.insert(self.id, instance);
                }
                result
            }
        }
    }

    async fn call_on(
        &self,
        instance: &mut Instance,
        call: &Invocation<'_>,
        limits: &Limits,
        max_reply_bytes: usize,
    ) -> Result<Response, InvokeError> {
        let store = &mut instance.store;
        store.data_mut().caller = call.caller.clone();
        store.data_mut().limiter.memory_refused = false;
        arm(store, limits, self.runtime.fuel_enabled);
        instance.uses += 1;
        let result = instance
            .handler
            .call_handle(&mut *store, call.msg_type, call.data, call.user)
            .await;
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(handler_error)) => return Err(InvokeError::Handler(handler_error)),
            Err(e) => return Err(classify(e, store, limits)),
        };
        if response.data.len() > max_reply_bytes {
            return Err(InvokeError::Limit("reply size limit"));
        }
        if serde_json::from_str::<&serde_json::value::RawValue>(&response.data).is_err() {
            return Err(InvokeError::InvalidReply("data is not JSON".into()));
        }
        Ok(response)
    }

    /// Whether the component exports `hook`.
    pub fn has_hook(&self, hook: Hook) -> bool {
        self.hooks.contains(&hook)
    }

    /// Calls a lifecycle hook in a fresh instance, best-effort (the caller logs failures).
    pub async fn call_hook(
        &self,
        hook: Hook,
        user: Option<&User>,
        caller: CallerInfo,
        limits: &Limits,
    ) -> Result<(), InvokeError> {
        let mut instance = self.instantiate(caller, limits).await?;
        let store = &mut instance.store;
        let exported = instance
            .raw
            .get_typed_func::<(Option<User>,), ()>(&mut *store, hook.export())
            .map_err(|e| InvokeError::Trap(format!("{}: {e:#}", hook.export())))?;
        exported
            .call_async(&mut *store, (user.cloned(),))
            .await
            .map_err(|e| classify(e, store, limits))
    }

    /// Idle pooled instances right now (for tests and metrics).
    pub fn pooled_idle(&self) -> usize {
        self.pool.lock().expect("pool lock").len()
    }
}

/// An instance survives a call that returned normally or with its own handler error.
fn reusable(result: &Result<Response, InvokeError>) -> bool {
    matches!(result, Ok(_) | Err(InvokeError::Handler(_)))
}

fn display_name(path: &Path) -> Arc<str> {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".into())
        .into()
}

/// Arms the store for one call: deadline from now, fresh fuel.
fn arm(store: &mut Store<HostState>, limits: &Limits, fuel_enabled: bool) {
    let deadline = Instant::now() + limits.timeout;
    store.set_epoch_deadline(1);
    store.epoch_deadline_callback(move |_| {
        if Instant::now() >= deadline {
            Ok(UpdateDeadline::Interrupt)
        } else {
            // Let other connections run while a long call continues. tokio's own yield puts
            // the task at the back of the queue; a plain self-wake would land in the worker's
            // LIFO slot and be polled again at once, starving everyone else.
            Ok(UpdateDeadline::YieldCustom(
                1,
                Box::pin(tokio::task::yield_now()),
            ))
        }
    });
    if fuel_enabled {
        store
            .set_fuel(limits.fuel.unwrap_or(u64::MAX))
            .expect("fuel is enabled on this engine");
    }
}

fn classify(e: wasmtime::Error, store: &Store<HostState>, limits: &Limits) -> InvokeError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => {
            InvokeError::Timeout(format!("{} ms deadline", limits.timeout.as_millis()))
        }
        Some(Trap::OutOfFuel) => InvokeError::Timeout("fuel".into()),
        Some(Trap::StackOverflow) => InvokeError::Limit("stack limit"),
        _ if store.data().limiter.memory_refused => InvokeError::Limit("memory limit"),
        Some(trap) => InvokeError::Trap(trap.to_string()),
        None => {
            let text = format!("{e:#}");
            if text.contains("resource limit") || text.contains("pooling allocator") {
                InvokeError::Limit("instance limit")
            } else {
                InvokeError::Trap(text.lines().next().unwrap_or("error").to_string())
            }
        }
    }
}
