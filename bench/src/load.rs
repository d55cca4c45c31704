//! The load generator: N WebSocket connections, each keeping D requests in flight (correlated
//! by `Id`), a warm-up, then a measured window of up to M completions per connection (or a
//! time limit), with every latency in an HDR histogram.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow};
use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// The calc request every throughput scenario sends.
pub const CALC_TYPE: &str = "CalculateRequest";
/// Its `Data`.
pub const CALC_DATA: &str = r#"{"numbers":[1,2,3,4,5,6,7,8,9,10]}"#;
/// The reply `Type` a successful calc call has.
pub const CALC_REPLY: &str = "CalculateResponse";

/// One load run.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    /// `ws://...` including path and query (initData).
    pub url: String,
    /// Connections.
    pub connections: usize,
    /// Measured completions per connection (upper bound; `max_duration` may end the run first).
    pub messages: u64,
    /// Requests in flight per connection.
    pub depth: usize,
    /// Unmeasured warm-up.
    pub warmup: Duration,
    /// Longest measured window.
    pub max_duration: Duration,
    /// Request `Type`.
    pub msg_type: String,
    /// Request `Data` (JSON).
    pub data: String,
    /// The reply `Type` that counts as success (others count as errors).
    pub expect: String,
    /// After the window, wait for the replies still in flight (else drop the connections).
    pub drain: bool,
}

impl LoadSpec {
    /// A calc run against `url`.
    pub fn calc(url: &str, connections: usize, depth: usize) -> Self {
        Self {
            url: url.to_string(),
            connections,
            messages: 1_000_000,
            depth,
            warmup: Duration::from_millis(500),
            max_duration: Duration::from_secs(2),
            msg_type: CALC_TYPE.into(),
            data: CALC_DATA.into(),
            expect: CALC_REPLY.into(),
            drain: true,
        }
    }
}

/// Latency percentiles in microseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Latency {
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

impl Latency {
    fn of(h: &Histogram<u64>) -> Self {
        if h.is_empty() {
            return Self::default();
        }
        Self {
            p50_us: h.value_at_quantile(0.50) as f64,
            p90_us: h.value_at_quantile(0.90) as f64,
            p99_us: h.value_at_quantile(0.99) as f64,
            max_us: h.max() as f64,
            mean_us: (h.mean() * 10.0).round() / 10.0,
        }
    }
}

/// What a load run measured on the client side.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct LoadResult {
    pub connections: usize,
    pub depth: usize,
    /// Replies received in the window (successes and errors).
    pub completed: u64,
    /// Replies whose `Type` was not the expected one.
    pub errors: u64,
    /// The first unexpected reply, for diagnosis.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_error: Option<String>,
    /// Length of the measured window.
    pub window_s: f64,
    /// `completed / window_s`.
    pub msgs_per_s: f64,
    pub latency: Latency,
}

struct Control {
    base: Instant,
    /// Nanoseconds after `base` when the window opened; 0 while warming up.
    window_start: AtomicU64,
    stop: AtomicBool,
}

impl Control {
    fn measuring(&self) -> bool {
        self.window_start.load(Ordering::Acquire) != 0
    }
}

struct ConnStats {
    hist: Histogram<u64>,
    completed: u64,
    errors: u64,
    first_error: Option<String>,
    /// When this connection completed its last measured reply.
    last: Option<Instant>,
}

#[derive(Deserialize)]
struct Reply<'a> {
    #[serde(rename = "Type", borrow)]
    msg_type: Cow<'a, str>,
    #[serde(rename = "Id")]
    id: Option<u64>,
}

/// Opens `n` connections to `url`, at most `parallel` handshakes at a time. `{conn}` in `url`
/// becomes each connection's index (0, 1, ...), e.g. to spread them over tenants `/t{conn}`.
pub async fn connect_all(url: &str, n: usize, parallel: usize) -> anyhow::Result<Vec<Ws>> {
    let sem = Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let sem = sem.clone();
        let url = url.replace("{conn}", &i.to_string());
        tasks.push(tokio::spawn(async move {
            let _permit = sem.acquire().await.expect("semaphore open");
            let connect = tokio_tungstenite::connect_async(url.as_str());
            match tokio::time::timeout(Duration::from_secs(30), connect).await {
                Ok(Ok((ws, _))) => Ok(ws),
                Ok(Err(e)) => Err(anyhow!("connect: {e}")),
                Err(_) => Err(anyhow!("connect: timed out")),
            }
        }));
    }
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.context("connect task")??);
    }
    Ok(out)
}

/// Runs one load: connects, warms up, measures, and (if `drain`) waits for the rest.
pub async fn run(spec: &LoadSpec) -> anyhow::Result<LoadResult> {
    let sockets = connect_all(&spec.url, spec.connections, 64).await?;
    run_on(spec, sockets, || {}).await
}

