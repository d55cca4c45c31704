//! One WebSocket connection: the handshake (tenant routing and authentication, so a refusal
//! is an HTTP error before the upgrade) and the per-connection message loop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::broadcast;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::{self, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::{AUTH_MESSAGE_TYPE, HandshakeAuth, Session};
use crate::envelope::{self, ErrorCode};
use crate::http as plain;
use crate::metrics::{self, metrics};
use crate::push::Mailbox;
use crate::runtime::component::Hook;
use crate::runtime::host::CallerInfo;
use crate::runtime::{ConnectionInstances, Invocation, InvokeError, LoadedComponent};
use crate::tenants::{ConnectionSlot, Tenant, Tenants};

/// How long a client may take to complete the HTTP upgrade.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Keep-alive: a ping after this much silence; a connection silent for three of these is
/// closed.
const PING_INTERVAL: Duration = Duration::from_secs(30);
/// A push the client does not take within this time cuts it off as a slow consumer.
const PUSH_SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Close code for a failed first-message authentication.
const CLOSE_UNAUTHENTICATED: u16 = 4401;

/// State shared by every connection of a server.
pub struct Shared {
    /// The tenants; replaced as a whole when the configuration is reloaded (SIGHUP).
    /// Connections keep the tenant they were accepted by.
    tenants: std::sync::RwLock<Arc<Tenants>>,
    /// Largest frame any tenant accepts (the socket-level limit).
    pub max_frame_bytes: usize,
}

impl Shared {
    /// State for these tenants.
    pub fn new(tenants: Tenants, max_frame_bytes: usize) -> Self {
        Self {
            tenants: std::sync::RwLock::new(Arc::new(tenants)),
            max_frame_bytes,
        }
    }

    /// The current tenants.
    pub fn tenants(&self) -> Arc<Tenants> {
        self.tenants.read().expect("tenants lock").clone()
    }

    /// Replaces the tenants for new connections.
    pub fn replace_tenants(&self, tenants: Tenants) {
        *self.tenants.write().expect("tenants lock") = Arc::new(tenants);
    }
}

/// Serves one accepted TCP connection to the end, logging (not returning) its errors.
pub async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    shutdown: broadcast::Receiver<()>,
) {
    let span = info_span!(
        "conn",
        %peer,
        tenant = tracing::field::Empty,
        user = tracing::field::Empty
    );
    async move {
        match handle(stream, &shared, shutdown).await {
            Ok(()) => debug!("connection closed"),
            Err(e) => debug!(error = %e, "connection ended"),
        }
    }
    .instrument(span)
    .await
}

async fn handle(
    stream: TcpStream,
    shared: &Shared,
    shutdown: broadcast::Receiver<()>,
) -> Result<(), WsError> {
    match plain::peek(&stream, HANDSHAKE_TIMEOUT).await? {
        plain::Peeked::Upgrade => {}
        plain::Peeked::Plain {
            method,
            target,
            host,
            head_len,
        } => {
            debug!(%method, %target, "http request");
            let tenants = shared.tenants();
            plain::serve(
                stream,
                &tenants,
                &method,
                &target,
                host.as_deref(),
                head_len,
            )
            .await?;
            return Ok(());
        }
    }
    let mut decided: Option<Decided> = None;
    let tenants = shared.tenants();
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| {
        handshake(&tenants, request, response, &mut decided)
    };
    // tungstenite zero-fills its whole read buffer on every read: the default 128 KiB made each
    // idle connection cost ~135 KiB of RSS; 4 KiB costs ~11 KiB (docs/benchmarks.md).
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .max_message_size(Some(shared.max_frame_bytes))
        .max_frame_size(Some(shared.max_frame_bytes));
    let upgrade = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config));
    let ws = match tokio::time::timeout(HANDSHAKE_TIMEOUT, upgrade).await {
        Ok(ws) => ws?,
        Err(_) => return Err(WsError::Io(std::io::ErrorKind::TimedOut.into())),
    };
    let Some((tenant, auth, slot)) = decided else {
        return Ok(());
    };
    let span = tracing::Span::current();
    span.record("tenant", &*tenant.name);
    let (session, auth_deadline) = match auth {
        HandshakeAuth::Done(session) => (Some(*session), None),
        HandshakeAuth::AwaitFirstMessage => (
            None,
            Some(Instant::now() + tenant.auth.first_message_timeout),
        ),
    };
    if let Some(s) = &session {
        record_user(s);
    }
    info!(authenticated = session.is_some(), "connected");
    let bucket = TokenBucket::new(tenant.limits.rate_per_second, tenant.limits.rate_burst);
    Connection {
        ws,
        tenant,
        session,
        shutdown,
        instances: ConnectionInstances::default(),
        mailbox: None,
        bucket,
        _slot: slot,
    }
    .run(auth_deadline)
    .await
}

