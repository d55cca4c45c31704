//! The host's HTTP/1.1 client: resolve the target, refuse internal addresses it is not allowed,
//! connect to exactly the address that was checked (so DNS cannot answer differently the second
//! time), TLS named after the URI's host, one request per connection.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::{Request, Response, Uri};
use hyper::body::{Body, Incoming};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wasmtime_wasi_http::io::TokioIo;

use super::allow::{Host, Target, is_internal};

/// Why a request did not get a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The target resolves to an address it may not reach.
    #[error("{0}")]
    Denied(String),
    /// The name did not resolve.
    #[error("cannot resolve {0}")]
    Dns(String),
    /// TCP connect failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The TLS handshake failed (certificate, protocol).
    #[error("TLS: {0}")]
    Tls(String),
    /// The peer broke HTTP.
    #[error("HTTP: {0}")]
    Protocol(String),
}

trait Io: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Io for T {}

/// The address to connect to: the first one `target` resolves to, when none of them is an
/// internal address the target may not reach.
async fn resolve(target: &Target) -> Result<SocketAddr, ClientError> {
    let addrs: Vec<SocketAddr> = match &target.host {
        Host::Ip(ip) => vec![SocketAddr::new(*ip, target.port)],
        Host::Name(name) => tokio::net::lookup_host((name.as_str(), target.port))
            .await
            .map_err(|_| ClientError::Dns(name.clone()))?
            .collect(),
    };
    if !target.internal_allowed && addrs.iter().any(|a| is_internal(a.ip())) {
        return Err(ClientError::Denied(format!(
            "{} resolves to an internal address (loopback, private or link-local); only an \
             origin listed as that IP address may reach it",
            display_host(&target.host)
        )));
    }
    addrs
        .into_iter()
        .next()
        .ok_or_else(|| ClientError::Dns(display_host(&target.host)))
}

fn display_host(host: &Host) -> String {
    match host {
        Host::Name(n) => n.clone(),
        Host::Ip(ip) => ip.to_string(),
    }
}

fn tls_config() -> Arc<rustls::ClientConfig> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore {
                roots: webpki_roots::TLS_SERVER_ROOTS.into(),
            };
            let provider = Arc::new(rustls::crypto::ring::default_provider());
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .expect("ring supports the default TLS versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
            Arc::new(config)
        })
        .clone()
}

async fn connect(target: &Target) -> Result<Box<dyn Io>, ClientError> {
    let addr = resolve(target).await?;
    let tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| ClientError::Connect(e.kind().to_string()))?;
    let _ = tcp.set_nodelay(true);
    if !target.https {
        return Ok(Box::new(tcp));
    }
    let name = match &target.host {
        Host::Ip(ip) => rustls::pki_types::ServerName::IpAddress((*ip).into()),
        Host::Name(n) => rustls::pki_types::ServerName::try_from(n.clone())
            .map_err(|e| ClientError::Tls(e.to_string()))?,
    };
    let tls = tokio_rustls::TlsConnector::from(tls_config())
        .connect(name, tcp)
        .await
        .map_err(|e| ClientError::Tls(e.to_string()))?;
    Ok(Box::new(tls))
}

/// A connection to a target, ready for one request: nothing has been sent on it yet.
pub struct Connection(Box<dyn Io>);

/// Connects to `target` (resolve, check, TCP, TLS). Until this returns, no byte of a request
/// has left: an error here, or giving up on it, means the request was not sent.
pub async fn open(target: &Target) -> Result<Connection, ClientError> {
    connect(target).await.map(Connection)
}

/// Sends `request` (an absolute URI) to `target` on a new connection. The connection is driven
/// by a task that ends with it, or after `linger` at the latest, whatever the peer does.
pub async fn send<B>(
    target: &Target,
    request: Request<B>,
    linger: Duration,
) -> Result<Response<Incoming>, ClientError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    send_on(open(target).await?, request, linger).await
}

/// Sends `request` (an absolute URI) on `connection`, as [`send`] does.
pub async fn send_on<B>(
    connection: Connection,
    mut request: Request<B>,
    linger: Duration,
) -> Result<Response<Incoming>, ClientError>
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(connection.0))
        .await
        .map_err(|e| ClientError::Protocol(e.to_string()))?;
    tokio::spawn(async move {
        let _ = tokio::time::timeout(linger, conn).await;
    });
    if !request.headers().contains_key(http::header::HOST)
        && let Some(authority) = request.uri().authority()
    {
        let host = http::HeaderValue::from_str(authority.as_str())
            .map_err(|e| ClientError::Protocol(e.to_string()))?;
        request.headers_mut().insert(http::header::HOST, host);
    }
    // On the wire an origin-form target: the scheme and authority only go to proxies.
    let path = request
        .uri()
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_string();
    *request.uri_mut() = Uri::try_from(path).map_err(|e| ClientError::Protocol(e.to_string()))?;
    sender
        .send_request(request)
        .await
        .map_err(|e| ClientError::Protocol(e.to_string()))
}
