//! `extws-bench soak` (`make soak`): a release server under steady mixed load for a long time,
//! sampled every 10 s. Tenant `mixed` gets calc, counter (kv writes, pushes to a subscriber and
//! to a user) and hostile calls (loops past the deadline, memory bombs, traps); tenant `clean`
//! gets calc only, alone during a baseline and then next to `mixed`. Each sample has the
//! server's RSS, its open file descriptors and the clean tenant's p50/p99; the verdicts are
//! flat memory, no fd growth, the clean p99 within a bound and every reply as expected.
//! Writes soak.json, soak.csv and soak.png (see [`crate::soak_chart`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use serde::Serialize;
use tokio_tungstenite::tungstenite::Message;

use crate::load::Ws;
use crate::procstat;
use crate::servers::ServerCmd;
use crate::suite::BOT_TOKEN;

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakArgs {
    /// Length of the mixed phase.
    pub duration: Duration,
    /// Clean traffic alone before it (the p99 baseline).
    pub baseline: Duration,
    /// Between samples.
    pub interval: Duration,
    /// The clean tenant's p99 over the mixed phase must stay under this.
    pub p99_bound: Duration,
    /// The extws-wasm binary (a release build).
    pub extws: PathBuf,
    /// Directory of the built components.
    pub guests: PathBuf,
    /// Output directory.
    pub out: PathBuf,
}

/// One 10-s sample.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    /// Seconds since the load started.
    pub t_s: f64,
    /// `baseline` (clean only) or `mixed`.
    pub phase: &'static str,
    /// Server resident memory.
    pub rss_kib: u64,
    /// Server open file descriptors.
    pub fds: usize,
    /// Clean replies in the window, and their latency.
    pub clean_replies: u64,
    pub clean_p50_us: u64,
    pub clean_p99_us: u64,
    /// Replies in the window per `stream:outcome`.
    pub outcomes: BTreeMap<String, u64>,
    /// The slowest reply of the window per stream, in ms.
    pub slowest_ms: BTreeMap<String, u64>,
}

/// One pass criterion.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub name: String,
    pub pass: bool,
    pub detail: String,
}

/// Everything a soak run wrote.
#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub duration_s: u64,
    pub baseline_s: u64,
    pub machine: serde_json::Value,
    /// /proc/loadavg when the run started and ended (other work on the machine).
    pub loadavg_start: String,
    pub loadavg_end: String,
    pub samples: Vec<Sample>,
    /// Clean p99 over the whole baseline and the whole mixed phase, in µs.
    pub clean_p99_baseline_us: u64,
    pub clean_p99_mixed_us: u64,
    pub verdicts: Vec<Verdict>,
}

/// A connection sending one request, paced (`every`) or back to back (`None`).
struct Stream {
    name: &'static str,
    tenant: &'static str,
    request: String,
    every: Option<Duration>,
    /// The reply `Type`, or the error `code`, this stream expects.
    expect: &'static str,
}

/// The mixed tenant's streams; `subscriber` is the user id the notifier pushes to.
fn mixed_streams(subscriber: i64) -> Vec<Stream> {
    let s = |name, request: &str, every: Option<u64>, expect| Stream {
        name,
        tenant: "mixed",
        request: request.to_string(),
        every: every.map(Duration::from_millis),
        expect,
    };
    let notify =
        format!(r#"{{"Type":"NotifyUserRequest","Data":{{"user":{subscriber},"text":"hi"}}}}"#);
    let mut out = Vec::new();
    for _ in 0..4 {
        out.push(s("calc", CALC, Some(20), "CalculateResponse"));
        out.push(s(
            "increment",
            r#"{"Type":"IncrementRequest"}"#,
            Some(50),
            "IncrementResponse",
        ));
    }
    out.push(s("notify", &notify, Some(100), "NotifyUserResponse"));
    // Spins until its 1 s deadline, every 2 s: half a core, all the time.
    out.push(s(
        "loop",
        r#"{"Type":"LoopForever"}"#,
        Some(2000),
        "timeout",
    ));
    out.push(s(
        "memory_bomb",
        r#"{"Type":"MemoryHog"}"#,
        Some(500),
        "limit",
    ));
    out.push(s(
        "trap",
        r#"{"Type":"Panic"}"#,
        Some(100),
        "handler_failed",
    ));
    out
}

fn clean_streams() -> Vec<Stream> {
    (0..4)
        .map(|_| Stream {
            name: "clean_calc",
            tenant: "clean",
            request: CALC.into(),
            every: Some(Duration::from_millis(20)),
            expect: "CalculateResponse",
        })
        .collect()
}

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2,3,4,5,6,7,8,9,10]}}"#;

