//! The HTTP request head of a new connection: read whole (bounded in size), parsed once, and
//! checked as a WebSocket upgrade (RFC 6455 §4.2.1) when it asks for one.

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::http::{self, StatusCode, header};

use super::Refusal;

/// Largest request head we accept.
const MAX_HEAD: usize = 16 * 1024;

/// Why a request head could not be read.
pub(super) enum HeadError {
    Io(std::io::Error),
    Invalid(String),
}

/// Reads the request head; returns it and whatever bytes followed it. Each read waits for the
/// socket (no polling); the caller bounds the whole with the handshake timeout.
pub(super) async fn read_head(
    stream: &mut TcpStream,
) -> Result<(http::Request<()>, Vec<u8>), HeadError> {
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

pub(super) fn is_upgrade(request: &http::Request<()>) -> bool {
    header_has_token(request, header::UPGRADE, "websocket")
}

/// Checks an upgrade request as RFC 6455 §4.2.1 asks; returns its `Sec-WebSocket-Key`.
pub(super) fn check_upgrade(request: &http::Request<()>) -> Result<String, Refusal> {
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

pub(super) fn switching_protocols(accept: &str, subprotocol: Option<&str>) -> String {
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
