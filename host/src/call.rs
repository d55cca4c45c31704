//! One way in: every `Type` that reaches a component — a client's frame, a bot update, a
//! schedule, the `call` subcommand — goes through [`run`], which applies the same checks in
//! the same order: the origin policy ([`crate::origin`]), the handlers that claim the `Type`,
//! each handler's request schema, admission (one call slot for the fan-out), then each
//! invocation under its deadline, with its metrics. Callers only turn the [`Answer`]s into
//! their own reply (an envelope, an update's outcome, the CLI's output).

use std::sync::Arc;
use std::time::Instant;

use tracing::{Instrument, debug, info, info_span};

use crate::auth::InitDataContext;
use crate::capabilities::CallerInfo;
use crate::capabilities::push::ConnectionId;
use crate::envelope::ErrorCode;
use crate::origin::Origin;
use crate::runtime::{ConnectionInstances, Invocation, InvokeError, LoadedComponent};
use crate::tenants::Tenant;
use crate::wit::{Response, User};

/// One `Type` to run, and who is asking.
pub struct Call<'a> {
    /// Where it comes from; decides which `Type`s are allowed.
    pub origin: Origin,
    /// The `Type`.
    pub msg_type: &'a str,
    /// JSON text of `Data`.
    pub data: &'a str,
    /// The user it runs for, as the WIT record.
    pub user: Option<&'a User>,
    /// The caller's validated initData context (client calls with auth).
    pub init_data: Option<Arc<InitDataContext>>,
    /// The calling connection (client calls on a server with push).
    pub connection: Option<ConnectionId>,
}

/// Why a call produced no response. [`CallError::code`] is the `HandlerException` code.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The `Type` is in a namespace reserved for another origin; no handler ran.
    #[error("Type {msg_type:?} is reserved for {sender}: it cannot be sent from here")]
    Forbidden {
        /// The refused `Type`.
        msg_type: String,
        /// Who may send it.
        sender: &'static str,
    },
    /// No component handles the `Type`.
    #[error("no handler for Type {0:?}")]
    UnknownType(String),
    /// `Data` does not match the component's request schema (checked before admission).
    #[error("invalid {msg_type}: {mismatch}")]
    InvalidData {
        /// The `Type`.
        msg_type: String,
        /// What does not match, with its path.
        mismatch: String,
    },
    /// Every call slot is taken and the queue is full; nothing ran.
    #[error("the server is busy: try again shortly")]
    Overloaded,
    /// The invocation failed.
    #[error(transparent)]
    Invoke(#[from] InvokeError),
}

impl CallError {
    /// The `HandlerException` code.
    pub fn code(&self) -> ErrorCode {
        match self {
            CallError::Forbidden { .. } => ErrorCode::ForbiddenType,
            CallError::UnknownType(_) => ErrorCode::UnknownType,
            CallError::InvalidData { .. } => ErrorCode::InvalidData,
            CallError::Overloaded => ErrorCode::Overloaded,
            CallError::Invoke(e) => invoke_code(e),
        }
    }
}

/// The `HandlerException` code of a failed invocation.
pub fn invoke_code(e: &InvokeError) -> ErrorCode {
    match e {
        InvokeError::Handler(_) => ErrorCode::HandlerError,
        InvokeError::Timeout(_) => ErrorCode::Timeout,
        InvokeError::Limit(_) => ErrorCode::Limit,
        InvokeError::Trap(_) | InvokeError::InvalidReply(_) => ErrorCode::HandlerFailed,
    }
}

/// What one component made of a call (or why it did not run).
pub struct Answer {
    /// The component (none when no component was reached).
    pub component: Option<Arc<str>>,
    /// Its response or error.
    pub result: Result<Response, CallError>,
}

impl Answer {
    fn of(component: &LoadedComponent, result: Result<Response, CallError>) -> Self {
        Self {
            component: Some(component.name.clone()),
            result,
        }
    }

    fn refused(error: CallError) -> Self {
        Self {
            component: None,
            result: Err(error),
        }
    }