/// What the handshake decided: the tenant, the authentication outcome and the connection's
/// place in the tenant's connection limit.
type Decided = (Arc<Tenant>, HandshakeAuth, ConnectionSlot);

/// The handshake callback: route to a tenant, authenticate, choose the subprotocol.
/// (The error type is tungstenite's.)
#[allow(clippy::result_large_err)]
fn handshake(
    tenants: &Tenants,
    request: &Request,
    mut response: Response,
    decided: &mut Option<Decided>,
) -> Result<Response, ErrorResponse> {
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok());
    let Some(tenant) = tenants.find(request.uri().path(), host) else {
        info!(path = request.uri().path(), "no tenant serves this path");
        return Err(http_error(
            StatusCode::NOT_FOUND,
            "no tenant serves this path",
        ));
    };
    match tenant.auth.at_handshake(request) {
        Ok((auth, subprotocol)) => {
            let Some(slot) = tenant.open_connection() else {
                warn!(tenant = &*tenant.name, "connection limit reached");
                return Err(http_error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many connections for this app, try again later",
                ));
            };
            if let Some(p) = subprotocol.and_then(|p| http::HeaderValue::from_str(&p).ok()) {
                response
                    .headers_mut()
                    .insert(header::SEC_WEBSOCKET_PROTOCOL, p);
            }
            *decided = Some((tenant.clone(), auth, slot));
            Ok(response)
        }
        Err(e) => {
            warn!(
                tenant = &*tenant.name,
                reason = e.kind(),
                "authentication failed"
            );
            metrics().auth_failure(&tenant.name, e.kind());
            Err(http_error(StatusCode::UNAUTHORIZED, &e.to_string()))
        }
    }
}

