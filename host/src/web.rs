//! Plain HTTP on the WebSocket port, for a request whose head [`crate::gateway`] has read:
//! `GET /healthz`, `/readyz` (components loaded, state backend reachable), `/metrics` and a
//! tenant's static files (a Mini App and its backend on one origin), with the JS client at
//! `<route>/extws.js`.

use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::http::{Method, Request, StatusCode, header};

use crate::capabilities::Services;
use crate::metrics::Metrics;
use crate::tenants::Tenants;

/// How long `/readyz` waits for the state backend to answer.
const READY_TIMEOUT: Duration = Duration::from_secs(1);

/// A response body larger than this is streamed from its file this many bytes at a time.
const CHUNK: usize = 64 * 1024;

/// An HTTP response, written once and followed by closing the connection.
pub struct Response {
    status: StatusCode,
    content_type: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Body,
    head_only: bool,
}

/// What follows the head: bytes in memory, or a file read from disk as it is sent, so a client
/// that does not read holds [`CHUNK`] bytes of it, not the file (issue 25 #13).
enum Body {
    Bytes(Vec<u8>),
    File { file: tokio::fs::File, len: u64 },
}

impl Response {
    /// A response with `body`.
    pub fn new(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Self {
        Self {
            status,
            content_type,
            headers: Vec::new(),
            body: Body::Bytes(body),
            head_only: false,
        }
    }

    /// A one-line plain-text response.
    pub fn text(status: StatusCode, line: &str) -> Self {
        Self::new(status, TEXT, format!("{line}\n").into_bytes())
    }

    /// Adds a header.
    pub fn header(&mut self, name: &'static str, value: &str) {
        self.headers.push((name, value.to_string()));
    }

    /// The status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// Writes the response and shuts the write side down (`connection: close`). The head and
    /// a body in memory must be written by `deadline`; a file's body follows in chunks of
    /// [`CHUNK`] bytes, each within `chunk_timeout` (a slow reader gets a big file, one that
    /// stops reading is cut off; nginx's `send_timeout` works the same way).
    pub async fn write(
        self,
        stream: &mut TcpStream,
        deadline: Instant,
        chunk_timeout: Duration,
    ) -> std::io::Result<()> {
        let len = match &self.body {
            Body::Bytes(bytes) => bytes.len() as u64,
            Body::File { len, .. } => *len,
        };
        let mut out = format!(
            "HTTP/1.1 {} {}\r\ncontent-type: {}\r\ncontent-length: {len}\r\nconnection: close\r\n\
             cache-control: no-cache\r\nx-content-type-options: nosniff\r\n",
            self.status.as_u16(),
            self.status.canonical_reason().unwrap_or("Error"),
            self.content_type,
        );
        for (name, value) in &self.headers {
            out.push_str(&format!("{name}: {value}\r\n"));
        }
        out.push_str("\r\n");
        let mut bytes = out.into_bytes();
        match self.body {
            Body::Bytes(body) if !self.head_only => bytes.extend_from_slice(&body),
            Body::File { file, len } if !self.head_only => {
                within(deadline, stream.write_all(&bytes)).await?;
                send_file(stream, file, len, chunk_timeout).await?;
                return within(Instant::now() + chunk_timeout, stream.shutdown()).await;
            }
            _ => {}
        }
        within(deadline, stream.write_all(&bytes)).await?;
        within(deadline, stream.shutdown()).await
    }
}

/// Sends the first `len` bytes of `file`, [`CHUNK`] at a time, each chunk within `timeout`.
/// A file that shrank since its length was taken ends the connection early (the client sees a
/// body shorter than its `content-length`); one that grew is cut at `len`.
async fn send_file(
    stream: &mut TcpStream,
    file: tokio::fs::File,
    len: u64,
    timeout: Duration,
) -> std::io::Result<()> {
    let mut file = file.take(len);
    let mut chunk = vec![0; CHUNK.min(len as usize)];
    let mut sent = 0;
    while sent < len {
        let n = file.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        within(Instant::now() + timeout, stream.write_all(&chunk[..n])).await?;
        sent += n as u64;
    }
    Ok(())
}

/// Runs a write, failing with `TimedOut` once `deadline` has passed.
async fn within(
    deadline: Instant,
    io: impl Future<Output = std::io::Result<()>>,
) -> std::io::Result<()> {
    tokio::time::timeout_at(deadline, io)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)?
}

const TEXT: &str = "text/plain; charset=utf-8";

/// The JavaScript client (`clients/js/extws.js`), served at `<route>/extws.js` to a tenant with
/// static files that does not ship its own, so a page always gets the client of this server.
const CLIENT: &str = include_str!("../../clients/js/extws.js");

