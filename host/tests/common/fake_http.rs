//! A real HTTP/1.1 server on 127.0.0.1:0 whose answers the test scripts: it stands in for
//! Telegram's Bot API (which cannot be reached from here) and for the origins a guest fetches.
//! It records every request it receives, with the time it arrived.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::eventually;

/// One request the server received.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The request target, e.g. `/bot123:ABC/sendMessage`.
    pub path: String,
    /// The body as text.
    pub body: String,
    /// When its head had arrived.
    pub at: Instant,
}

impl Recorded {
    /// The body as JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_default()
    }
}

/// What to answer.
pub enum Reply {
    /// A status and a JSON body.
    Json(u16, String),
    /// 302 to this location.
    Redirect(String),
    /// 200 with this many bytes of `x`.
    Bytes(usize),
    /// Read the request, then never answer; count the client going away.
    Hang,
    /// Wait, then answer the other reply (a long poll with nothing to return).
    After(Duration, Box<Reply>),
}

type Script = dyn Fn(&Recorded) -> Reply + Send + Sync;

/// A running fake server.
pub struct FakeHttp {
    /// Its address.
    pub addr: SocketAddr,
    calls: Arc<Mutex<Vec<Recorded>>>,
    hung_up: Arc<std::sync::atomic::AtomicUsize>,
    script: Arc<Script>,
    task: tokio::task::JoinHandle<()>,
}

impl FakeHttp {
    /// Serves `script` on 127.0.0.1:0.
    pub async fn start(script: impl Fn(&Recorded) -> Reply + Send + Sync + 'static) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let calls = Arc::new(Mutex::new(Vec::new()));
        let hung_up = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let script: Arc<Script> = Arc::new(script);
        let task = accept(listener, &script, &calls, &hung_up);
        Self {
            addr,
            calls,
            hung_up,
            script,
            task,
        }
    }

    /// Stops listening and drops every connection it is serving: clients get refused until
    /// [`Self::come_back`].
    pub fn go_away(&mut self) {
        self.task.abort();
    }

    /// Listens on the same address again.
    pub async fn come_back(&mut self) {
        let listener = tokio::net::TcpListener::bind(self.addr).await.unwrap();
        self.task = accept(listener, &self.script, &self.calls, &self.hung_up);
    }

    /// A Bot API stand-in answering `{"ok": true, "result": result}` to every call.
    pub async fn bot_api_ok(result: serde_json::Value) -> Self {
        let body = serde_json::json!({"ok": true, "result": result}).to_string();
        Self::start(move |_| Reply::Json(200, body.clone())).await
    }

    /// `http://ADDR`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many clients closed a connection it was hanging on.
    pub fn hung_up(&self) -> usize {
        self.hung_up.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Waits until a client has closed a connection this server was hanging on; panics if
    /// none has by `deadline`.
    pub async fn wait_for_hang_up(&self, deadline: Instant) {
        let within = deadline.saturating_duration_since(Instant::now());
        eventually("a client hanging up", within, async || self.hung_up() > 0).await;
    }

    /// Waits until `n` requests have arrived; panics if they have not within 10 s.
    pub async fn wait_for_calls(&self, n: usize) {
        eventually(
            &format!("{n} requests arriving"),
            Duration::from_secs(10),
            async || match self.calls().len() {
                arrived if arrived >= n => Ok(()),
                arrived => Err(format!("{arrived} arrived")),
            },
        )
        .await;
    }

    /// Every request so far.
    pub fn calls(&self) -> Vec<Recorded> {
        self.calls.lock().unwrap().clone()
    }
}

fn accept(
    listener: tokio::net::TcpListener,
    script: &Arc<Script>,
    calls: &Arc<Mutex<Vec<Recorded>>>,
    hung_up: &Arc<std::sync::atomic::AtomicUsize>,
) -> tokio::task::JoinHandle<()> {
    let (script, calls, hung_up) = (script.clone(), calls.clone(), hung_up.clone());
    tokio::spawn(async move {
        // Connections are served inside this task, so aborting it drops them too.
        let mut serving = tokio::task::JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((socket, _)) = accepted else { return };
                    let (script, calls, hung_up) = (script.clone(), calls.clone(), hung_up.clone());
                    serving.spawn(serve(socket, script, calls, hung_up));
                }
                Some(_) = serving.join_next(), if !serving.is_empty() => {}
            }
        }
    })
}

impl Drop for FakeHttp {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(
    mut socket: tokio::net::TcpStream,
    script: Arc<Script>,
    calls: Arc<Mutex<Vec<Recorded>>>,
    hung_up: Arc<std::sync::atomic::AtomicUsize>,
) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_len, method, path, content_length) = loop {
        let Ok(n) = socket.read(&mut chunk).await else {
            return;
        };
        if n == 0 {
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        let mut headers = [httparse::EMPTY_HEADER; 64];
        let mut request = httparse::Request::new(&mut headers);
        if let Ok(httparse::Status::Complete(len)) = request.parse(&buf) {
            let length = request
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse().ok())
                .unwrap_or(0usize);
            let method = request.method.unwrap_or("").to_string();
            let path = request.path.unwrap_or("").to_string();
            break (len, method, path, length);
        }
    };
    let at = Instant::now();
    while buf.len() < head_len + content_length {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let body = String::from_utf8_lossy(&buf[head_len..head_len + content_length]).to_string();
    let call = Recorded {
        method,
        path,
        body,
        at,
    };
    let mut reply = script(&call);
    calls.lock().unwrap().push(call);
    while let Reply::After(wait, then) = reply {
        tokio::time::sleep(wait).await;
        reply = *then;
    }
    let (status, extra, body) = match reply {
        Reply::Json(status, body) => (status, "Content-Type: application/json\r\n".into(), body),
        Reply::Redirect(to) => (302, format!("Location: {to}\r\n"), String::new()),
        Reply::Bytes(n) => (200, String::new(), "x".repeat(n)),
        Reply::Hang => {
            let closed = async { while matches!(socket.read(&mut chunk).await, Ok(n) if n > 0) {} };
            if tokio::time::timeout(Duration::from_secs(3600), closed)
                .await
                .is_ok()
            {
                hung_up.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            return;
        }
        Reply::After(..) => unreachable!("resolved above"),
    };
    let head = format!(
        "HTTP/1.1 {status} X\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = socket.write_all(head.as_bytes()).await;
    let _ = socket.write_all(body.as_bytes()).await;
    let _ = socket.shutdown().await;
}
