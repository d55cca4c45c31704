//! Shared harness of the integration tests: real servers on 127.0.0.1:0 running real
//! components from `target/guests/` (built by `make guests`), and real WebSocket clients.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use extws_wasm::auth::AuthPolicy;
use extws_wasm::config::{Route, TenantConfig};
use extws_wasm::runtime::{Capabilities, ComponentSpec, Limits};
use extws_wasm::{Config, Prepared};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A component built by `make guests`.
pub fn guest(name: &str) -> PathBuf {
    let path = repo().join("target/guests").join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run `make guests` (or `make test`, which builds it)",
        path.display()
    );
    path
}

/// A tenant named `name` on every path, without auth, serving `components`.
pub fn tenant(name: &str, components: &[&str]) -> TenantConfig {
    TenantConfig {
        name: name.into(),
        route: Route::any(),
        auth: AuthPolicy::disabled(),
        components: components
            .iter()
            .map(|c| ComponentSpec::fresh(guest(c)))
            .collect(),
        capabilities: Capabilities::default(),
        limits: Limits::default(),
        max_message_bytes: 1 << 20,
        fanout: false,
        static_dir: None,
        quota: extws_wasm::config::DEFAULT_QUOTA,
    }
}

/// A running in-process server.
pub struct TestServer {
    /// Its address.
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl TestServer {
    /// `ws://ADDR{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// Triggers graceful shutdown and waits for `run` to return.
    pub async fn shutdown(mut self) -> anyhow::Result<()> {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("server did not shut down")?
    }
}

/// Starts `config` on 127.0.0.1:0.
pub async fn start(config: Config) -> TestServer {
    try_start(config).await.expect("server failed to start")
}

/// Starts `config`, returning the load error if any.
pub async fn try_start(config: Config) -> anyhow::Result<TestServer> {
    let prepared = Prepared::new(config).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(extws_wasm::run(listener, prepared, async {
        let _ = stopped.await;
    }));
    Ok(TestServer {
        addr,
        stop: Some(stop),
        task,
    })
}

/// One tenant serving `components` without auth.
pub async fn start_simple(components: &[&str]) -> TestServer {
    start(Config::new(vec![tenant("default", components)])).await
}

/// Connects to `url`.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url.into_client_request().unwrap())
        .await
        .expect("connect failed");
    ws
}

/// Sends a text frame.
pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send failed");
}

/// The next text frame (skipping pings), with a generous timeout.
pub async fn recv(ws: &mut Ws) -> String {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("no reply within 30 s")
            .expect("connection ended")
            .expect("read error");
        match frame {
            Message::Text(t) => return t.to_string(),
            Message::Close(c) => panic!("closed instead of replying: {c:?}"),
            _ => continue,
        }
    }
}

/// Sends `text` and returns the reply.
pub async fn ask(ws: &mut Ws, text: &str) -> String {
    send(ws, text).await;
    recv(ws).await
}

/// Sends `text` and returns the reply parsed as JSON.
pub async fn ask_json(ws: &mut Ws, text: &str) -> serde_json::Value {
    let reply = ask(ws, text).await;
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"))
}

/// Waits for the server's close frame and returns it.
pub async fn expect_close(ws: &mut Ws) -> Option<CloseFrame> {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("no close within 30 s");
        match frame {
            Some(Ok(Message::Close(c))) => return c,
            Some(Ok(_)) => continue,
            None | Some(Err(_)) => return None,
        }
    }
}

/// The `Data.code` of a HandlerException reply.
pub fn error_code(reply: &serde_json::Value) -> &str {
    assert_eq!(reply["Type"], "HandlerException", "not an error: {reply}");
    reply["Data"]["code"].as_str().unwrap()
}

/// initData for user `id` signed with `token`, dated now.
pub fn signed_user(token: &str, id: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fields = vec![
        (
            "user".to_string(),
            format!(r#"{{"id":{id},"first_name":"U{id}"}}"#),
        ),
        ("auth_date".to_string(), now.to_string()),
    ];
    extws_wasm::auth::telegram::sign_hmac(&fields, token)
}

/// A fresh temporary directory for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("extws-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A real `redis-server` on a free loopback port, killed when dropped.
pub struct RedisServer {
    /// Its port.
    pub port: u16,
    child: Option<std::process::Child>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts one (fails the test with a clear message when redis-server is not installed).
    pub fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            port,
            child: None,
            dir: temp_dir("redis"),
        };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it (Redis "goes away").
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .current_dir(&self.dir)
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is required for these tests (apt-get install redis-server; .ci/run installs it)");
        self.child = Some(child);
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("redis-server did not start on port {}", self.port);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Spawns `command` (an `extws-wasm serve ...`), waits for its `listening on ws://ADDR` line and
/// returns the child and ADDR; the rest of its stderr is drained in the background.
pub fn spawn_listening(command: &mut std::process::Command) -> (std::process::Child, String) {
    use std::io::BufRead;
    let mut child = command
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("server exited before listening")
            .unwrap();
        if let Some(a) = line.strip_prefix("listening on ws://") {
            break a.to_string();
        }
    };
    std::thread::spawn(move || lines.for_each(drop));
    (child, addr)
}

// --- Raw clients: a socket the test controls byte by byte (no automatic pongs or reads). ---

/// `extws_connections_open` of the default tenant, from `/metrics`.
pub async fn open_connections(server: &TestServer) -> i64 {
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

/// A WebSocket client on a raw socket: the upgrade by hand, then nothing is read or answered
/// until the test says so.
pub async fn raw_client(server: &TestServer) -> tokio::net::TcpStream {
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

/// Waits until the server counts no open connection.
pub async fn until_closed_by_the_server(server: &TestServer) {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while open_connections(server).await != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the server kept the connection"
        );
        tokio::task::yield_now().await;
    }
}
