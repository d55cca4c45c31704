//! Shared harness of the integration tests: real servers on 127.0.0.1:0 running real
//! components from `target/guests/` (built by `make guests`), and real WebSocket clients.
#![allow(dead_code)]

pub mod fake_http;
pub mod fake_telegram;

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
        "{} is missing: the tests need the components in target/guests/; build them with \
         `make guests` (or just the Rust ones with `make guest-rust`), or run `make test`, which \
         builds them first",
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
        updates: None,
        push_history: extws_wasm::state::history::DEFAULT_HISTORY,
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

/// A pushed envelope without its `Seq` (user pushes carry one while push history is on), and
/// the `Seq`.
pub fn without_seq(envelope: &str) -> (String, Option<u64>) {
    let mut v: serde_json::Value = serde_json::from_str(envelope).unwrap();
    let seq = v.as_object_mut().unwrap().remove("Seq");
    (
        v.to_string(),
        seq.map(|s| s.as_u64().expect("Seq is an integer")),
    )
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
    /// Persistence: an append-only file fsynced before every reply, kept across restarts.
    durable: bool,
}

impl RedisServer {
    /// Starts one without persistence (fails the test with a clear message when redis-server
    /// is not installed).
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// Starts one that persists every write before replying (`appendfsync always`) and reloads
    /// it when restarted: what an operator who needs acknowledged writes to survive runs.
    pub fn start_durable() -> Self {
        Self::start_with(true)
    }

    fn start_with(durable: bool) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = Self {
            port,
            child: None,
            dir: temp_dir("redis"),
            durable,
        };
        server.restart();
        server
    }

    /// SIGSTOP: the process stays, its sockets stay open, nothing answers (a frozen Redis).
    pub fn freeze(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after [`Self::freeze`].
    pub fn thaw(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = std::process::Command::new("kill")
            .args([signal, &pid])
            .status()
            .unwrap();
        assert!(status.success(), "kill {signal} {pid}");
    }

    /// `redis://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Kills it with SIGKILL (Redis "goes away", flushing nothing).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and waits until it answers.
    pub fn restart(&mut self) {
        self.stop();
        let persistence: &[&str] = if self.durable {
            &["--appendonly", "yes", "--appendfsync", "always"]
        } else {
            &["--appendonly", "no"]
        };
        let child = std::process::Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1", "--save", ""])
            .args(persistence)
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

/// `extws_connections_open` of the default tenant.
pub async fn open_connections(server: &TestServer) -> i64 {
    metric(server.addr, r#"extws_connections_open{tenant="default"}"#).await as i64
}

/// A WebSocket client on a raw socket: the upgrade by hand, then nothing is read or answered
/// until the test says so.
pub async fn raw_client(server: &TestServer) -> tokio::net::TcpStream {
    raw_client_at(server.addr, "/").await
}

/// [`raw_client`] to `addr` (`HOST:PORT`) on `path`.
pub async fn raw_client_at(addr: impl std::fmt::Display, path: &str) -> tokio::net::TcpStream {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr.to_string())
        .await
        .unwrap();
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

/// `GET path` over a raw socket to `addr` (`HOST:PORT`); returns (status, body).
pub async fn http_get(addr: impl std::fmt::Display, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
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

/// The value of the sample `series` (e.g. `extws_instances_created_total{tenant="t",
/// lifecycle="fresh"}`) in the server's `/metrics`, or 0 when it is not there yet.
pub async fn metric(addr: impl std::fmt::Display, series: &str) -> f64 {
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "/metrics: {body}");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Polls `/metrics` until `series` reaches `at_least` (panics after 20 s).
pub async fn wait_for_metric(addr: impl std::fmt::Display, series: &str, at_least: f64) {
    let addr = addr.to_string();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let value = metric(&addr, series).await;
        if value >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} is {value} after 20 s, not >= {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The series counting `tenant`'s instances of `lifecycle`: it goes up when a call starts.
pub fn instances_created(tenant: &str, lifecycle: &str) -> String {
    format!(r#"extws_instances_created_total{{tenant="{tenant}",lifecycle="{lifecycle}"}}"#)
}

/// The `extws-wasm` binary built with these tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_extws-wasm");

/// A real `extws-wasm serve` child process on 127.0.0.1:0 (killed when dropped): its address,
/// its memory, and its output (stderr and stdout) line by line.
pub struct ChildServer {
    /// `HOST:PORT` it listens on.
    pub addr: String,
    child: Option<std::process::Child>,
    lines: std::sync::mpsc::Receiver<String>,
    /// Every stderr line read so far.
    pub seen: Vec<String>,
}

impl ChildServer {
    /// Runs `extws-wasm serve --listen 127.0.0.1:0 ARGS` and waits for its listening line.
    pub fn start<I, S>(args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        Self::start_with_env(args, std::iter::empty::<(&str, &str)>())
    }

    /// [`ChildServer::start`] with these environment variables set for the child.
    pub fn start_with_env<I, S, E, K, V>(args: I, env: E) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
        E: IntoIterator<Item = (K, V)>,
        K: AsRef<std::ffi::OsStr>,
        V: AsRef<std::ffi::OsStr>,
    {
        use std::io::BufRead;
        let mut child = std::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .envs(env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        // Both streams, so a test can check everything the binary printed.
        let stdout = child.stdout.take().unwrap();
        let out = tx.clone();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = out.send(line);
            }
        });
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line);
            }
        });
        let mut server = Self {
            addr: String::new(),
            child: Some(child),
            lines,
            seen: Vec::new(),
        };
        let line = server.wait_for_line("listening on ws://", Duration::from_secs(120));
        server.addr = line
            .split_once("listening on ws://")
            .unwrap()
            .1
            .trim()
            .to_string();
        server
    }

    /// `ws://ADDR{rest}`.
    pub fn url(&self, rest: &str) -> String {
        format!("ws://{}{rest}", self.addr)
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// Its resident memory (`VmRSS` of `/proc/PID/status`), in KiB.
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Waits for the next stderr line containing `needle` and returns it (panics, showing the
    /// log, when none comes `within` or the server exits).
    pub fn wait_for_line(&mut self, needle: &str, within: Duration) -> String {
        let deadline = std::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no log line with {needle:?} within {within:?} ({e}); stderr so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    /// SIGTERM, then wait up to `within` for the exit: its status, how long it took and its
    /// whole stderr (panics, showing the log, if it is still running then; it is killed).
    pub fn terminate(
        mut self,
        within: Duration,
    ) -> (std::process::ExitStatus, Duration, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        let signalled = std::time::Instant::now();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if signalled.elapsed() > within {
                let _ = child.kill();
                let _ = child.wait();
                while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(1)) {
                    self.seen.push(line);
                }
                panic!(
                    "still running {within:?} after SIGTERM; stderr:\n{}",
                    self.seen.join("\n")
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = signalled.elapsed();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, took, std::mem::take(&mut self.seen))
    }

    /// SIGTERM, wait for the exit, and return its status and its whole stderr.
    pub fn stop(mut self) -> (std::process::ExitStatus, Vec<String>) {
        let mut child = self.child.take().unwrap();
        let pid = child.id().to_string();
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        let status = child.wait().unwrap();
        // The reader thread ends at EOF, which disconnects the channel.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(10)) {
            self.seen.push(line);
        }
        (status, std::mem::take(&mut self.seen))
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