/// What the streams saw since the last sample.
struct Window {
    clean: Histogram<u64>,
    outcomes: BTreeMap<String, u64>,
    slowest_ms: BTreeMap<String, u64>,
}

impl Window {
    fn new() -> Self {
        Self {
            clean: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            outcomes: BTreeMap::new(),
            slowest_ms: BTreeMap::new(),
        }
    }
}

struct Shared {
    window: Mutex<Window>,
    stop: AtomicBool,
    next_user: std::sync::atomic::AtomicI64,
}

impl Shared {
    fn record(&self, stream: &str, outcome: &str, latency: Option<Duration>, clean: bool) {
        let mut w = self.window.lock().unwrap();
        *w.outcomes.entry(format!("{stream}:{outcome}")).or_default() += 1;
        if let Some(l) = latency {
            let slowest = w.slowest_ms.entry(stream.to_string()).or_default();
            *slowest = (*slowest).max(l.as_millis() as u64);
            if clean {
                let _ = w.clean.record((l.as_micros() as u64).max(1));
            }
        }
    }
}

/// The server's configuration: both tenants with HMAC auth and opened rate limits; the
/// mixed one keeps the default deadline (1 s), memory (64 MiB) and concurrency (8).
fn config(args: &SoakArgs) -> String {
    let g = |name: &str| {
        args.guests
            .join(format!("{name}.wasm"))
            .display()
            .to_string()
    };
    let tenant = |name: &str, components: &[&str]| {
        let mut t = format!(
            "[[tenant]]\nname = \"{name}\"\nroute = \"/{name}\"\n[tenant.auth]\n\
             bot_token = \"{BOT_TOKEN}\"\nmax_age = 0\n[tenant.limits]\n\
             rate_per_second = 1000000\nrate_burst = 1000000\n"
        );
        for c in components {
            t += &format!("[[tenant.component]]\npath = {:?}\n", g(c));
        }
        t
    };
    format!(
        "# Generated by extws-bench soak.\ndata_dir = {:?}\n{}\n{}",
        args.out.join("data").display().to_string(),
        tenant(
            "mixed",
            &["calc", "counter", "loop-forever", "memory-hog", "trap"]
        ),
        tenant("clean", &["calc"])
    )
}