/// The answer to one plain HTTP request on the WebSocket port; `metrics` is `None` when
/// `/metrics` is served elsewhere (`--metrics-listen`), and then it is 404 here.
pub async fn answer(
    request: &Request<()>,
    tenants: &Tenants,
    metrics: Option<&Metrics>,
    services: &Option<Services>,
) -> Response {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Response::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let path = request.uri().path();
    let mut response = match path {
        "/healthz" => Response::text(StatusCode::OK, "ok"),
        "/readyz" => ready(tenants, services).await,
        "/metrics" => match metrics {
            Some(metrics) => metrics_text(metrics),
            None => Response::text(StatusCode::NOT_FOUND, "not found"),
        },
        _ => {
            let host = request
                .headers()
                .get(header::HOST)
                .and_then(|h| h.to_str().ok());
            static_file(tenants, path, host).await
        }
    };
    response.head_only = method == Method::HEAD;
    response
}

/// The answer to one request on the metrics address (`--metrics-listen`): `/metrics` and
/// nothing else.
pub fn answer_metrics(request: &Request<()>, metrics: &Metrics) -> Response {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return Response::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    let mut response = match request.uri().path() {
        "/metrics" => metrics_text(metrics),
        _ => Response::text(StatusCode::NOT_FOUND, "not found"),
    };
    response.head_only = method == Method::HEAD;
    response
}

/// The Prometheus text of `metrics`.
fn metrics_text(metrics: &Metrics) -> Response {
    Response::new(
        StatusCode::OK,
        "application/openmetrics-text; version=1.0.0; charset=utf-8",
        metrics.encode().into_bytes(),
    )
}

/// Ready when every tenant has its components loaded and the state backend answers.
async fn ready(tenants: &Tenants, services: &Option<Services>) -> Response {
    if let Some(t) = tenants.iter().find(|t| t.handlers().components.is_empty()) {
        let line = format!("not ready: tenant {} has no component loaded", t.name);
        return Response::text(StatusCode::SERVICE_UNAVAILABLE, &line);
    }
    if let Some(services) = services
        && let Err(why) = services.ready(READY_TIMEOUT).await
    {
        return Response::text(
            StatusCode::SERVICE_UNAVAILABLE,
            &format!("not ready: {why}"),
        );
    }
    Response::text(StatusCode::OK, "ready")
}

async fn static_file(tenants: &Tenants, path: &str, host: Option<&str>) -> Response {
    let not_found = Response::text(StatusCode::NOT_FOUND, "not found");
    let Some(tenant) = tenants.find(path, host) else {
        return not_found;
    };
    let Some(root) = &tenant.static_dir else {
        return not_found;
    };
    let prefix = tenant.route.path_prefix.trim_end_matches('/');
    let relative = path.strip_prefix(prefix).unwrap_or(path);
    let Some(file) = resolve(root, relative) else {
        if relative == "/extws.js" {
            return Response::new(
                StatusCode::OK,
                "text/javascript; charset=utf-8",
                CLIENT.into(),
            );
        }
        return not_found;
    };
    let Ok(opened) = tokio::fs::File::open(&file).await else {
        return not_found;
    };
    match opened.metadata().await {
        Ok(meta) => Response {
            body: Body::File {
                file: opened,
                len: meta.len(),
            },
            ..Response::new(StatusCode::OK, content_type(&file), Vec::new())
        },
        Err(_) => not_found,
    }
}

/// The file under `root` for a URL path, refusing anything that could leave `root`.
fn resolve(root: &Path, url_path: &str) -> Option<PathBuf> {
    let decoded = crate::auth::telegram::form_decode(&url_path.replace('+', "%2B")).ok()?;
    let mut file = root.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        let mut parts = Path::new(segment).components();
        match (parts.next(), parts.next()) {
            (Some(Component::Normal(part)), None) if !segment.contains('\\') => file.push(part),
            _ => return None,
        }
    }
    if file.is_dir() {
        file.push("index.html");
    }
    // A symlink inside the directory must not lead out of it: serve only what resolves under
    // the resolved root.
    let (root, resolved) = (root.canonicalize().ok()?, file.canonicalize().ok()?);
    (resolved.starts_with(&root) && resolved.is_file()).then_some(resolved)
}

fn content_type(file: &Path) -> &'static str {
    match file.extension().and_then(|e| e.to_str()).unwrap_or("") {
        "html" | "htm" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "ico" => "image/x-icon",
        "wasm" => "application/wasm",
        "txt" => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolve_stays_inside_the_root() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .canonicalize()
            .unwrap();
        let root = root.as_path();
        assert_eq!(resolve(root, "/Cargo.toml"), Some(root.join("Cargo.toml")));
        assert_eq!(resolve(root, "/src/lib.rs"), Some(root.join("src/lib.rs")));
        for escape in [
            "/../Cargo.toml",
            "/src/../../Cargo.toml",
            "/%2e%2e/Cargo.toml",
            "/..%2fCargo.toml",
            "/src/%00",
        ] {
            assert_eq!(resolve(root, escape), None, "{escape}");
        }
        assert_eq!(resolve(root, "/missing.txt"), None);
    }
}
