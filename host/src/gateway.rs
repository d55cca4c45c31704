//! The front door of every TCP connection: the request head, read once within the handshake
//! timeout (the whole head, not just its first byte), then either plain HTTP ([`crate::web`])
//! or a WebSocket upgrade admitted to a tenant — route, authentication (HTTP 401 before the
//! upgrade), connection slot — and handed to [`crate::connection`]. tungstenite only frames the
//! upgraded stream.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::http::{self, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::HandshakeAuth;
use crate::capabilities::Services;
use crate::config::Timeouts;
use crate::connect::{self, Pending};
use crate::connection::{self, Connection};
use crate::metrics::Metrics;
use crate::shutdown::Shutdown;
use crate::tenants::{Holder, Refused, TenantSet};

mod head;

use head::{HeadError, check_upgrade, is_upgrade, read_head, switching_protocols};

/// What every connection of a server shares.
pub struct Gateway {
    /// The tenants new connections are admitted to.
    pub tenants: Arc<TenantSet>,
    /// The server's metrics.
    pub metrics: Arc<Metrics>,
    /// Whether `/metrics` is answered on this port (no `--metrics-listen`).
    pub public_metrics: bool,
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
        mut shutdown: Shutdown,
    ) -> std::io::Result<()> {
        // Boxed: everything before the upgrade (plain HTTP and webhooks included) lives in its
        // own allocation, freed once the socket is upgraded, so an idle connection's task holds
        // only the session's state (the connection task was 6.8 KiB with it inline, 2.7 KiB
        // without: docs/benchmarks.md).
        let upgraded = Box::pin(self.upgrade(stream, peer, &mut shutdown)).await?;
        let Some((ws, connection)) = upgraded else {
            return Ok(());
        };
        connection::run(ws, connection, &self.timeouts, shutdown)
            .await
            .map_err(std::io::Error::other)
    }

    /// Reads the request head and answers it: a plain HTTP request or a webhook (then `None`),
    /// or an admitted upgrade (then the upgraded socket and its connection).
    async fn upgrade(
        &self,
        mut stream: TcpStream,
        peer: SocketAddr,
        shutdown: &mut Shutdown,
    ) -> std::io::Result<Option<(WebSocketStream<TcpStream>, Connection)>> {
        let deadline = tokio::time::Instant::now() + self.timeouts.handshake;
        // A connection still sending its request head has nothing in flight: shutdown drops it
        // at once instead of waiting for the handshake timeout.
        let head = tokio::select! {
            head = tokio::time::timeout_at(deadline, read_head(&mut stream)) => head,
            () = shutdown.recv() => {
                debug!("shutting down: dropping a connection before its request head");
                return Ok(None);
            }
        };
        let (request, leftover) = match head {
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            Ok(Err(HeadError::Io(e))) => return Err(e),
            Ok(Err(HeadError::Invalid(reason))) => {
                let refusal = Refusal::new(StatusCode::BAD_REQUEST, reason);
                return respond(&mut stream, deadline, &refusal, self.timeouts.handshake)
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
            let metrics = self.public_metrics.then_some(&*self.metrics);
            let reply = crate::web::answer(&request, &tenants, metrics, &self.services);
            let response = reply.await;
            // A static file follows its head in chunks, each within the handshake timeout.
            return response
                .write(&mut stream, deadline, self.timeouts.handshake)
                .await
                .map(|()| None);
        }
        let admitted = match self.admit(&request, peer).await {
            Ok(admitted) => admitted,
            Err(refusal) => {
                return respond(&mut stream, deadline, &refusal, self.timeouts.handshake)
                    .await
                    .map(|()| None);
            }
        };
        let Admitted {
            mut connection,
            subprotocol,
            key,
        } = admitted;
        let upgrade = switching_protocols(&key, subprotocol.as_deref());
        if let Err(e) = within(deadline, stream.write_all(upgrade.as_bytes())).await {
            // Registered (and its on-connect hooks run) before the 101: it disconnected.
            connection.disconnected().await;
            return Err(e);
        }
        // The socket's frame limit is the tenant's own (so a reload that changes it applies to
        // every connection accepted after it). tungstenite zero-fills its whole read buffer on
        // every read, and an idle connection waits in a read: the default 128 KiB made each
        // idle connection cost ~135 KiB of RSS. 1 KiB holds a typical request whole; a larger
        // message takes more reads (~1.5 ms more for 1 MiB, against ~100 ms to handle it).
        let max = connection.tenant().ledger.max_frame_bytes;
        let config = WebSocketConfig::default()
            .read_buffer_size(READ_BUFFER)
            .max_message_size(Some(max))
            .max_frame_size(Some(max));
        let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Server, Some(config))
            .await;
        Ok(Some((ws, connection)))
    }

    /// Serves one connection to the metrics address (`--metrics-listen`): its request head,
    /// then `/metrics` (or 404), within the handshake timeout.
    pub async fn serve_metrics(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let timeout = self.timeouts.handshake;
        let deadline = tokio::time::Instant::now() + timeout;
        let response = match tokio::time::timeout_at(deadline, read_head(&mut stream)).await {
            Err(_) => return Err(std::io::ErrorKind::TimedOut.into()),
            Ok(Err(HeadError::Io(e))) => return Err(e),
            Ok(Err(HeadError::Invalid(reason))) => {
                crate::web::Response::text(StatusCode::BAD_REQUEST, &reason)
            }
            Ok(Ok((request, _))) => crate::web::answer_metrics(&request, &self.metrics),
        };
        response.write(&mut stream, deadline, timeout).await
    }

    /// Routes an upgrade to its tenant and authenticates it; an authenticated connection is
    /// registered ([`connect::register`]) before the 101 goes out.
    async fn admit(
        &self,
        request: &http::Request<()>,
        peer: SocketAddr,
    ) -> Result<Admitted, Refusal> {
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
        info!(authenticated = session.is_some(), "connected");
        let resume = crate::capabilities::push::resume::from_request(request);
        let connection = match session {
            Some(session) => {
                let registered = connect::register(tenant.clone(), session, resume, None).await;
                Connection::registered(registered, slot)
            }
            None => Connection::pending(Pending::new(tenant.clone(), resume), slot),
        };
        Ok(Admitted {
            connection,
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

/// Writes a refusal (and closes) by `deadline`.
async fn respond(
    stream: &mut TcpStream,
    deadline: tokio::time::Instant,
    refusal: &Refusal,
    io_timeout: std::time::Duration,
) -> std::io::Result<()> {
    let mut response = crate::web::Response::text(refusal.status, &refusal.reason);
    if refusal.status == StatusCode::UPGRADE_REQUIRED {
        response.header("sec-websocket-version", "13");
    }
    response.write(stream, deadline, io_timeout).await
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