fn http_error(status: StatusCode, reason: &str) -> ErrorResponse {
    let mut response = ErrorResponse::new(Some(format!("{reason}\n")));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn record_user(session: &Session) {
    if let Some(user) = &session.user {
        tracing::Span::current().record("user", user.id);
    }
}

/// A connection after the upgrade.
struct Connection {
    ws: WebSocketStream<TcpStream>,
    tenant: Arc<Tenant>,
    /// `None` until a first-message authentication succeeds.
    session: Option<Session>,
    shutdown: broadcast::Receiver<()>,
    /// Instances of `connection`-lifecycle components, dropped with the connection.
    instances: ConnectionInstances,
    /// The per-connection message rate limit.
    bucket: TokenBucket,
    /// Pushes for this connection (registered once authenticated, when the server has state).
    mailbox: Option<Mailbox>,
    _slot: ConnectionSlot,
}

/// A token bucket: `burst` messages at once, refilled at `rate` per second.
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Why and how to end a connection.
struct Close {
    code: u16,
    reason: String,
}

impl Connection {
    async fn run(mut self, auth_deadline: Option<Instant>) -> Result<(), WsError> {
        if self.session.is_some() {
            self.on_authenticated().await;
        }
        let result = match self.serve(auth_deadline).await {
            Ok(Some(close)) => self.close(close).await,
            Ok(None) => Ok(()),
            Err(e) => Err(e),
        };
        self.run_hooks(Hook::Disconnect).await;
        result
    }

    /// Registers for pushes and runs the `on-connect` hooks.
    async fn on_authenticated(&mut self) {
        if let (Some(state), Some(session)) = (&self.tenant.state, &self.session) {
            let user = session.user.as_ref().map(|u| u.id);
            self.mailbox = Some(state.bus.hub().register(self.tenant.name.clone(), user));
        }
        self.run_hooks(Hook::Connect).await;
    }

    /// Calls `hook` on every component of the tenant that exports it; failures are logged.
    async fn run_hooks(&mut self, hook: Hook) {
        let Some(session) = self.session.clone() else {
            return;
        };
        let routing = self.tenant.routing();
        for component in routing.components.iter().filter(|c| c.has_hook(hook)) {
            let caller = self.caller(component, &session);
            let user = session.wit_user.as_ref();
            if let Err(e) = component
                .call_hook(hook, user, caller, &self.tenant.limits)
                .await
            {
                warn!(component = %component.name, hook = hook.export(), error = %e, "hook failed");
            }
        }
    }

    /// Who is calling `component` from this connection.
    fn caller(&self, component: &LoadedComponent, session: &Session) -> CallerInfo {
        CallerInfo {
            tenant: self.tenant.name.clone(),
            component: component.name.clone(),
            init_data: session.init_data.clone(),
            connection: self.mailbox.as_ref().map(|m| m.id),
            state: self.tenant.state.clone(),
        }
    }

    /// The message loop; returns the close to send, or none when the client went away.
    async fn serve(&mut self, auth_deadline: Option<Instant>) -> Result<Option<Close>, WsError> {
        let auth_timer = tokio::time::sleep_until(
            auth_deadline.map_or_else(far_future, tokio::time::Instant::from_std),
        );
        tokio::pin!(auth_timer);
        let mut ping = tokio::time::interval(PING_INTERVAL);
        ping.reset();
        let mut last_seen = Instant::now();
        let close = loop {
            let overflow = self.mailbox.as_ref().map(|m| m.overflowed.clone());
            tokio::select! {
                frame = self.ws.next() => {
                    last_seen = Instant::now();
                    let text = match frame {
                        None => return Ok(None),
                        Some(Ok(Message::Text(t))) => t.as_str().to_owned(),
                        Some(Ok(Message::Binary(b))) => match String::from_utf8(b.to_vec()) {
                            Ok(t) => t,
                            Err(_) => {
                                let e = envelope::EnvelopeError::NotUtf8;
                                self.send(envelope::error(ErrorCode::InvalidMessage, &e.to_string(), None)).await?;
                                continue;
                            }
                        },
                        Some(Ok(Message::Close(_))) => return Ok(None),
                        Some(Ok(_)) => continue,
                        Some(Err(WsError::Capacity(e))) => break Close {
                            code: 1009,
                            reason: format!("message too big: {e}"),
                        },
                        Some(Err(e)) => return Err(e),
                    };
                    if text.len() > self.tenant.max_message_bytes {
                        break Close { code: 1009, reason: "message too big".into() };
                    }
                    if let Some(close) = self.on_text(&text).await? {
                        break close;
                    }
                }
                () = &mut auth_timer, if self.session.is_none() => break Close {
                    code: CLOSE_UNAUTHENTICATED,
                    reason: "authentication timed out".into(),
                },
                _ = ping.tick() => {
                    if last_seen.elapsed() > PING_INTERVAL * 3 {
                        break Close { code: 1001, reason: "idle".into() };
                    }
                    self.ws.send(Message::Ping(Vec::new().into())).await?;
                }
                _ = self.shutdown.recv() => break Close {
                    code: 1001,
                    reason: "server shutting down".into(),
                },
                Some(text) = next_push(&mut self.mailbox) => {
                    let overflow = overflow.clone();
                    tokio::select! {
                        sent = self.ws.send(Message::text(text)) => sent?,
                        () = notified(overflow) => break slow_consumer(),
                        () = tokio::time::sleep(PUSH_SEND_TIMEOUT) => break slow_consumer(),
                    }
                }
                () = notified(overflow.clone()) => {
                    break slow_consumer();
                }
            }
        };
        Ok(Some(close))
    }

    async fn send(&mut self, text: String) -> Result<(), WsError> {
        self.ws.send(Message::text(text)).await
    }

    async fn close(&mut self, close: Close) -> Result<(), WsError> {
        debug!(code = close.code, reason = %close.reason, "closing");
        let frame = CloseFrame {
            code: CloseCode::from(close.code),
            reason: close.reason.into(),
        };
        // A client that stopped reading may never take the close frame: don't wait forever.
        match tokio::time::timeout(Duration::from_secs(2), self.ws.close(Some(frame))).await {
            Ok(Ok(()) | Err(WsError::ConnectionClosed)) | Err(_) => {}
            Ok(Err(e)) => return Err(e),
        }
        // Wait briefly for the client's close reply so the TCP connection ends cleanly.
        let drain = async { while let Some(Ok(_)) = self.ws.next().await {} };
        let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
        Ok(())
    }

    /// Handles one text message; returns `Some` when the connection must close.
    async fn on_text(&mut self, text: &str) -> Result<Option<Close>, WsError> {
        let tenant = self.tenant.clone();
        let count =
            |msg_type: &str, outcome: &str| metrics().message(&tenant.name, msg_type, outcome);
        let request = match envelope::parse(text) {
            Ok(r) => r,
            Err(e) => {
                count("invalid", "invalid_message");
                self.send(envelope::error(
                    ErrorCode::InvalidMessage,
                    &e.to_string(),
                    None,
                ))
                .await?;
                return Ok(None);
            }
        };
        if !self.bucket.take(Instant::now()) {
            count("any", "rate_limited");
            let message = "too many messages: slow down";
            self.send(envelope::error(ErrorCode::RateLimited, message, request.id))
                .await?;
            return Ok(None);
        }
        let Some(session) = self.session.clone() else {
            return self.first_message(&request).await;
        };
        let routing = tenant.routing();
        let handlers = routing.handlers(&request.msg_type);
        if handlers.is_empty() {
            count("unknown", "unknown_type");
            let message = format!("no handler for Type {:?}", request.msg_type);
            self.send(envelope::error(
                ErrorCode::UnknownType,
                &message,
                request.id,
            ))
            .await?;
            return Ok(None);
        }
        for component in handlers {
            let call = Invocation {
                msg_type: &request.msg_type,
                data: request.data,
                user: session.wit_user.as_ref(),
                caller: self.caller(component, &session),
            };
            let span = info_span!("call", r#type = %request.msg_type, component = %component.name);
            let Some(permit) = tenant.admit().await else {
                count(&request.msg_type, "overloaded");
                let message = "the server is busy: try again shortly";
                self.send(envelope::error(ErrorCode::Overloaded, message, request.id))
                    .await?;
                continue;
            };
            let started = Instant::now();
            let result = component
                .invoke(
                    call,
                    &tenant.limits,
                    tenant.max_message_bytes,
                    &mut self.instances,
                )
                .instrument(span.clone())
                .await;
            drop(permit);
            let elapsed = started.elapsed();
            let elapsed_us = elapsed.as_micros() as u64;
            metrics()
                .invocation_seconds
                .get_or_create(&metrics::tenant(&tenant.name))
                .observe(elapsed.as_secs_f64());
            let outcome = match &result {
                Ok(_) => "ok",
                Err(e) => e.code().as_str(),
            };
            count(&request.msg_type, outcome);
            match result {
                Ok(response) => {
                    span.in_scope(|| debug!(elapsed_us, "ok"));
                    let reply = envelope::reply(&response.msg_type, &response.data, request.id);
                    self.send(reply).await?;
                }
                Err(e) => {
                    span.in_scope(|| info!(elapsed_us, error = %e, "call failed"));
                    let code = e.code();
                    self.send(envelope::error(code, &e.to_string(), request.id))
                        .await?;
                    if let InvokeError::Handler(h) = &e
                        && h.close_connection
                    {
                        return Ok(Some(Close {
                            code: valid_close_code(h.close_code),
                            reason: truncate_reason(&h.message),
                        }));
                    }
                }
            }
        }
        Ok(None)
    }

    /// Before authentication only `Auth` is accepted.
    async fn first_message(
        &mut self,
        request: &envelope::Request<'_>,
    ) -> Result<Option<Close>, WsError> {
        if request.msg_type != AUTH_MESSAGE_TYPE {
            metrics().message(&self.tenant.name, "any", "unauthenticated");
            let message =
                "authenticate first: send {\"Type\":\"Auth\",\"Data\":{\"initData\":\"...\"}}";
            self.send(envelope::error(
                ErrorCode::Unauthenticated,
                message,
                request.id,
            ))
            .await?;
            return Ok(None);
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
                record_user(&session);
                info!("authenticated by first message");
                let user = serde_json::to_string(&session.user).unwrap_or_else(|_| "null".into());
                let data = format!(r#"{{"user":{user}}}"#);
                self.session = Some(session);
                self.send(envelope::reply("AuthResponse", &data, request.id))
                    .await?;
                self.on_authenticated().await;
                Ok(None)
            }
            Err(e) => {
                warn!(
                    tenant = &*self.tenant.name,
                    reason = e.kind(),
                    "authentication failed"
                );
                metrics().auth_failure(&self.tenant.name, e.kind());
                Ok(Some(Close {
                    code: CLOSE_UNAUTHENTICATED,
                    reason: e.to_string(),
                }))
            }
        }
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

/// The close for a client whose push queue overflowed.
fn slow_consumer() -> Close {
    Close {
        code: 1008,
        reason: "too slow: push queue full".into(),
    }
}

/// The next push for this connection; never resolves without a mailbox.
async fn next_push(mailbox: &mut Option<Mailbox>) -> Option<String> {
    match mailbox {
        Some(m) => m.messages.recv().await,
        None => std::future::pending().await,
    }
}

/// Resolves when `signal` is notified; never without one.
async fn notified(signal: Option<Arc<tokio::sync::Notify>>) {
    match signal {
        Some(n) => n.notified().await,
        None => std::future::pending().await,
    }
}

fn far_future() -> tokio::time::Instant {
    tokio::time::Instant::now() + Duration::from_secs(86_400 * 365)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(500)));
        assert!(!bucket.take(start + Duration::from_millis(600)));
        assert!((0..3).all(|_| bucket.take(start + Duration::from_secs(60))));
        assert!(!bucket.take(start + Duration::from_secs(60)));
    }

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
    }
}