/// Like [`run`] on already open sockets; `on_window` runs when the measured window opens (the
/// caller samples the server's CPU time there).
pub async fn run_on(
    spec: &LoadSpec,
    sockets: Vec<Ws>,
    on_window: impl FnOnce(),
) -> anyhow::Result<LoadResult> {
    let ctl = Arc::new(Control {
        base: Instant::now(),
        window_start: AtomicU64::new(0),
        stop: AtomicBool::new(false),
    });
    let spec = Arc::new(spec.clone());
    let mut tasks = Vec::with_capacity(sockets.len());
    for ws in sockets {
        let (ctl, spec) = (ctl.clone(), spec.clone());
        tasks.push(tokio::spawn(drive(ws, ctl, spec)));
    }
    tokio::time::sleep(spec.warmup).await;
    let start = Instant::now();
    ctl.window_start.store(
        (start - ctl.base).as_nanos().max(1) as u64,
        Ordering::Release,
    );
    on_window();
    let deadline = tokio::time::Instant::from_std(start + spec.max_duration);
    let mut stopped_at = None;
    let mut stats = Vec::with_capacity(tasks.len());
    for mut t in tasks {
        let joined = if stopped_at.is_none() {
            tokio::select! {
                r = &mut t => Some(r),
                () = tokio::time::sleep_until(deadline) => None,
            }
        } else {
            None
        };
        let r = match joined {
            Some(r) => r,
            None => {
                if stopped_at.is_none() {
                    stopped_at = Some(Instant::now());
                    ctl.stop.store(true, Ordering::Release);
                }
                t.await
            }
        };
        stats.push(r.context("load task panicked")??);
    }
    let end = stopped_at
        .or_else(|| stats.iter().filter_map(|s| s.last).max())
        .unwrap_or(start);
    let mut hist = new_histogram();
    let (mut completed, mut errors, mut first_error) = (0, 0, None);
    for s in stats {
        hist.add(&s.hist).expect("same histogram bounds");
        completed += s.completed;
        errors += s.errors;
        first_error = first_error.or(s.first_error);
    }
    let window_s = (end - start).as_secs_f64().max(1e-9);
    Ok(LoadResult {
        connections: spec.connections,
        depth: spec.depth,
        completed,
        errors,
        first_error,
        window_s: (window_s * 1000.0).round() / 1000.0,
        msgs_per_s: (completed as f64 / window_s).round(),
        latency: Latency::of(&hist),
    })
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("valid histogram bounds")
}

async fn drive(ws: Ws, ctl: Arc<Control>, spec: Arc<LoadSpec>) -> anyhow::Result<ConnStats> {
    let (mut sink, mut stream) = ws.split();
    let mut stats = ConnStats {
        hist: new_histogram(),
        completed: 0,
        errors: 0,
        first_error: None,
        last: None,
    };
    let mut inflight: VecDeque<(u64, Instant)> = VecDeque::with_capacity(spec.depth);
    let mut next_id: u64 = 0;
    loop {
        let mut fed = false;
        while inflight.len() < spec.depth && !ctl.stop.load(Ordering::Acquire) {
            if ctl.measuring() && stats.completed + inflight.len() as u64 >= spec.messages {
                break;
            }
            next_id += 1;
            let text = format!(
                r#"{{"Type":"{}","Data":{},"Id":{next_id}}}"#,
                spec.msg_type, spec.data
            );
            sink.feed(Message::text(text)).await?;
            inflight.push_back((next_id, Instant::now()));
            fed = true;
        }
        if fed {
            sink.flush().await?;
        }
        if inflight.is_empty() || (!spec.drain && ctl.stop.load(Ordering::Acquire)) {
            break;
        }
        let frame = match tokio::time::timeout(Duration::from_secs(30), stream.next()).await {
            Ok(Some(frame)) => frame?,
            Ok(None) => anyhow::bail!("the server closed the connection"),
            Err(_) => anyhow::bail!("no reply within 30 s ({} in flight)", inflight.len()),
        };
        let text = match frame {
            Message::Text(t) => t,
            Message::Close(c) => anyhow::bail!("the server closed the connection: {c:?}"),
            _ => continue,
        };
        let now = Instant::now();
        let reply: Reply<'_> =
            serde_json::from_str(&text).with_context(|| format!("reply is not JSON: {text}"))?;
        let sent = match reply.id {
            Some(id) => match inflight.iter().position(|(i, _)| *i == id) {
                Some(pos) => inflight.remove(pos).map(|(_, t)| t),
                None => None,
            },
            None => inflight.pop_front().map(|(_, t)| t),
        };
        let Some(sent) = sent else {
            anyhow::bail!("reply with an unknown Id: {text}");
        };
        if ctl.measuring() && !ctl.stop.load(Ordering::Acquire) {
            let us = (now - sent).as_micros().max(1) as u64;
            stats.hist.saturating_record(us);
            stats.completed += 1;
            stats.last = Some(now);
            if reply.msg_type != spec.expect {
                stats.errors += 1;
                if stats.first_error.is_none() {
                    stats.first_error = Some(text.as_str().chars().take(300).collect());
                }
            }
        }
    }
    Ok(stats)
}

/// `  N ERRORS: first` when a run had errors, else nothing (for progress lines).
pub fn errors_note(load: &LoadResult) -> String {
    if load.errors > 0 {
        format!("  {} ERRORS: {:?}", load.errors, load.first_error)
    } else {
        String::new()
    }
}

/// Sends one calc request on a new connection and waits for its reply; returns the reply text.
pub async fn one_request(url: &str) -> anyhow::Result<String> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url)
        .await
        .context("connecting")?;
    let text = format!(r#"{{"Type":"{CALC_TYPE}","Data":{CALC_DATA},"Id":1}}"#);
    ws.send(Message::text(text)).await?;
    loop {
        match ws.next().await {
            Some(Ok(Message::Text(t))) => {
                let _ = ws.close(None).await;
                return Ok(t.as_str().to_string());
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return Err(e.into()),
            None => anyhow::bail!("closed before replying"),
        }
    }
}
