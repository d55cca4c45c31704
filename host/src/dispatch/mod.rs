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

/// Close code for a failed first-message authentication.
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;

/// Why and how to end a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The close code (always a sendable one).
    pub code: u16,
    /// The reason (at most 123 bytes).
    pub reason: String,
}

impl Close {
    fn new(code: u16, reason: &str) -> Self {
        Self {
            code,
            reason: truncate_reason(reason),
        }
    }

    /// A frame over the tenant's message size limit.
    pub fn too_big(detail: &str) -> Self {
        Self::new(1009, &format!("message too big: {detail}"))
    }

    /// A text frame that is not UTF-8 (RFC 6455 §8.1).
    pub fn not_utf8() -> Self {
        Self::new(1007, "text frame is not valid UTF-8")
    }

    /// The first-message authentication did not come in time.
    pub fn auth_timed_out() -> Self {
        Self::new(CLOSE_UNAUTHENTICATED, "authentication timed out")
    }

    /// The client was silent past the idle limit.
    pub fn idle() -> Self {
        Self::new(1001, "idle")
    }

    /// The server is stopping.
    pub fn shutting_down() -> Self {
        Self::new(1001, "server shutting down")
    }

    /// The user already has as many connections as the tenant allows.
    pub fn too_many_for_user() -> Self {
        Self::new(1008, "too many connections for this user")
    }

    /// The client's push queue overflowed.
    pub fn slow_consumer() -> Self {
        Self::new(1008, "too slow: push queue full")
    }
}

/// What one frame produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Envelopes to send, in order.
    pub replies: Vec<String>,
    /// Close after sending them.
    pub close: Option<Close>,
    /// The frame authenticated the connection (first-message auth).
    pub authenticated: bool,
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
        }
        let raw = serde_json::from_str::<AuthData>(request.data)
            .map(|d| d.init_data)
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

/// A close code a handler may ask for: 1000–1003, 1007–1014 and 3000–4999. Anything else
/// (including the reserved 1005/1006/1015, which must never be sent) becomes 1008.
pub fn valid_close_code(code: Option<u16>) -> u16 {
    code.filter(|c| matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999))
        .unwrap_or(1008)
}

/// Close reasons are limited to 123 bytes by the protocol.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sendable_close_codes_pass() {
        assert_eq!(valid_close_code(Some(4000)), 4000);
        assert_eq!(valid_close_code(Some(1000)), 1000);
        for bad in [
            None,
            Some(1005),
            Some(1006),
            Some(1015),
            Some(999),
            Some(2000),
            Some(5000),
        ] {
            assert_eq!(valid_close_code(bad), 1008, "{bad:?}");
        }
    }

    #[test]
    fn close_reasons_fit_the_frame() {
        assert_eq!(truncate_reason(&"é".repeat(100)).len(), 122);
        assert!(Close::too_big(&"x".repeat(500)).reason.len() <= 123);
    }
}
