//! The front door of every TCP connection: the request head, read once within the handshake
//! timeout (the whole head, not just its first byte), then either plain HTTP ([`crate::http`])
//! or a WebSocket upgrade admitted to a tenant — route, authentication (HTTP 401 before the
//! upgrade), connection slot — and handed to [`crate::session`]. tungstenite only frames the
//! upgraded stream.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{self, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::HandshakeAuth;
use crate::config::Timeouts;
use crate::dispatch::Dispatcher;
use crate::metrics::Metrics;
use crate::session::{self, Connection};
use crate::shutdown::Shutdown;
use crate::state::Services;
use crate::tenants::{Holder, Refused, TenantSet};

/// Largest request head we accept.
const MAX_HEAD: usize = 16 * 1024;

/// What every connection of a server shares.
pub struct Gateway {
    /// The tenants new connections are admitted to.
    pub tenants: Arc<TenantSet>,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// Connection timers.
    pub timeouts: Timeouts,
    /// State and push, for readiness.
    pub services: Option<Services>,
}

/// A refusal before the upgrade: a status and a plain-text reason.
#[derive(Debug)]
pub struct Refusal {
    /// HTTP status.
    pub status: StatusCode,
    /// The body (one line).
    pub reason: String,
}

impl Refusal {
    fn new(status: StatusCode, reason: impl Into<String>) -> Self {
        Self {
            status,
            reason: reason.into(),
        }
    }
}

impl Gateway {
    /// Serves one accepted TCP connection to the end, logging (not returning) its errors.
    pub async fn accept(self: Arc<Self>, stream: TcpStream, peer: SocketAddr, shutdown: Shutdown) {
        let span = info_span!(
            "conn",
            %peer,
            tenant = tracing::field::Empty,
            user = tracing::field::Empty
        );
        async move {
            match self.handle(stream, peer, shutdown).await {
                Ok(()) => debug!("connection closed"),
                Err(e) => debug!(error = %e, "connection ended"),
            }
        }
        .instrument(span)
        .await
    }

    async fn handle(
        &self,
        stream: TcpStream,
        peer: SocketAddr,
        shutdown: Shutdown,
    ) -> std::io::Result<()> {
        // Boxed: everything before the upgrade (plain HTTP and webhooks included) lives in its
        // own allocation, freed once the socket is upgraded, so an idle connection's task holds
        // only the session's state (the connection task was 6.8 KiB with it inline, 2.7 KiB
        // without: docs/benchmarks.md).
        let Some((ws, connection)) = Box::pin(self.upgrade(stream, peer)).await? else {
            return Ok(());
        };
        session::run(ws, connection, &self.timeouts, shutdown)
            .await
            .map_err(std::io::Error::other)
    }