fn signed(user: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    extws_wasm::auth::telegram::sign_hmac(
        &[
            ("auth_date".into(), now.to_string()),
            (
                "user".into(),
                format!(r#"{{"id":{user},"first_name":"Soak"}}"#),
            ),
        ],
        BOT_TOKEN,
    )
}

async fn connect(base: &str, tenant: &str, user: i64) -> anyhow::Result<Ws> {
    let url = format!("{base}/{tenant}?{}", signed(user));
    let (ws, _) = tokio::time::timeout(
        Duration::from_secs(30),
        tokio_tungstenite::connect_async(url.as_str()),
    )
    .await
    .context("connect timed out")??;
    Ok(ws)
}

/// The reply's `Type`, or its error `code` for a HandlerException.
fn outcome(text: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(text).unwrap_or_default();
    match v["Type"].as_str() {
        Some("HandlerException") => v["Data"]["code"].as_str().unwrap_or("?").to_string(),
        Some(t) => t.to_string(),
        None => "not_json".into(),
    }
}

/// Runs one stream until stopped; reconnects (recording `disconnected`) if its socket ends.
async fn drive(base: String, stream: Stream, shared: Arc<Shared>) {
    let clean = stream.tenant == "clean";
    while !shared.stop.load(Ordering::Relaxed) {
        let user = shared.next_user.fetch_add(1, Ordering::Relaxed);
        let Ok(mut ws) = connect(&base, stream.tenant, user).await else {
            shared.record(stream.name, "connect_failed", None, false);
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        };
        let mut tick = stream.every.map(|every| {
            let mut t = tokio::time::interval(every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            if shared.stop.load(Ordering::Relaxed) {
                return;
            }
            if let Some(t) = &mut tick {
                t.tick().await;
            }
            let started = Instant::now();
            if ws
                .send(Message::text(stream.request.clone()))
                .await
                .is_err()
            {
                break;
            }
            let reply = loop {
                match ws.next().await {
                    Some(Ok(Message::Text(t))) => break Some(t),
                    Some(Ok(_)) => continue,
                    _ => break None,
                }
            };
            let Some(reply) = reply else { break };
            let got = outcome(&reply);
            let ok = if got == stream.expect {
                "expected"
            } else {
                &got
            };
            shared.record(stream.name, ok, Some(started.elapsed()), clean);
        }
        shared.record(stream.name, "disconnected", None, false);
    }
}

/// The subscriber: subscribes to the counter topic, then counts what is pushed to it.
async fn subscriber(base: String, user: i64, shared: Arc<Shared>) -> anyhow::Result<()> {
    let mut ws = connect(&base, "mixed", user).await?;
    ws.send(Message::text(r#"{"Type":"SubscribeRequest"}"#))
        .await?;
    while !shared.stop.load(Ordering::Relaxed) {
        match tokio::time::timeout(Duration::from_secs(1), ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => shared.record("pushes", &outcome(&t), None, false),
            Ok(Some(Ok(_))) | Err(_) => {}
            Ok(_) => {
                shared.record("pushes", "disconnected", None, false);
                return Ok(());
            }
        }
    }
    Ok(())
}

fn fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Runs the soak; the report's verdicts say whether it passed.
pub fn run(args: &SoakArgs) -> anyhow::Result<SoakReport> {
    std::fs::create_dir_all(&args.out)?;
    let _ = std::fs::remove_dir_all(args.out.join("data"));
    let config = args.out.join("soak.toml");
    std::fs::write(&config, self::config(args))?;
    let cmd = ServerCmd {
        program: args.extws.clone(),
        args: [
            "serve",
            "--config",
            &config.display().to_string(),
            "--listen",
            "127.0.0.1:0",
        ]
        .map(String::from)
        .to_vec(),
        env: vec![],
        cpus: None,
    };
    let server = cmd.spawn(Duration::from_secs(300))?;
    let loadavg_start = loadavg();
    let rt = tokio::runtime::Runtime::new()?;
    let shared = Arc::new(Shared {
        window: Mutex::new(Window::new()),
        stop: AtomicBool::new(false),
        next_user: 1.into(),
    });
    let base = format!("ws://{}", server.addr);
    let pid = server.pid;
    let (samples, baseline_hist, mixed_hist) = rt.block_on(async {
        let mut tasks = Vec::new();
        for s in clean_streams() {
            tasks.push(tokio::spawn(drive(base.clone(), s, shared.clone())));
        }
        let start = Instant::now();
        let mut samples = Vec::new();
        let mut baseline_hist = Window::new().clean;
        let mut mixed_hist = Window::new().clean;
        let mut mixed_started = false;
        let mut tick =
            tokio::time::interval_at(tokio::time::Instant::now() + args.interval, args.interval);
        while start.elapsed() < args.baseline + args.duration {
            if !mixed_started && start.elapsed() >= args.baseline {
                mixed_started = true;
                let subscriber_id = 0;
                let sub = subscriber(base.clone(), subscriber_id, shared.clone());
                tasks.push(tokio::spawn(async move {
                    let _ = sub.await;
                }));
                for s in mixed_streams(subscriber_id) {
                    tasks.push(tokio::spawn(drive(base.clone(), s, shared.clone())));
                }
            }
            tick.tick().await;
            let window = std::mem::replace(&mut *shared.window.lock().unwrap(), Window::new());
            let phase = if mixed_started { "mixed" } else { "baseline" };
            let hist = if mixed_started {
                &mut mixed_hist
            } else {
                &mut baseline_hist
            };
            hist.add(&window.clean).expect("same bounds");
            let sample = Sample {
                t_s: start.elapsed().as_secs_f64().round(),
                phase,
                rss_kib: procstat::memory(pid).map_or(0, |m| m.rss_kib),
                fds: fds(pid),
                clean_replies: window.clean.len(),
                clean_p50_us: window.clean.value_at_quantile(0.5),
                clean_p99_us: window.clean.value_at_quantile(0.99),
                outcomes: window.outcomes,
                slowest_ms: window.slowest_ms,
            };
            eprintln!(
                "soak {:>4}s {phase:<8} rss {:>7} KiB  fds {:>4}  clean p50 {:>6} µs p99 {:>6} µs",
                sample.t_s, sample.rss_kib, sample.fds, sample.clean_p50_us, sample.clean_p99_us
            );
            samples.push(sample);
        }
        shared.stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        (samples, baseline_hist, mixed_hist)
    });
    let verdicts = verdicts(args, &samples, &mixed_hist);
    let report = SoakReport {
        duration_s: args.duration.as_secs(),
        baseline_s: args.baseline.as_secs(),
        machine: procstat::machine(),
        loadavg_start,
        loadavg_end: loadavg(),
        clean_p99_baseline_us: baseline_hist.value_at_quantile(0.99),
        clean_p99_mixed_us: mixed_hist.value_at_quantile(0.99),
        samples,
        verdicts,
    };
    server.stop();
    Ok(report)
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// Outcomes that are the deadline doing its job rather than a fault (counted and reported):
/// a kv write is one redb commit with fsync, and on a shared disk an fsync can stall for
/// hundreds of milliseconds, so an increment queued behind a few of them is answered `timeout`
/// at its 1 s deadline; a memory bomb starved of CPU on a loaded machine can reach its
/// deadline before its memory limit.
const TOLERATED: [&str; 2] = ["increment:timeout", "memory_bomb:timeout"];

/// The pass criteria. Memory and fds compare an early window of the mixed phase (its second
/// minute; the middle third of a run under 3 minutes) with its last minute (last third).
fn verdicts(args: &SoakArgs, samples: &[Sample], mixed: &Histogram<u64>) -> Vec<Verdict> {
    let t0 = args.baseline.as_secs_f64();
    let d = args.duration.as_secs_f64();
    let (early, late) = if d >= 180.0 {
        ((60.0, 120.0), (d - 60.0, d))
    } else {
        ((d / 3.0, 2.0 * d / 3.0), (2.0 * d / 3.0, d))
    };
    let within = |(a, b): (f64, f64)| {
        samples
            .iter()
            .filter(move |s| s.phase == "mixed" && s.t_s - t0 > a && s.t_s - t0 <= b)
    };
    let rss = |w| mean(&within(w).map(|s| s.rss_kib as f64).collect::<Vec<_>>());
    let max_fds = |w| within(w).map(|s| s.fds).max().unwrap_or(0);
    let (rss_early, rss_late) = (rss(early), rss(late));
    let growth = rss_late / rss_early.max(1.0) - 1.0;
    let (fds_early, fds_late) = (max_fds(early), max_fds(late));
    let p99 = mixed.value_at_quantile(0.99);
    let worst = samples
        .iter()
        .filter(|s| s.phase == "mixed")
        .map(|s| s.clean_p99_us)
        .max()
        .unwrap_or(0);
    let (mut unexpected, mut tolerated) = (BTreeMap::new(), BTreeMap::new());
    for s in samples {
        for (k, n) in &s.outcomes {
            let into = if TOLERATED.contains(&k.as_str()) {
                &mut tolerated
            } else if !k.ends_with(":expected") && !k.starts_with("pushes:") {
                &mut unexpected
            } else {
                continue;
            };
            *into.entry(k.clone()).or_insert(0u64) += n;
        }
    }
    let pushes: u64 = samples
        .iter()
        .flat_map(|s| &s.outcomes)
        .filter(|(k, _)| *k == "pushes:CounterChanged" || *k == "pushes:Notice")
        .map(|(_, n)| n)
        .sum();
    vec![
        Verdict {
            name: "memory flat".into(),
            pass: growth <= 0.10,
            detail: format!(
                "mean RSS {:.1} MiB in {:.0}-{:.0} s of the mixed load, {:.1} MiB in {:.0}-{:.0} s \
                 ({:+.1} %, bound +10 %)",
                rss_early / 1024.0,
                early.0,
                early.1,
                rss_late / 1024.0,
                late.0,
                late.1,
                growth * 100.0
            ),
        },
        Verdict {
            name: "no fd growth".into(),
            pass: fds_late <= fds_early + 4,
            detail: format!("most open fds {fds_early} early, {fds_late} late (bound +4)"),
        },
        Verdict {
            name: "clean p99 bounded".into(),
            pass: p99 <= args.p99_bound.as_micros() as u64,
            detail: format!(
                "clean p99 {:.2} ms over the mixed phase (worst 10-s window {:.2} ms), bound {} ms",
                p99 as f64 / 1000.0,
                worst as f64 / 1000.0,
                args.p99_bound.as_millis()
            ),
        },
        Verdict {
            name: "every reply as expected".into(),
            pass: unexpected.is_empty() && pushes > 0,
            detail: format!(
                "unexpected outcomes {unexpected:?}; tolerated {tolerated:?}; {pushes} pushes \
                 received"
            ),
        },
    ]
}

/// Writes soak.json, soak.csv and soak.png into `out`.
pub fn write_outputs(report: &SoakReport, out: &std::path::Path) -> anyhow::Result<()> {
    std::fs::write(out.join("soak.json"), serde_json::to_string_pretty(report)?)?;
    let mut csv = String::from("t_s,phase,rss_kib,fds,clean_replies,clean_p50_us,clean_p99_us\n");
    for s in &report.samples {
        csv += &format!(
            "{},{},{},{},{},{},{}\n",
            s.t_s, s.phase, s.rss_kib, s.fds, s.clean_replies, s.clean_p50_us, s.clean_p99_us
        );
    }
    std::fs::write(out.join("soak.csv"), csv)?;
    crate::soak_chart::draw(report, &out.join("soak.png"))
}
