//! `extws-bench history`: what push history costs per push (on vs off, embedded and Redis, one
//! push in flight and many), and what a push storm to 10,000 users nobody is connected as
//! leaves in the store (trimmed by size, then forgotten after the TTL). It drives the host's
//! own [`Services`] in process, so the numbers are the push path alone: no guest, no socket.
//! Redis is a `redis-server` it starts on a free port (skipped when there is none).

mod redis_server;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use extws_wasm::capabilities::Services;
use extws_wasm::capabilities::push::HistoryPolicy;
use extws_wasm::capabilities::push::Target;
use serde::Serialize;

use redis_server::RedisProcess;

/// How long and how big.
#[derive(Debug, Clone)]
pub struct HistoryArgs {
    /// Pushes measured with one in flight.
    pub sequential: u64,
    /// Pushes measured with `in_flight` at once.
    pub concurrent: u64,
    /// Pushes in flight for the concurrent runs.
    pub in_flight: usize,
    /// Users of the storm.
    pub storm_users: i64,
    /// Pushes per user in the storm.
    pub storm_pushes: u32,
    /// The storm's history policy.
    pub storm_policy: HistoryPolicy,
    /// Scratch directory (embedded stores, Redis's working directory).
    pub dir: PathBuf,
}

/// One cost measurement.
#[derive(Debug, Clone, Serialize)]
pub struct Cost {
    pub backend: &'static str,
    pub history: bool,
    pub in_flight: usize,
    pub pushes: u64,
    pub us_per_push: f64,
    pub pushes_per_s: f64,
}

/// What one storm left.
#[derive(Debug, Clone, Serialize)]
pub struct Storm {
    pub backend: &'static str,
    pub users: i64,
    pub pushes: u64,
    pub seconds: f64,
    pub history_size: u32,
    pub history_ttl_s: f64,
    /// (users, entries) kept right after the storm.
    pub kept: (u64, u64),
    /// Store size before, right after, and once the TTL had passed (bytes: the redb file, or
    /// Redis's `used_memory`).
    pub bytes_before: u64,
    pub bytes_after: u64,
    pub bytes_forgotten: u64,
    /// (users, entries) kept once the TTL had passed.
    pub kept_forgotten: (u64, u64),
    pub forgotten_after_s: f64,
    /// Store size after the same storm again, once forgotten: the embedded file reuses its
    /// freed pages instead of growing.
    pub bytes_second_storm: u64,
}

/// Everything measured.
#[derive(Debug, Clone, Serialize)]
pub struct HistoryReport {
    pub costs: Vec<Cost>,
    pub storms: Vec<Storm>,
}

const TENANT: &str = "bench";
const HEAD: &str = r#"{"Type":"Notice","Data":{"text":"a push of about sixty bytes"}"#;

/// Runs every measurement.
pub fn run(args: &HistoryArgs) -> anyhow::Result<HistoryReport> {
    let rt = tokio::runtime::Runtime::new()?;
    let redis = RedisProcess::start(&args.dir.join("redis"));
    if redis.is_none() {
        eprintln!("history: no redis-server on PATH, the Redis rows are skipped");
    }
    rt.block_on(async {
        let mut report = HistoryReport {
            costs: Vec::new(),
            storms: Vec::new(),
        };
        let mut backends = vec![("embedded", None)];
        if let Some(r) = &redis {
            backends.push(("redis", Some(r.url())));
        }
        for (i, (backend, url)) in backends.into_iter().enumerate() {
            let dir = args.dir.join(format!("{backend}-{i}"));
            let services = Services::open(url.as_deref(), Some(&dir))
                .await?
                .context("no store")?;
            for history in [false, true] {
                for (in_flight, pushes) in [(1, args.sequential), (args.in_flight, args.concurrent)]
                {
                    let cost = cost(&services, backend, history, in_flight, pushes).await?;
                    eprintln!("history: {cost:?}");
                    report.costs.push(cost);
                }
            }
            // The storm on an empty store of its own, so that what it leaves is all there is.
            let storm_dir = args.dir.join(format!("{backend}-{i}-storm"));
            let services = match &redis {
                Some(r) if backend == "redis" => {
                    r.flush_all();
                    services
                }
                _ => Services::open(None, Some(&storm_dir))
                    .await?
                    .context("no store")?,
            };
            let bytes = || match &redis {
                Some(r) if backend == "redis" => r.used_memory(),
                _ => file_size(&storm_dir.join("kv.redb")),
            };
            let storm = storm(&services, backend, args, bytes).await?;
            eprintln!("history: {storm:?}");
            report.storms.push(storm);
        }
        Ok(report)
    })
}