    /// Reads the request head and answers it: a plain HTTP request or a webhook (then `None`),
    /// or an admitted upgrade (then the upgraded socket and its connection).
    async fn upgrade(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
    ) -> std::io::Result<Option<(WebSocketStream<TcpStream>, Connection)>> {
        let deadline = tokio::time::Instant::now() + self.timeouts.handshake;
        let head = tokio::time::timeout_at(deadline, read_head(&mut stream)).await;
        let (request, leftover) = match head {
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            Ok(Err(HeadError::Io(e))) => return Err(e),
            Ok(Err(HeadError::Invalid(reason))) => {
                let refusal = Refusal::new(StatusCode::BAD_REQUEST, reason);
                return respond(&mut stream, deadline, &refusal)
                    .await
                    .map(|()| None);
            }
            Ok(Ok(head)) => head,
        };
        if !is_upgrade(&request) {
            debug!(method = %request.method(), path = request.uri().path(), "http request");
            let tenants = self.tenants.current();
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            if let Some((tenant, secret)) = tenants.webhook(request.uri().path(), host) {
                tracing::Span::current().record("tenant", &*tenant.name);
                let io_timeout = self.timeouts.handshake;
                return crate::updates::webhook::serve(
                    &mut stream,
                    &request,
                    leftover,
                    tenant,
                    secret,
                    io_timeout,
                )
                .await
                .map(|()| None);
            }
            let reply = crate::http::answer(&request, &tenants, &self.metrics, &self.services);
            let response = reply.await;
            return within(deadline, response.write(&mut stream))
                .await
                .map(|()| None);
        }
        let admitted = match self.admit(&request, peer) {
            Ok(admitted) => admitted,
            Err(refusal) => {
                return respond(&mut stream, deadline, &refusal)
                    .await
                    .map(|()| None);
            }
        };
        let Admitted {
            connection,
            subprotocol,
            key,
        } = admitted;
        let upgrade = switching_protocols(&key, subprotocol.as_deref());
        within(deadline, stream.write_all(upgrade.as_bytes())).await?;
        // The socket's frame limit is the tenant's own (so a reload that changes it applies to
        // every connection accepted after it). tungstenite zero-fills its whole read buffer on
        // every read, and an idle connection waits in a read: the default 128 KiB made each
        // idle connection cost ~135 KiB of RSS. 1 KiB holds a typical request whole; a larger
        // message takes more reads (~1.5 ms more for 1 MiB, against ~100 ms to handle it).
        let max = connection.tenant().max_message_bytes;
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config))
            .await;
        Ok(Some((ws, connection)))
    }

    /// Routes an upgrade to its tenant and authenticates it.
    fn admit(&self, request: &http::Request<()>, peer: SocketAddr) -> Result<Admitted, Refusal> {
        let key = check_upgrade(request)?;
        let tenants = self.tenants.current();
        let host = request
            .headers()
            .get(header::HOST)
            .and_then(|h| h.to_str().ok());
        let Some(tenant) = tenants.find(request.uri().path(), host) else {
            info!(path = request.uri().path(), "no tenant serves this path");
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                "no tenant serves this path",
            ));
        };
        let span = tracing::Span::current();
        span.record("tenant", &*tenant.name);
        let (auth, subprotocol) = tenant.auth.at_handshake(request).map_err(|e| {
            warn!(reason = e.kind(), "authentication failed");
            self.metrics.auth_failure(&tenant.name, e.kind());
            Refusal::new(StatusCode::UNAUTHORIZED, e.to_string())
        })?;
        let session = match auth {
            HandshakeAuth::Done(session) => Some(*session),
            HandshakeAuth::AwaitFirstMessage => None,
        };
        // A user counts against the user's limit; a handshake whose first-message auth is
        // pending against its address's (behind a proxy every client has the proxy's address,
        // so anonymous connections of a no-auth tenant count only against the tenant's).
        let holder = match &session {
            Some(s) => s.user.as_ref().map(|u| Holder::User(u.id)),
            None => Some(Holder::Ip(peer.ip())),
        };
        let slot = tenant.open_connection(holder).map_err(|refused| {
            warn!(?refused, "connection limit reached");
            let (status, reason) = match refused {
                Refused::Tenant => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "too many connections for this app, try again later",
                ),
                Refused::User => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections for this user",
                ),
                Refused::Ip => (
                    StatusCode::TOO_MANY_REQUESTS,
                    "too many connections from this address",
                ),
            };
            Refusal::new(status, reason)
        })?;
        if let Some(user) = session.as_ref().and_then(|s| s.user.as_ref()) {
            span.record("user", user.id);
        }
        info!(authenticated = session.is_some(), "connected");
        let dispatcher = Dispatcher::new(tenant.clone(), session);
        let resume = crate::resume::from_request(request);
        Ok(Admitted {
            connection: Connection::new(dispatcher, slot, resume),
            subprotocol: subprotocol.filter(|p| http::HeaderValue::from_str(p).is_ok()),
            key,
        })
    }
}

/// An upgrade that may proceed.
struct Admitted {
    connection: Connection,
    subprotocol: Option<String>,
    key: String,
}

/// Bytes an upgraded socket reads at a time (docs/benchmarks.md, "Connections").
const READ_BUFFER: usize = 1024;

/// Why a request head could not be read.
enum HeadError {
    Io(std::io::Error),
    Invalid(String),
}

/// Reads the request head; returns it and whatever bytes followed it. Each read waits for the
/// socket (no polling); the caller bounds the whole with the handshake timeout.
async fn read_head(stream: &mut TcpStream) -> Result<(http::Request<()>, Vec<u8>), HeadError> {
    // Read into the heap buffer itself: a buffer on the stack would live in every connection
    // task's future for the whole connection.
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.reserve(1024);
        let n = stream.read_buf(&mut buf).await.map_err(HeadError::Io)?;
        if n == 0 {
            return Err(HeadError::Io(std::io::ErrorKind::UnexpectedEof.into()));
        }
        if let Some((request, len)) = parse_head(&buf)? {
            return Ok((request, buf.split_off(len)));
        }
        if buf.len() >= MAX_HEAD {
            return Err(HeadError::Invalid("request head too large".into()));
        }
    }
}

