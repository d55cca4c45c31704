//! The soak's clients: the streams of each tenant (a connection sending one request, paced or
//! back to back, and the outcome it expects), the subscriber counting pushes, and the window
//! of outcomes and clean latencies they fill between two samples.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use futures_util::{SinkExt as _, StreamExt as _};
use hdrhistogram::Histogram;
use tokio_tungstenite::tungstenite::Message;

use crate::ctx::BOT_TOKEN;
use crate::load::Ws;

/// A connection sending one request, paced (`every`) or back to back (`None`).
pub(super) struct Stream {
    name: &'static str,
    tenant: &'static str,
    request: String,
    every: Option<Duration>,
    /// The reply `Type`, or the error `code`, this stream expects.
    expect: &'static str,
}

/// The mixed tenant's streams; `subscriber` is the user id the notifier pushes to.
pub(super) fn mixed_streams(subscriber: i64) -> Vec<Stream> {
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

pub(super) fn clean_streams() -> Vec<Stream> {
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
pub(super) struct Window {
    pub(super) clean: Histogram<u64>,
    pub(super) outcomes: BTreeMap<String, u64>,
    pub(super) slowest_ms: BTreeMap<String, u64>,
}

impl Window {
    pub(super) fn new() -> Self {
        Self {
            clean: Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds"),
            outcomes: BTreeMap::new(),
            slowest_ms: BTreeMap::new(),
        }
    }
}

/// What the stream tasks share with the sampler.
pub(super) struct Shared {
    pub(super) window: Mutex<Window>,
    pub(super) stop: AtomicBool,
    pub(super) next_user: std::sync::atomic::AtomicI64,
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
pub(super) async fn drive(base: String, stream: Stream, shared: Arc<Shared>) {
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
pub(super) async fn subscriber(base: String, user: i64, shared: Arc<Shared>) -> anyhow::Result<()> {
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
