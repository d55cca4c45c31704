//! One call into a guest: its inputs, its deadline (armed once per call, wall-clock over
//! instantiation, guest code and time blocked in host calls alike), and the classification of
//! what went wrong into an [`InvokeError`], from typed errors only.

use std::time::{Duration, Instant};

use wasmtime::component::ResourceTableError;
use wasmtime::{PoolConcurrencyLimitError, Store, Trap, UpdateDeadline};

use super::host::HostState;
use super::limits::Limits;
use crate::capabilities::CallerInfo;
use crate::wit::{HandlerError, User};

/// Why one call did not produce a response.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    /// The guest returned its own `handler-error`.
    #[error("{}", .0.message)]
    Handler(HandlerError),
    /// The call ran past its deadline or its fuel.
    #[error("the handler ran past its {0}")]
    Timeout(String),
    /// The guest hit a resource limit (memory, stack, tables, instances, host resources,
    /// reply size).
    #[error("the handler exceeded its {0}")]
    Limit(&'static str),
    /// The guest trapped (panic, unreachable, out-of-bounds access, ...).
    #[error("the handler failed: {0}")]
    Trap(String),
    /// The guest returned a reply the host cannot send (not JSON).
    #[error("the handler returned an invalid reply: {0}")]
    InvalidReply(String),
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

/// The wall-clock end of one call.
#[derive(Debug, Clone, Copy)]
pub struct Deadline {
    at: Instant,
    timeout: Duration,
}

impl Deadline {
    /// A deadline `limits.timeout` from now.
    pub fn start(limits: &Limits) -> Self {
        Self {
            at: Instant::now() + limits.timeout,
            timeout: limits.timeout,
        }
    }

    /// The error of a call that ran past it.
    pub fn expired(&self) -> InvokeError {
        InvokeError::Timeout(format!("{} ms deadline", self.timeout.as_millis()))
    }

    /// Runs `call` to completion or until the deadline, whichever comes first. Epoch
    /// interruption stops guest code; this stops everything else (a guest blocked in a host
    /// call: a WASI sleep, a slow store). Dropping the call's future unwinds the guest; the
    /// caller discards its instance.
    pub async fn enforce<T>(
        &self,
        call: impl Future<Output = Result<T, InvokeError>>,
    ) -> Result<T, InvokeError> {
        match tokio::time::timeout_at(self.at.into(), call).await {
            Ok(result) => result,
            Err(_) => Err(self.expired()),
        }
    }

    /// Arms `store` for this call: the epoch callback traps past the deadline and otherwise
    /// yields to the scheduler at every tick; fuel is refilled when the engine meters it.
    pub fn arm(&self, store: &mut Store<HostState>, limits: &Limits, fuel_enabled: bool) {
        let at = self.at;
        store.data_mut().caller.deadline = Some(at);
        store.set_epoch_deadline(1);
        store.epoch_deadline_callback(move |_| {
            if Instant::now() >= at {
                Ok(UpdateDeadline::Interrupt)
            } else {
                // Let other connections run while a long call continues. tokio's own yield
                // puts the task at the back of the queue; a plain self-wake would land in the
                // worker's LIFO slot and be polled again at once, starving everyone else.
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
}

/// Where in a call an error happened: instantiation can only fail on limits or traps in start
/// functions, a call on anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Creating the instance.
    Instantiate,
    /// Running an export.
    Call,
}

/// Classifies a wasmtime error by its type (never its text).
pub fn classify(
    e: wasmtime::Error,
    store: &Store<HostState>,
    deadline: &Deadline,
    phase: Phase,
) -> InvokeError {
    let limiter = &store.data().limiter;
    if let Some(trap) = e.downcast_ref::<Trap>() {
        return match trap {
            Trap::Interrupt => deadline.expired(),
            Trap::OutOfFuel => InvokeError::Timeout("fuel".into()),
            Trap::StackOverflow => InvokeError::Limit("stack limit"),
            _ if limiter.memory_refused => InvokeError::Limit("memory limit"),
            _ if limiter.table_refused => InvokeError::Limit("table limit"),
            trap => InvokeError::Trap(trap.to_string()),
        };
    }
    if limiter.memory_refused {
        return InvokeError::Limit("memory limit");
    }
    if limiter.table_refused {
        return InvokeError::Limit("table limit");
    }
    if e.downcast_ref::<PoolConcurrencyLimitError>().is_some() {
        return InvokeError::Limit("instance limit (the server's instance pool is full)");
    }
    if e.downcast_ref::<ResourceTableError>()
        .is_some_and(|r| matches!(r, ResourceTableError::Full))
    {
        return InvokeError::Limit("host resource limit (too many open handles)");
    }
    match phase {
        // Linking was checked at load time: what is left at instantiation is the per-store
        // limit on core instances, memories and tables.
        Phase::Instantiate => InvokeError::Limit("instance limit"),
        Phase::Call => InvokeError::Trap(root_cause(&e)),
    }
}

/// The innermost message of an error chain: the cause a client can act on, not the
/// "error while executing at wasm backtrace" wrapper.
fn root_cause(e: &wasmtime::Error) -> String {
    let cause = e.root_cause().to_string();
    let first = cause.lines().next().unwrap_or("").trim();
    if first.is_empty() {
        "the guest stopped with an error it did not describe".into()
    } else {
        first.to_string()
    }
}
