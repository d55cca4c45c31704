//! One connection's messages, without the socket: a frame in, the replies to send and whether
//! to close out. Admission (rate, concurrency), first-message authentication, routing by
//! `Type` (fan-out in order), invocation, metrics, and the close policy all live here, so every
//! row of the error table can be tested without a network.

use std::sync::Arc;
use std::time::Instant;

use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::{AUTH_MESSAGE_TYPE, Session};
use crate::envelope::{self, EnvelopeError, ErrorCode};
use crate::push::ConnectionId;
use crate::runtime::bindings::User;
use crate::runtime::host::to_wit_user;
use crate::runtime::{
    CallerInfo, ConnectionInstances, Hook, Invocation, InvokeError, LoadedComponent,
};
use crate::tenants::{Tenant, TokenBucket};

mod close;
pub use close::{CLOSE_UNAUTHENTICATED, Close, valid_close_code};

/// What one frame produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Envelopes to send, in order.
    pub replies: Vec<String>,
    /// Close after sending them.
    pub close: Option<Close>,
    /// The frame authenticated the connection (first-message auth).
    pub authenticated: bool,
    /// The `resume` of that `Auth` message, when it had one (see [`crate::resume`]).
    pub resume: Option<crate::resume::Requested>,
}

impl Outcome {
    fn reply(text: String) -> Self {
        Self {
            replies: vec![text],
            ..Self::default()
        }
    }

    fn close(close: Close) -> Self {
        Self {
            close: Some(close),
            ..Self::default()
        }
    }
}

/// The authenticated identity of a connection.
struct Identity {
    session: Session,
    /// The user as the WIT record, converted once.
    wit_user: Option<User>,
}

/// A connection's message handling.
pub struct Dispatcher {
    tenant: Arc<Tenant>,
    identity: Option<Identity>,
    bucket: TokenBucket,
    instances: ConnectionInstances,
    connection: Option<ConnectionId>,
}