/// `pushes` to distinct users, `in_flight` at once, with history on or off.
async fn cost(
    services: &Services,
    backend: &'static str,
    history: bool,
    in_flight: usize,
    pushes: u64,
) -> anyhow::Result<Cost> {
    let policy = HistoryPolicy {
        size: 100,
        ttl: Duration::from_secs(300),
        max_bytes: extws_wasm::capabilities::ledger::DEFAULT_HISTORY_MAX_BYTES,
    };
    let services = Arc::new(services.clone());
    let started = Instant::now();
    let per_task = pushes / in_flight as u64;
    let tasks: Vec<_> = (0..in_flight as u64)
        .map(|t| {
            let services = services.clone();
            tokio::spawn(async move {
                for n in 0..per_task {
                    let user = 1_000_000 + ((t * per_task + n) % 1000) as i64;
                    if history {
                        let head = HEAD.to_string();
                        services.history.append(TENANT, user, head, policy).await?;
                    } else {
                        let data = r#"{"text":"a push of about sixty bytes"}"#;
                        let envelope = extws_wasm::capabilities::push::envelope("Notice", data)?;
                        services
                            .bus
                            .publish(TENANT, &Target::User(user), envelope)
                            .await?;
                    }
                }
                Ok::<_, extws_wasm::capabilities::push::PushError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let done = per_task * in_flight as u64;
    Ok(Cost {
        backend,
        history,
        in_flight,
        pushes: done,
        us_per_push: elapsed * 1e6 / done as f64,
        pushes_per_s: done as f64 / elapsed,
    })
}

/// `storm_pushes` to each of `storm_users` users, nobody connected; then waits for the TTL.
async fn storm(
    services: &Services,
    backend: &'static str,
    args: &HistoryArgs,
    bytes: impl Fn() -> u64,
) -> anyhow::Result<Storm> {
    let policy = args.storm_policy;
    let bytes_before = bytes();
    let started = Instant::now();
    let services = Arc::new(services.clone());
    push_storm(&services, args).await?;
    let seconds = started.elapsed().as_secs_f64();
    let kept = services.history.usage().await?;
    let bytes_after = bytes();
    let waited = Instant::now();
    let deadline = waited + policy.ttl + Duration::from_secs(60);
    let kept_forgotten = loop {
        let now = services.history.usage().await?;
        if now == (0, 0) || Instant::now() > deadline {
            break now;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let bytes_forgotten = bytes();
    forgotten_after(&services, policy).await?;
    push_storm(&services, args).await?;
    let bytes_second_storm = bytes();
    Ok(Storm {
        bytes_second_storm,
        backend,
        users: args.storm_users,
        pushes: args.storm_users as u64 * u64::from(args.storm_pushes),
        seconds,
        history_size: policy.size,
        history_ttl_s: policy.ttl.as_secs_f64(),
        kept,
        bytes_before,
        bytes_after,
        bytes_forgotten,
        kept_forgotten,
        forgotten_after_s: waited.elapsed().as_secs_f64(),
    })
}

/// `storm_pushes` rounds over all `storm_users`, 64 pushes in flight.
async fn push_storm(services: &Arc<Services>, args: &HistoryArgs) -> anyhow::Result<()> {
    let workers = 64;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let (services, policy) = (services.clone(), args.storm_policy);
            let (users, rounds) = (args.storm_users, args.storm_pushes);
            tokio::spawn(async move {
                for _ in 0..rounds {
                    for user in (w..users).step_by(workers as usize) {
                        let head = HEAD.to_string();
                        services.history.append(TENANT, user, head, policy).await?;
                    }
                }
                Ok::<_, extws_wasm::capabilities::push::PushError>(())
            })
        })
        .collect();
    for task in tasks {
        task.await??;
    }
    Ok(())
}

/// Waits (bounded) until the store holds no history.
async fn forgotten_after(services: &Services, policy: HistoryPolicy) -> anyhow::Result<()> {
    let deadline = Instant::now() + policy.ttl + Duration::from_secs(60);
    while services.history.usage().await? != (0, 0) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

impl HistoryReport {
    /// What must hold whatever the machine: the storm's history is trimmed to `size` per user,
    /// forgotten after the TTL, and a second storm reuses the space of the first (within 25 %
    /// and 1 MiB). Each failure is described.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for s in &self.storms {
            let bound = s.users as u64 * u64::from(s.history_size);
            if s.kept.1 > bound {
                out.push(format!(
                    "{}: {} entries kept, over {bound}",
                    s.backend, s.kept.1
                ));
            }
            if s.kept_forgotten != (0, 0) {
                let (users, entries) = s.kept_forgotten;
                out.push(format!(
                    "{}: {users} users, {entries} entries left after the TTL",
                    s.backend
                ));
            }
            if s.bytes_second_storm > s.bytes_after + s.bytes_after / 4 + (1 << 20) {
                out.push(format!(
                    "{}: the store grew from {} to {} bytes over a second storm",
                    s.backend, s.bytes_after, s.bytes_second_storm
                ));
            }
        }
        out
    }

    /// The tables of docs/benchmarks.md.
    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| backend | history | in flight | pushes | µs/push | pushes/s |\n|---|---|---|---|---|---|\n",
        );
        for c in &self.costs {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {:.1} | {:.0} |\n",
                c.backend,
                if c.history { "on" } else { "off" },
                c.in_flight,
                c.pushes,
                c.us_per_push,
                c.pushes_per_s
            ));
        }
        out.push_str(
            "\n| backend | users × pushes | size / TTL | storm s | kept users, entries | store before → after storm → after TTL → after a 2nd storm | forgotten after s |\n|---|---|---|---|---|---|---|\n",
        );
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        for s in &self.storms {
            out.push_str(&format!(
                "| {} | {} × {} | {} / {:.0} s | {:.1} | {}, {} → {}, {} | {:.1} → {:.1} → {:.1} → {:.1} MiB | {:.1} |\n",
                s.backend,
                s.users,
                s.pushes / s.users.max(1) as u64,
                s.history_size,
                s.history_ttl_s,
                s.seconds,
                s.kept.0,
                s.kept.1,
                s.kept_forgotten.0,
                s.kept_forgotten.1,
                mib(s.bytes_before),
                mib(s.bytes_after),
                mib(s.bytes_forgotten),
                mib(s.bytes_second_storm),
                s.forgotten_after_s
            ));
        }
        out
    }
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