/// Parses a complete head at the start of `buf`; `None` while it is incomplete.
fn parse_head(buf: &[u8]) -> Result<Option<(http::Request<()>, usize)>, HeadError> {
    let invalid = |e: &dyn std::fmt::Display| HeadError::Invalid(format!("bad request: {e}"));
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut headers);
    let len = match parsed.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(invalid(&e)),
    };
    let version = match parsed.version {
        Some(0) => http::Version::HTTP_10,
        _ => http::Version::HTTP_11,
    };
    let mut builder = http::Request::builder()
        .method(parsed.method.unwrap_or("GET"))
        .uri(parsed.path.unwrap_or("/"))
        .version(version);
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    let request = builder.body(()).map_err(|e| invalid(&e))?;
    Ok(Some((request, len)))
}

fn header_has_token(request: &http::Request<()>, name: header::HeaderName, token: &str) -> bool {
    request
        .headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

fn is_upgrade(request: &http::Request<()>) -> bool {
    header_has_token(request, header::UPGRADE, "websocket")
}

/// Checks an upgrade request as RFC 6455 §4.2.1 asks; returns its `Sec-WebSocket-Key`.
fn check_upgrade(request: &http::Request<()>) -> Result<String, Refusal> {
    let bad = |reason: &str| Refusal::new(StatusCode::BAD_REQUEST, reason);
    if request.method() != http::Method::GET {
        return Err(bad("a WebSocket upgrade must be a GET request"));
    }
    if request.version() < http::Version::HTTP_11 {
        return Err(bad("a WebSocket upgrade needs HTTP/1.1"));
    }
    if !header_has_token(request, header::CONNECTION, "upgrade") {
        return Err(bad("a WebSocket upgrade needs `Connection: Upgrade`"));
    }
    let version = request.headers().get(header::SEC_WEBSOCKET_VERSION);
    if version.and_then(|v| v.to_str().ok()).map(str::trim) != Some("13") {
        return Err(Refusal::new(
            StatusCode::UPGRADE_REQUIRED,
            "only WebSocket version 13 is supported",
        ));
    }
    match request.headers().get(header::SEC_WEBSOCKET_KEY) {
        Some(key) if !key.is_empty() => Ok(derive_accept_key(key.as_bytes())),
        _ => Err(bad("a WebSocket upgrade needs Sec-WebSocket-Key")),
    }
}

fn switching_protocols(accept: &str, subprotocol: Option<&str>) -> String {
    let mut out = format!(
        "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\
         sec-websocket-accept: {accept}\r\n"
    );
    if let Some(p) = subprotocol {
        out.push_str(&format!("sec-websocket-protocol: {p}\r\n"));
    }
    out.push_str("\r\n");
    out
}

/// Writes a refusal (and closes).
async fn respond(
    stream: &mut TcpStream,
    deadline: tokio::time::Instant,
    refusal: &Refusal,
) -> std::io::Result<()> {
    let mut response = crate::http::Response::text(refusal.status, &refusal.reason);
    if refusal.status == StatusCode::UPGRADE_REQUIRED {
        response.header("sec-websocket-version", "13");
    }
    within(deadline, response.write(stream)).await
}

/// Runs a write of the handshake, failing with `TimedOut` once its deadline has passed.
async fn within(
    deadline: tokio::time::Instant,
    io: impl Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    tokio::time::timeout_at(deadline, io)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_once_complete() {
        let head = b"GET /a?x=1 HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\nrest";
        assert!(parse_head(&head[..20]).ok().unwrap().is_none());
        let (request, len) = parse_head(head).ok().unwrap().unwrap();
        assert_eq!(request.uri().path(), "/a");
        assert_eq!(request.uri().query(), Some("x=1"));
        assert_eq!(&head[len..], b"rest");
        assert!(is_upgrade(&request));
        assert!(parse_head(b"\x00\x01 nonsense\r\n\r\n").is_err());
    }

    #[test]
    fn upgrades_are_checked() {
        let request = |extra: &str| {
            let text = format!("GET / HTTP/1.1\r\nUpgrade: websocket\r\n{extra}\r\n");
            parse_head(text.as_bytes()).ok().unwrap().unwrap().0
        };
        let good = "Connection: keep-alive, Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
        // RFC 6455's own example.
        assert_eq!(
            check_upgrade(&request(good)).unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        let no_key = "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
        assert_eq!(
            check_upgrade(&request(no_key)).unwrap_err().status,
            StatusCode::BAD_REQUEST
        );
        let old = "Connection: Upgrade\r\nSec-WebSocket-Version: 8\r\nSec-WebSocket-Key: a\r\n";
        assert_eq!(
            check_upgrade(&request(old)).unwrap_err().status,
            StatusCode::UPGRADE_REQUIRED
        );
    }
}
