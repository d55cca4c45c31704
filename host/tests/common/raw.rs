//! Raw clients: a socket the test controls byte by byte (no automatic pongs or reads), the
//! frames it writes and reads, and plain HTTP requests.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::{TestServer, eventually, open_connections};

/// A WebSocket client on a raw socket: the upgrade by hand, then nothing is read or answered
/// until the test says so.
pub async fn raw_client(server: &TestServer) -> TcpStream {
    raw_client_at(server.addr, "/").await
}

/// [`raw_client`] to `addr` (`HOST:PORT`) on `path`.
pub async fn raw_client_at(addr: impl std::fmt::Display, path: &str) -> TcpStream {
    let mut stream = TcpStream::connect(addr.to_string()).await.unwrap();
    let upgrade = "GET PATH HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        .replace("PATH", path);
    stream.write_all(upgrade.as_bytes()).await.unwrap();
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8];
        stream.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    assert!(
        head.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&head)
    );
    stream
}

/// A masked client text frame.
pub fn text_frame(text: &str) -> Vec<u8> {
    client_frame(0x1, text.as_bytes())
}

/// A masked client frame (FIN set) with this opcode and payload (under 64 KiB).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = vec![0x80 | opcode];
    match payload.len() {
        n if n < 126 => frame.push(0x80 | n as u8),
        n => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    frame.extend_from_slice(&[0, 0, 0, 0]); // a zero mask leaves the payload as it is
    frame.extend_from_slice(payload);
    frame
}

/// The server's (unmasked) frames in `bytes`: opcode and payload.
pub fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out = Vec::new();
    while bytes.len() >= 2 {
        let opcode = bytes[0] & 0x0f;
        let (len, start) = match bytes[1] & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        if bytes.len() < start + len {
            break;
        }
        out.push((opcode, bytes[start..start + len].to_vec()));
        bytes = &bytes[start + len..];
    }
    out
}

/// Waits (up to 30 s) until the server counts no open connection of the default tenant.
pub async fn until_closed_by_the_server(server: &TestServer) {
    eventually(
        "the server closing the connection",
        Duration::from_secs(30),
        async || match open_connections(server).await {
            0 => Ok(()),
            n => Err(format!("{n} open")),
        },
    )
    .await;
}

/// `GET path` over a raw socket to `addr` (`HOST:PORT`); returns (status, body).
pub async fn http_get(addr: impl std::fmt::Display, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr.to_string()).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).await.unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