impl Dispatcher {
    /// A dispatcher for a connection of `tenant`; `session` is `None` until a first-message
    /// authentication succeeds.
    pub fn new(tenant: Arc<Tenant>, session: Option<Session>) -> Self {
        let limits = tenant.limits();
        let bucket = TokenBucket::new(limits.rate_per_second, limits.rate_burst);
        Self {
            identity: session.map(identity),
            tenant,
            bucket,
            instances: ConnectionInstances::default(),
            connection: None,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }

    /// The session, once authenticated.
    pub fn session(&self) -> Option<&Session> {
        self.identity.as_ref().map(|i| &i.session)
    }

    /// Tells calls which connection they come from (for `push.subscribe`).
    pub fn attach(&mut self, connection: ConnectionId) {
        self.connection = Some(connection);
    }

    /// Handles a binary frame: UTF-8 JSON like a text frame.
    pub async fn on_binary(&mut self, bytes: &[u8]) -> Outcome {
        match std::str::from_utf8(bytes) {
            Ok(text) => self.on_text(text).await,
            Err(_) => {
                self.count("invalid", "invalid_message");
                let message = EnvelopeError::NotUtf8.to_string();
                Outcome::reply(envelope::error(ErrorCode::InvalidMessage, &message, None))
            }
        }
    }

    /// Handles one text frame.
    pub async fn on_text(&mut self, text: &str) -> Outcome {
        if text.len() > self.tenant.max_message_bytes {
            return Outcome::close(Close::too_big(&format!(
                "{} bytes, the limit is {}",
                text.len(),
                self.tenant.max_message_bytes
            )));
        }
        let request = match envelope::parse(text) {
            Ok(r) => r,
            Err(e) => {
                self.count("invalid", "invalid_message");
                let message = e.to_string();
                return Outcome::reply(envelope::error(ErrorCode::InvalidMessage, &message, None));
            }
        };
        if !self.bucket.take(Instant::now()) {
            self.count("any", "rate_limited");
            let message = "too many messages: slow down";
            return Outcome::reply(envelope::error(ErrorCode::RateLimited, message, request.id));
        }
        if self.identity.is_none() {
            return self.first_message(&request);
        }
        let routing = self.tenant.routing();
        let handlers = routing.handlers(&request.msg_type);
        if handlers.is_empty() {
            self.count("unknown", "unknown_type");
            let message = format!("no handler for Type {:?}", request.msg_type);
            return Outcome::reply(envelope::error(
                ErrorCode::UnknownType,
                &message,
                request.id,
            ));
        }
        let mut outcome = Outcome::default();
        for component in handlers {
            let reply = self.call(component, &request).await;
            outcome.replies.push(reply.0);
            if reply.1.is_some() {
                outcome.close = reply.1;
                break;
            }
        }
        outcome
    }

    /// Runs `request` on one component: the reply envelope, and a close if the handler asked.
    async fn call(
        &mut self,
        component: &Arc<LoadedComponent>,
        request: &envelope::Request<'_>,
    ) -> (String, Option<Close>) {
        if let Some(api) = &component.api
            && let Err(mismatch) = api.check(&request.msg_type, request.data)
        {
            // Refused before a call slot or an instance is taken.
            self.count(&request.msg_type, "invalid_data");
            let message = format!("invalid {}: {mismatch}", request.msg_type);
            return (
                envelope::error(ErrorCode::InvalidData, &message, request.id),
                None,
            );
        }
        let tenant = self.tenant.clone();
        let Some(permit) = tenant.admit().await else {
            self.count(&request.msg_type, "overloaded");
            let message = "the server is busy: try again shortly";
            return (
                envelope::error(ErrorCode::Overloaded, message, request.id),
                None,
            );
        };
        let identity = self.identity.as_ref().expect("authenticated");
        let call = Invocation {
            msg_type: &request.msg_type,
            data: request.data,
            user: identity.wit_user.as_ref(),
            caller: self.caller(component),
        };
        let span = info_span!("call", r#type = %request.msg_type, component = %component.name);
        let started = Instant::now();
        let result = component
            .invoke(call, tenant.max_message_bytes, &mut self.instances)
            .instrument(span.clone())
            .await;
        drop(permit);
        let elapsed = started.elapsed();
        tenant
            .metrics
            .invocation(&tenant.name, elapsed.as_secs_f64());
        let elapsed_us = elapsed.as_micros() as u64;
        match result {
            Ok(response) => {
                self.count(&request.msg_type, "ok");
                span.in_scope(|| debug!(elapsed_us, "ok"));
                let reply = envelope::reply(&response.msg_type, &response.data, request.id);
                (reply, None)
            }
            Err(e) => {
                let code = error_code(&e);
                self.count(&request.msg_type, code.as_str());
                span.in_scope(|| info!(elapsed_us, error = %e, "call failed"));
                let reply = envelope::error(code, &e.to_string(), request.id);
                let close = match &e {
                    InvokeError::Handler(h) if h.close_connection => {
                        Some(Close::new(valid_close_code(h.close_code), &h.message))
                    }
                    _ => None,
                };
                (reply, close)
            }
        }
    }

    /// Before authentication only `Auth` is accepted.
    fn first_message(&mut self, request: &envelope::Request<'_>) -> Outcome {
        if request.msg_type != AUTH_MESSAGE_TYPE {
            self.count("any", "unauthenticated");
            let message =
                "authenticate first: send {\"Type\":\"Auth\",\"Data\":{\"initData\":\"...\"}}";
            return Outcome::reply(envelope::error(
                ErrorCode::Unauthenticated,
                message,
                request.id,
            ));
        }
        #[derive(serde::Deserialize)]
        struct AuthData {
            #[serde(rename = "initData")]
            init_data: String,
            #[serde(default)]
            resume: Option<serde_json::Value>,
        }
        let (raw, resume) = serde_json::from_str::<AuthData>(request.data)
            .map(|d| (d.init_data, d.resume))
            .unwrap_or_default();
        match self.tenant.auth.validate(&raw) {
            Ok(session) => {
                if let Some(user) = &session.user {
                    tracing::Span::current().record("user", user.id);
                }
                info!("authenticated by first message");
                let user = serde_json::to_string(&session.user).unwrap_or_else(|_| "null".into());
                let data = format!(r#"{{"user":{user}}}"#);
                self.identity = Some(identity(session));
                Outcome {
                    replies: vec![envelope::reply("AuthResponse", &data, request.id)],
                    close: None,
                    authenticated: true,
                    resume: resume.map(|v| crate::resume::from_auth(Some(&v))),
                }
            }
            Err(e) => {
                warn!(reason = e.kind(), "authentication failed");
                self.tenant
                    .metrics
                    .auth_failure(&self.tenant.name, e.kind());
                Outcome::close(Close::new(CLOSE_UNAUTHENTICATED, &e.to_string()))
            }
        }
    }

    /// Calls `hook` on every component of the tenant that exports it; failures are logged.
    pub async fn run_hooks(&mut self, hook: Hook) {
        let Some(identity) = &self.identity else {
            return;
        };
        let routing = self.tenant.routing();
        for component in routing.components.iter().filter(|c| c.has_hook(hook)) {
            let user = identity.wit_user.as_ref();
            if let Err(e) = component
                .call_hook(hook, user, self.caller(component))
                .await
            {
                warn!(component = %component.name, hook = hook.export(), error = %e, "hook failed");
            }
        }
    }

    /// Who is calling `component` from this connection.
    fn caller(&self, component: &LoadedComponent) -> CallerInfo {
        CallerInfo {
            tenant: self.tenant.name.clone(),
            component: component.name.clone(),
            init_data: self
                .identity
                .as_ref()
                .and_then(|i| i.session.init_data.clone()),
            connection: self.connection,
            state: self.tenant.state.clone(),
        }
    }

    fn count(&self, msg_type: &str, outcome: &str) {
        let tenant = &self.tenant;
        tenant.metrics.message(&tenant.name, msg_type, outcome);
    }
}

fn identity(session: Session) -> Identity {
    Identity {
        wit_user: session.user.as_ref().map(to_wit_user),
        session,
    }
}

/// The `HandlerException` code of a failed call.
pub fn error_code(e: &InvokeError) -> ErrorCode {
    match e {
        InvokeError::Handler(_) => ErrorCode::HandlerError,
        InvokeError::Timeout(_) => ErrorCode::Timeout,
        InvokeError::Limit(_) => ErrorCode::Limit,
        InvokeError::Trap(_) | InvokeError::InvalidReply(_) => ErrorCode::HandlerFailed,
    }
}
