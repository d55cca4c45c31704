//! The client side of the connections run: a task per socket that reads it (answering pings)
//! and, for a subscriber, subscribes and counts the pushes it gets; and the pusher that sends
//! one push at a time and waits for every subscriber to have it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::bail;
use futures_util::{SinkExt as _, StreamExt as _};
use tokio_tungstenite::tungstenite::Message;

use super::{Push, round2};
use crate::load::Ws;
use crate::procstat;

/// What the readers have seen, shared by the run, its reader tasks and the pusher.
#[derive(Default)]
pub(super) struct Counters {
    pub(super) subscribed: AtomicUsize,
    delivered: AtomicUsize,
    /// Nanoseconds after `base` of the first and last delivery of the current push.
    first_ns: AtomicU64,
    last_ns: AtomicU64,
}

/// Reads `ws` until it closes. A subscriber first subscribes, then counts `CounterChanged`.
pub(super) async fn read(mut ws: Ws, subscribe: bool, c: Arc<Counters>, base: Instant) {
    if subscribe {
        let req = r#"{"Type":"SubscribeRequest","Data":{},"Id":1}"#;
        if ws.send(Message::text(req)).await.is_err() {
            return;
        }
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("SubscribeResponse") => break,
                Some(Ok(Message::Text(t))) => {
                    eprintln!("  subscribe: unexpected reply {t}");
                    return;
                }
                Some(Ok(_)) => continue,
                _ => return,
            }
        }
        c.subscribed.fetch_add(1, Ordering::AcqRel);
    }
    while let Some(Ok(frame)) = ws.next().await {
        if let Message::Text(t) = frame
            && t.contains("\"CounterChanged\"")
        {
            let ns = base.elapsed().as_nanos() as u64;
            c.first_ns.fetch_min(ns, Ordering::AcqRel);
            c.last_ns.fetch_max(ns, Ordering::AcqRel);
            c.delivered.fetch_add(1, Ordering::AcqRel);
        }
    }
}

/// `count` pushes, one after the other, each waited for at every subscriber.
pub(super) async fn pushes(
    url: &str,
    count: usize,
    subscribers: usize,
    c: &Counters,
    base: Instant,
    pid: u32,
) -> anyhow::Result<Vec<Push>> {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let mut out = Vec::new();
    for i in 0..count {
        c.first_ns.store(u64::MAX, Ordering::Release);
        c.last_ns.store(0, Ordering::Release);
        let before = c.delivered.load(Ordering::Acquire);
        let cpu0 = procstat::cpu_time(pid)?;
        let sent = base.elapsed().as_nanos() as u64;
        let req = format!(r#"{{"Type":"IncrementRequest","Data":{{"by":1}},"Id":{i}}}"#);
        ws.send(Message::text(req)).await?;
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) if t.contains("IncrementResponse") => break,
                Some(Ok(Message::Text(t))) => bail!("IncrementRequest: unexpected reply {t}"),
                Some(Ok(_)) => continue,
                other => bail!("IncrementRequest: connection ended: {other:?}"),
            }
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while c.delivered.load(Ordering::Acquire) - before < subscribers {
            if Instant::now() > deadline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let cpu = procstat::cpu_time(pid)?.saturating_sub(cpu0);
        let delivered = c.delivered.load(Ordering::Acquire) - before;
        let since = |ns: u64| ns.saturating_sub(sent) as f64 / 1e6;
        out.push(Push {
            delivered,
            first_ms: round2(since(c.first_ns.load(Ordering::Acquire))),
            last_ms: round2(since(c.last_ns.load(Ordering::Acquire))),
            server_cpu_ms: round2(cpu.as_secs_f64() * 1000.0),
            cpu_us_per_delivered: round2(cpu.as_secs_f64() * 1e6 / delivered.max(1) as f64),
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = ws.close(None).await;
    Ok(out)
}
