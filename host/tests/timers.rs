//! Connection timers, with the intervals shortened through `Config::timeouts`: an idle
//! connection is pinged, a client that answers pings stays, one that is silent past the idle
//! limit is closed with 1001 `idle`; a client that never reads cannot pin its connection.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

fn config() -> Config {
    let mut config = Config::new(vec![tenant("default", &["calc", "huge-reply"])]);
    config.timeouts.ping_interval = Duration::from_millis(100);
    config.timeouts.idle = Duration::from_millis(600);
    config.timeouts.push_send = Duration::from_millis(500);
    config
}

/// `extws_connections_open` of the default tenant, from `/metrics`.
async fn open_connections(server: &TestServer) -> i64 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body.lines()
        .find(|l| l.starts_with("extws_connections_open{"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .expect("the gauge is exported once a connection opened")
}

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_pings_stays_past_the_idle_limit() {
    let server = start(config()).await;
    let mut ws = connect(&server.url("/")).await;
    // Twelve pings at 100 ms span twice the idle limit; reading them answers each with a pong.
    let mut pings = 0;
    while pings < 12 {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("pings keep coming")
            .expect("still open")
            .expect("no error");
        match frame {
            Message::Ping(_) => pings += 1,
            Message::Close(c) => panic!("closed although it answered pings: {c:?}"),
            _ => {}
        }
    }
    assert_eq!(
        ask(&mut ws, CALC).await,
        r#"{"Type":"CalculateResponse","Data":{"result":3}}"#
    );
}

/// A WebSocket client on a raw socket: the upgrade by hand, then nothing is read or answered
/// until the test says so.
async fn raw_client(server: &TestServer) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let upgrade = "GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
                   Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
                   Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";
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
fn text_frame(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mut frame = vec![0x81];
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
fn frames(mut bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
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

/// Waits until the server counts no open connection.
async fn until_closed_by_the_server(server: &TestServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while open_connections(server).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server kept the connection"
        );
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_pinged_then_closed_as_idle() {
    use tokio::io::AsyncReadExt;
    let server = start(config()).await;
    let mut raw = raw_client(&server).await;
    until_closed_by_the_server(&server).await;
    let mut bytes = Vec::new();
    raw.read_to_end(&mut bytes).await.unwrap();
    let frames = frames(&bytes);
    assert!(
        frames.iter().any(|(op, _)| *op == 0x9),
        "no ping: {frames:?}"
    );
    let (op, close) = frames.last().expect("frames");
    assert_eq!(*op, 0x8, "the last frame is the close: {frames:?}");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1001);
    assert_eq!(&close[2..], b"idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_pin_its_connection() {
    use tokio::io::AsyncWriteExt;
    let server = start(config()).await;
    let mut raw = raw_client(&server).await;
    // Ask for far more than the socket buffers hold, and never read.
    for _ in 0..64 {
        let frame = text_frame(r#"{"Type":"HugeReply","Data":900000}"#);
        raw.write_all(&frame).await.unwrap();
    }
    until_closed_by_the_server(&server).await;
    // Shutdown is not held up by it either.
    tokio::time::timeout(Duration::from_secs(20), server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}