    /// The handler asked to close the connection: its close code and reason.
    pub fn close_requested(&self) -> Option<(Option<u16>, &str)> {
        match &self.result {
            Err(CallError::Invoke(InvokeError::Handler(h))) if h.close_connection => {
                Some((h.close_code, h.message.as_str()))
            }
            _ => None,
        }
    }
}

/// Runs `call` on every component of `tenant` that handles its `Type`, in configuration
/// order, stopping after a handler that asks to close the connection. A refusal before any
/// component (origin, unknown `Type`) is one answer with no component; when every call slot is
/// taken, each component that would have run answers `Overloaded` and none runs.
/// `instances` are the caller's per-connection instances (for that lifecycle).
pub async fn run(
    tenant: &Arc<Tenant>,
    call: Call<'_>,
    instances: &mut ConnectionInstances,
) -> Vec<Answer> {
    let msg_type = call.msg_type;
    if let Err(reserved) = call.origin.may_send(msg_type) {
        count(tenant, "reserved", "forbidden_type");
        info!(origin = call.origin.as_str(), r#type = %msg_type, "reserved Type refused");
        return vec![Answer::refused(CallError::Forbidden {
            msg_type: msg_type.to_string(),
            sender: reserved.source,
        })];
    }
    let routing = tenant.handlers();
    let handlers = routing.for_type(msg_type);
    if handlers.is_empty() {
        count(tenant, "unknown", "unknown_type");
        return vec![Answer::refused(CallError::UnknownType(msg_type.into()))];
    }
    // Schemas first: a request no component accepts takes no call slot.
    let mismatches: Vec<Option<String>> = handlers
        .iter()
        .map(|c| {
            let api = c.api.as_ref()?;
            api.check(msg_type, call.data).err().map(|m| m.to_string())
        })
        .collect();
    let permit = if mismatches.iter().all(Option::is_some) {
        None
    } else {
        tenant.admit().await
    };
    // In configuration order; a handler that asks to close the connection is the last.
    let mut answers = Vec::with_capacity(handlers.len());
    for (component, mismatch) in handlers.iter().zip(mismatches) {
        let answer = match (mismatch, &permit) {
            (Some(mismatch), _) => {
                count(tenant, msg_type, "invalid_data");
                let msg_type = msg_type.to_string();
                let error = CallError::InvalidData { msg_type, mismatch };
                Answer::of(component, Err(error))
            }
            (None, Some(_)) => invoke(tenant, &call, component, instances).await,
            (None, None) => {
                count(tenant, msg_type, "overloaded");
                Answer::of(component, Err(CallError::Overloaded))
            }
        };
        let close = answer.close_requested().is_some();
        answers.push(answer);
        if close {
            break;
        }
    }
    answers
}

/// One invocation, with its span and metrics.
async fn invoke(
    tenant: &Arc<Tenant>,
    call: &Call<'_>,
    component: &Arc<LoadedComponent>,
    instances: &mut ConnectionInstances,
) -> Answer {
    let caller = CallerInfo {
        tenant: tenant.name.clone(),
        component: component.name.clone(),
        init_data: call.init_data.clone(),
        connection: call.connection,
        origin: call.origin,
        deadline: None,
    };
    let invocation = Invocation {
        msg_type: call.msg_type,
        data: call.data,
        user: call.user,
        caller,
    };
    let span = info_span!("call", r#type = %call.msg_type, component = %component.name, origin = call.origin.as_str());
    let started = Instant::now();
    let result = component
        .invoke(invocation, tenant.ledger.max_frame_bytes, instances)
        .instrument(span.clone())
        .await;
    let elapsed = started.elapsed();
    tenant
        .metrics
        .invocation(&tenant.name, elapsed.as_secs_f64());
    let elapsed_us = elapsed.as_micros() as u64;
    match &result {
        Ok(_) => {
            count(tenant, call.msg_type, "ok");
            span.in_scope(|| debug!(elapsed_us, "ok"));
        }
        Err(e) => {
            count(tenant, call.msg_type, invoke_code(e).as_str());
            span.in_scope(|| info!(elapsed_us, error = %e, "call failed"));
        }
    }
    Answer::of(component, result.map_err(CallError::from))
}

fn count(tenant: &Tenant, msg_type: &str, outcome: &str) {
    tenant.metrics.message(&tenant.name, msg_type, outcome);
}
