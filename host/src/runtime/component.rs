//! One loaded handler component: compiled once, pre-instantiated, asked for its message types
//! at load time, and invoked per its lifecycle ([`super::instances`]) under one deadline per
//! call ([`super::invoke`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::api::Api;

use wasmtime::Store;

pub use super::compiled::Hook;
use super::compiled::{CompileError, Compiled, DESCRIBE};
use super::engine::Runtime;
use super::host::HostState;
use super::instances::{
    ConnectionInstances, Fresh, Instance, InstancePolicy, Lifecycle, PerConnection, Pooled,
};
use super::invoke::{Deadline, Invocation, InvokeError, Phase, classify};
use super::limits::Limits;
use crate::capabilities::{CallerInfo, Capabilities};
use crate::wit::{Handler, Response, User};

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
    #[error("{path}: does not implement world extws:handler/handler@0.1.x: {reason}")]
    World { path: PathBuf, reason: String },
    /// Calling `message-types` failed or returned nothing usable.
    #[error("{path}: message-types: {reason}")]
    MessageTypes { path: PathBuf, reason: String },
    /// The optional `describe` export failed or returned something that is not an API.
    #[error("{path}: {reason}")]
    Describe { path: PathBuf, reason: String },
}

/// Called once per instance created for a call or hook (not for the load-time one), with the
/// component's lifecycle: how the owner counts instances without the runtime knowing metrics.
pub type InstanceObserver = Arc<dyn Fn(Lifecycle) + Send + Sync>;

/// What a component gets from its tenant when it is loaded.
#[derive(Clone)]
pub struct LoadContext {
    /// The tenant's per-call limits.
    pub limits: Limits,
    /// The tenant's capability grants.
    pub capabilities: Arc<Capabilities>,
    /// Counts created instances.
    pub on_instance: InstanceObserver,
}

