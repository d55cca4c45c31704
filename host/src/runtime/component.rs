//! One loaded handler component: compiled once, pre-instantiated, asked for its message types
//! at load time, and invoked in a fresh store per call with a deadline and memory cap.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::Component;
use wasmtime::{Store, Trap, UpdateDeadline};

use super::bindings::{HandlerError, HandlerPre, Response, User};
use super::engine::Runtime;
use super::host::{CallerInfo, HostState};
use super::limits::Limits;

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
    /// The call ran past its deadline.
    #[error("the handler ran past its {0} ms deadline")]
    Timeout(u128),
    /// The guest hit a resource limit (memory, tables, instances).
    #[error("the handler exceeded its {0}")]
    Limit(&'static str),
    /// The guest trapped (panic, unreachable, stack overflow, ...).
    #[error("the handler failed: {0}")]
    Trap(String),
    /// The guest returned a reply the host cannot send (not JSON, too large).
    #[error("the handler returned an invalid reply: {0}")]
    InvalidReply(String),
}

/// The inputs of one call.
pub struct Invocation<'a> {
    /// The request's `Type`.
    pub msg_type: &'a str,
    /// JSON text of the request's `Data`.
    pub data: &'a str,
    /// The authenticated user, converted to the WIT record.
    pub user: Option<&'a User>,
    /// Tenant, component and session of the caller.
    pub caller: CallerInfo,
}

/// A compiled, pre-instantiated handler component.
pub struct LoadedComponent {
    /// Display name (file stem), used in logs.
    pub name: Arc<str>,
    /// Where it was loaded from.
    pub path: PathBuf,
    /// The `Type`s it handles, from `message-types`.
    pub message_types: Vec<String>,
    runtime: Runtime,
    pre: HandlerPre<HostState>,
}

impl LoadedComponent {
    /// Compiles `path`, checks it against the world, and asks it for its message types.
    pub async fn load(runtime: &Runtime, path: &Path, limits: &Limits) -> Result<Self, LoadError> {
        let err = |reason: String| (path.to_path_buf(), reason);
        let component = Component::from_file(&runtime.engine, path).map_err(|e| {
            let (path, reason) = err(format!("{e:#}"));
            LoadError::Compile { path, reason }
        })?;
        let world = |e: wasmtime::Error| {
            let (path, reason) = err(format!("{e:#}"));
            LoadError::World { path, reason }
        };
        let instance_pre = runtime.linker.instantiate_pre(&component).map_err(world)?;
        let pre = HandlerPre::new(instance_pre).map_err(world)?;
        let name: Arc<str> = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "component".into())
            .into();
        let mut loaded = Self {
            name,
            path: path.to_path_buf(),
            message_types: Vec::new(),
            runtime: runtime.clone(),
            pre,
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
            tenant: "(loading)".into(),
            component: self.name.clone(),
            init_data: None,
        };
        let mut store = self.new_store(caller, limits);
        let handler = self
            .pre
            .instantiate_async(&mut store)
            .await
            .map_err(|e| format!("instantiating: {e:#}"))?;
        let types = handler
            .call_message_types(&mut store)
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

    fn new_store(&self, caller: CallerInfo, limits: &Limits) -> Store<HostState> {
        let mut store = Store::new(&self.runtime.engine, HostState::new(caller, limits));
        store.limiter(|state| &mut state.limiter);
        let deadline = Instant::now() + limits.timeout;
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= deadline {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // Let other connections run while a long call continues.
                Ok(UpdateDeadline::Yield(1))
            }
        });
        store
    }

    /// Runs one message in a fresh instance. `max_reply_bytes` bounds the reply's data.
    pub async fn invoke(
        &self,
        call: Invocation<'_>,
        limits: &Limits,
        max_reply_bytes: usize,
    ) -> Result<Response, InvokeError> {
        let mut store = self.new_store(call.caller, limits);
        let result = async {
            let handler = self.pre.instantiate_async(&mut store).await?;
            handler
                .call_handle(&mut store, call.msg_type, call.data, call.user)
                .await
        }
        .await;
        let response = match result {
            Ok(Ok(response)) => response,
            Ok(Err(handler_error)) => return Err(InvokeError::Handler(handler_error)),
            Err(e) => return Err(classify(e, &store, limits)),
        };
        if response.data.len() > max_reply_bytes {
            return Err(InvokeError::Limit("reply size limit"));
        }
        if serde_json::from_str::<&serde_json::value::RawValue>(&response.data).is_err() {
            return Err(InvokeError::InvalidReply("data is not JSON".into()));
        }
        Ok(response)
    }
}

fn classify(e: wasmtime::Error, store: &Store<HostState>, limits: &Limits) -> InvokeError {
    match e.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => InvokeError::Timeout(limits.timeout.as_millis()),
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
