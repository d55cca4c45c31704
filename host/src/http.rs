//! Plain HTTP on the WebSocket port: `GET /healthz`, `/readyz`, `/metrics` and a tenant's
//! static files (a Mini App and its backend on one origin). A request is peeked, not read, so
//! a WebSocket upgrade goes on to tungstenite untouched.

use std::path::{Component, Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::metrics::metrics;
use crate::tenants::Tenants;

/// Largest request head we accept.
const MAX_HEAD: usize = 16 * 1024;

/// What the first bytes of a connection are.
pub enum Peeked {
    /// A WebSocket upgrade: hand the untouched stream to the WebSocket handshake.
    Upgrade,
    /// A plain HTTP request whose head is `head_len` bytes.
    Plain {
        /// Request method.
        method: String,
        /// Request target (path and query).
        target: String,
        /// `Host` header.
        host: Option<String>,
        /// Length of the head, consumed before answering.
        head_len: usize,
    },
}

/// Peeks at the request head (waiting up to `timeout` for all of it).
pub async fn peek(stream: &TcpStream, timeout: Duration) -> std::io::Result<Peeked> {
    let deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; MAX_HEAD];
    loop {
        let n = tokio::time::timeout_at(deadline.into(), stream.peek(&mut buf))
            .await
            .map_err(|_| std::io::ErrorKind::TimedOut)??;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        match request.parse(&buf[..n]) {
            Ok(httparse::Status::Complete(head_len)) => {
                let header = |name: &str| {
                    request
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case(name))
                        .and_then(|h| std::str::from_utf8(h.value).ok())
                };
                if header("upgrade").is_some_and(|u| u.eq_ignore_ascii_case("websocket")) {
                    return Ok(Peeked::Upgrade);
                }
                return Ok(Peeked::Plain {
                    method: request.method.unwrap_or("").to_string(),
                    target: request.path.unwrap_or("/").to_string(),
                    host: header("host").map(str::to_string),
                    head_len,
                });
            }
            Ok(httparse::Status::Partial) if n < MAX_HEAD => {
                // More of the head is on its way; peek returns at once, so wait a little.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            _ => return Err(std::io::ErrorKind::InvalidData.into()),
        }
    }
}

/// Answers one plain HTTP request and closes.
pub async fn serve(
    mut stream: TcpStream,
    tenants: &Tenants,
    method: &str,
    target: &str,
    host: Option<&str>,
    head_len: usize,
) -> std::io::Result<()> {
    let mut head = vec![0u8; head_len];
    stream.read_exact(&mut head).await?;
    let path = target.split('?').next().unwrap_or("/");
    let (status, content_type, body) = if method != "GET" && method != "HEAD" {
        (
            405,
            "text/plain; charset=utf-8",
            b"method not allowed\n".to_vec(),
        )
    } else {
        match path {
            "/healthz" => (200, "text/plain; charset=utf-8", b"ok\n".to_vec()),
            "/readyz" => (200, "text/plain; charset=utf-8", b"ready\n".to_vec()),
            "/metrics" => (
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                metrics().encode().into_bytes(),
            ),
            _ => static_file(tenants, path, host).await,
        }
    };
    let mut response = format!(
        "HTTP/1.1 {status} {}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\
         connection: close\r\ncache-control: no-cache\r\nx-content-type-options: nosniff\r\n\r\n",
        reason(status),
        body.len()
    )
    .into_bytes();
    if method != "HEAD" {
        response.extend_from_slice(&body);
    }
    stream.write_all(&response).await?;
    stream.shutdown().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        404 => "Not Found",
        405 => "Method Not Allowed",
        _ => "Error",
    }
}

async fn static_file(
    tenants: &Tenants,
    path: &str,
    host: Option<&str>,
) -> (u16, &'static str, Vec<u8>) {
    let not_found = (404, "text/plain; charset=utf-8", b"not found\n".to_vec());
    let Some(tenant) = tenants.find(path, host) else {
        return not_found;
    };
    let Some(root) = &tenant.static_dir else {
        return not_found;
    };
    let prefix = tenant.route.path_prefix.trim_end_matches('/');
    let relative = path.strip_prefix(prefix).unwrap_or(path);
    let Some(file) = resolve(root, relative) else {
        return not_found;
    };
    match tokio::fs::read(&file).await {
        Ok(bytes) => (200, content_type(&file), bytes),
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
    file.is_file().then_some(file)
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
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
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