/// A compiled, pre-instantiated handler component of one tenant.
pub struct LoadedComponent {
    /// Display name (file stem), used in logs.
    pub name: Arc<str>,
    /// How it was configured.
    pub spec: ComponentSpec,
    /// The `Type`s it handles, from `message-types`.
    pub message_types: Vec<String>,
    /// Its API, when it exports `describe` (world `described-handler`): requests are checked
    /// against it before an instance is created.
    pub api: Option<Arc<Api>>,
    runtime: Runtime,
    compiled: Arc<Compiled>,
    context: LoadContext,
    policy: Box<dyn InstancePolicy>,
    hooks: Vec<Hook>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl LoadedComponent {
    /// Compiles the component, checks it against the world, and asks for its message types.
    pub async fn load(
        runtime: &Runtime,
        spec: &ComponentSpec,
        context: LoadContext,
    ) -> Result<Self, LoadError> {
        let path = spec.path.as_path();
        let compiled = runtime
            .compiled
            .get(&runtime.engine, &runtime.linker, path)
            .map_err(|e| match e {
                CompileError::Compile(reason) => LoadError::Compile {
                    path: path.to_path_buf(),
                    reason,
                },
                CompileError::World(reason) => LoadError::World {
                    path: path.to_path_buf(),
                    reason,
                },
            })?;
        let policy: Box<dyn InstancePolicy> = match spec.lifecycle {
            Lifecycle::Fresh => Box::new(Fresh),
            Lifecycle::Pooled => Box::new(Pooled::new(spec.max_uses, spec.pool_size)),
            Lifecycle::Connection => Box::new(PerConnection {
                component: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            }),
        };
        let mut loaded = Self {
            name: display_name(path),
            spec: spec.clone(),
            message_types: Vec::new(),
            api: None,
            runtime: runtime.clone(),
            hooks: compiled.hooks.clone(),
            compiled: compiled.clone(),
            context,
            policy,
        };
        let (types, description) = loaded.ask(compiled.describes).await?;
        loaded.message_types = types;
        if let Some(json) = description {
            let describe = |reason: String| LoadError::Describe {
                path: path.to_path_buf(),
                reason,
            };
            let api = Api::parse(&json).map_err(describe)?;
            if let Some(t) = api.types.keys().find(|t| !loaded.message_types.contains(t)) {
                return Err(describe(format!(
                    "describe: {t:?} is not one of message-types {:?}",
                    loaded.message_types
                )));
            }
            // An SDK exports both hooks; only those it says it implements are called.
            loaded.hooks.retain(|h| api.has_hook(h.export()));
            loaded.api = Some(Arc::new(api));
        }
        Ok(loaded)
    }

    /// Calls `message-types` (and `describe`, when exported) in one load-time instance.
    async fn ask(&self, describes: bool) -> Result<(Vec<String>, Option<String>), LoadError> {
        let path = self.spec.path.as_path();
        let caller = CallerInfo::new("(loading)".into(), self.name.clone());
        let deadline = Deadline::start(&self.context.limits);
        let mut described = None;
        let types = deadline
            .enforce(async {
                let mut instance = self.instantiate(caller, &deadline).await?;
                let types = instance
                    .handler
                    .call_message_types(&mut instance.store)
                    .await
                    .map_err(|e| classify(e, &instance.store, &deadline, Phase::Call))?;
                if describes {
                    let store = &mut instance.store;
                    let describe = instance
                        .raw
                        .get_typed_func::<(), (String,)>(&mut *store, DESCRIBE)
                        .map_err(|e| InvokeError::Trap(format!("describe: {e:#}")))?;
                    let (json,) = describe
                        .call_async(&mut *store, ())
                        .await
                        .map_err(|e| classify(e, store, &deadline, Phase::Call))?;
                    described = Some(json);
                }
                Ok(types)
            })
            .await
            .map_err(|e| LoadError::MessageTypes {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let types = check_types(types).map_err(|reason| LoadError::MessageTypes {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok((types, described))
    }
}

fn check_types(types: Vec<String>) -> Result<Vec<String>, String> {
    if types.is_empty() {
        return Err("returned no message types".into());
    }
    if let Some(bad) = types.iter().find(|t| t.is_empty() || t.len() > 256) {
        return Err(format!("invalid message type {bad:?}"));
    }
    Ok(types)
}

impl LoadedComponent {
    /// A new instance in a new store armed with `deadline`.
    async fn instantiate(
        &self,
        caller: CallerInfo,
        deadline: &Deadline,
    ) -> Result<Instance, InvokeError> {
        let limits = &self.context.limits;
        let state = HostState::new(caller, limits, &self.context.capabilities)
            .map_err(|e| InvokeError::Trap(format!("preparing the sandbox: {e:#}")))?;
        let mut store = Store::new(&self.runtime.engine, state);
        store.limiter(|state| &mut state.limiter);
        deadline.arm(&mut store, limits, self.runtime.fuel_enabled);
        let raw = match self
            .compiled
            .pre
            .instance_pre()
            .instantiate_async(&mut store)
            .await
        {
            Ok(raw) => raw,
            Err(e) => return Err(classify(e, &store, deadline, Phase::Instantiate)),
        };
        match Handler::new(&mut store, &raw) {
            Ok(handler) => Ok(Instance {
                store,
                handler,
                raw,
                uses: 0,
            }),
            Err(e) => Err(classify(e, &store, deadline, Phase::Instantiate)),
        }
    }

    /// An instance for one call: a kept one (re-armed, told its new caller) or a new one.
    async fn acquire(
        &self,
        caller: &CallerInfo,
        deadline: &Deadline,
        connection: &mut ConnectionInstances,
    ) -> Result<Instance, InvokeError> {
        if let Some(mut instance) = self.policy.take(connection) {
            let limits = &self.context.limits;
            let state = instance.store.data_mut();
            state.caller = caller.clone();
            state.limiter.reset();
            deadline.arm(&mut instance.store, limits, self.runtime.fuel_enabled);
            return Ok(instance);
        }
        (self.context.on_instance)(self.spec.lifecycle);
        self.instantiate(caller.clone(), deadline).await
    }

    /// Runs one message on an instance chosen by the lifecycle, within the tenant's deadline
    /// (which also bounds time spent blocked in host calls). `connection` holds this
    /// connection's instances for the `connection` lifecycle.
    pub async fn invoke(
        &self,
        call: Invocation<'_>,
        max_reply_bytes: usize,
        connection: &mut ConnectionInstances,
    ) -> Result<Response, InvokeError> {
        let deadline = Deadline::start(&self.context.limits);
        let mut instance = deadline
            .enforce(self.acquire(&call.caller, &deadline, connection))
            .await?;
        instance.uses += 1;
        let result = deadline
            .enforce(async {
                instance
                    .handler
                    .call_handle(&mut instance.store, call.msg_type, call.data, call.user)
                    .await
                    .map_err(|e| classify(e, &instance.store, &deadline, Phase::Call))
            })
            .await;
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(handler_error)) => {
                // The guest's own error leaves the instance usable.
                self.policy.keep(instance, connection);
                return Err(InvokeError::Handler(handler_error));
            }
            Err(e) => return Err(e),
        };
        check_reply(&response, max_reply_bytes)?;
        self.policy.keep(instance, connection);
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
    ) -> Result<(), InvokeError> {
        let deadline = Deadline::start(&self.context.limits);
        (self.context.on_instance)(self.spec.lifecycle);
        deadline
            .enforce(async {
                let mut instance = self.instantiate(caller, &deadline).await?;
                let store = &mut instance.store;
                let exported = instance
                    .raw
                    .get_typed_func::<(Option<User>,), ()>(&mut *store, hook.export())
                    .map_err(|e| InvokeError::Trap(format!("{}: {e:#}", hook.export())))?;
                exported
                    .call_async(&mut *store, (user.cloned(),))
                    .await
                    .map_err(|e| classify(e, store, &deadline, Phase::Call))
            })
            .await
    }

    /// Idle pooled instances right now (for tests and metrics).
    pub fn pooled_idle(&self) -> usize {
        self.policy.idle()
    }
}

/// Every byte a guest hands back counts against the reply limit, its `Type` included; `data`
/// must be JSON.
fn check_reply(response: &Response, max_reply_bytes: usize) -> Result<(), InvokeError> {
    if response.data.len() + response.msg_type.len() > max_reply_bytes {
        return Err(InvokeError::Limit("reply size limit"));
    }
    if serde_json::from_str::<&serde_json::value::RawValue>(&response.data).is_err() {
        return Err(InvokeError::InvalidReply("data is not JSON".into()));
    }
    Ok(())
}

fn display_name(path: &Path) -> Arc<str> {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "component".into())
        .into()
}
