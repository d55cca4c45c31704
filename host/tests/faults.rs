//! The state backend failing under load: Redis killed and restarted, Redis frozen (SIGSTOP),
//! the embedded store's disk full. In each, no acknowledged write is lost, no call outlives its
//! deadline, other work keeps being served, and the server recovers by itself once the backend
//! is back. (kill -9 of the server itself under write load: `state.rs`.)

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use extws_wasm::config::{Route, StateConfig, TenantConfig};

const TOKEN: &str = "9100:faults-token";
const INCREMENT: &str = r#"{"Type":"IncrementRequest"}"#;
const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[2,3]}}"#;
/// The tenants' deadline (the default).
const DEADLINE: Duration = Duration::from_secs(1);
/// How late past the deadline a reply may come on a loaded two-core machine. A call stuck on
/// the backend would take until the test's own 30 s receive timeout.
const MARGIN: Duration = Duration::from_secs(1);

/// A tenant on `/NAME` serving `components`, authenticating users by query initData.
fn tenant_on(name: &str, components: &[&str]) -> TenantConfig {
    let mut t = tenant(name, components);
    t.route = Route {
        path_prefix: format!("/{name}"),
        host: None,
    };
    t.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    t.limits.timeout = DEADLINE;
    t.limits.rate_per_second = 1e6;
    t.limits.rate_burst = 1_000_000;
    t
}

/// `kv` (counter and calc, stateful) and `clean` (calc only).
fn config(state: StateConfig) -> Config {
    let mut config = Config::new(vec![
        tenant_on("kv", &["counter", "calc"]),
        tenant_on("clean", &["calc"]),
    ]);
    config.state = state;
    config
}

async fn user(server: &TestServer, tenant: &str, id: i64) -> Ws {
    connect(&server.url(&format!("/{tenant}?{}", signed_user(TOKEN, id)))).await
}

/// What one incrementing client has seen so far.
#[derive(Default)]
struct Seen {
    /// The count of every `IncrementResponse`, in order.
    acked: Vec<i64>,
    /// Every error reply, as `code: message`.
    failures: Vec<String>,
    /// The longest any reply took.
    slowest: Duration,
}

/// A client incrementing its own counter, one request at a time, until stopped.
struct Incrementer {
    seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Incrementer {
    fn start(mut ws: Ws, stop: Arc<AtomicBool>) -> Self {
        let seen = Arc::new(Mutex::new(Seen::default()));
        let record = seen.clone();
        let task = tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                let started = Instant::now();
                let reply = ask_json(&mut ws, INCREMENT).await;
                let took = started.elapsed();
                let mut seen = record.lock().unwrap();
                seen.slowest = seen.slowest.max(took);
                match reply["Data"]["count"].as_i64() {
                    Some(count) if reply["Type"] == "IncrementResponse" => seen.acked.push(count),
                    _ => {
                        let message = reply["Data"]["message"].as_str().unwrap_or_default();
                        let failure = format!("{}: {message}", error_code(&reply));
                        seen.failures.push(failure);
                    }
                }
            }
        });
        Self { seen, task }
    }

    fn acked(&self) -> usize {
        self.seen.lock().unwrap().acked.len()
    }

    fn failed(&self) -> usize {
        self.seen.lock().unwrap().failures.len()
    }
}

/// Waits until `done` holds for every client (panics, naming `what`, after 30 s).
async fn until(what: &str, clients: &[Incrementer], done: impl Fn(usize, &Incrementer) -> bool) {
    eventually(what, Duration::from_secs(30), async || {
        clients.iter().enumerate().all(|(i, c)| done(i, c))
    })
    .await;
}

/// Stops the clients and checks what each saw against what the store holds now: every
/// acknowledged increment is there (the acknowledged counts only ever go up, and the stored
/// count is at least their number), none was invented (at most one per request), every
/// failure is a clear store error or the deadline, and no reply outlived the deadline.
async fn stop_and_check(server: &TestServer, clients: Vec<Incrementer>, stop: &AtomicBool) {
    stop.store(true, Ordering::Relaxed);
    for (i, client) in clients.into_iter().enumerate() {
        client.task.await.unwrap();
        let seen = std::mem::take(&mut *client.seen.lock().unwrap());
        assert!(
            seen.acked.windows(2).all(|w| w[0] < w[1]),
            "user {i}: an acknowledged increment was lost: {:?}",
            seen.acked
        );
        for failure in &seen.failures {
            assert!(
                failure.starts_with("timeout") || failure.contains("unavailable"),
                "user {i}: not a clear store error: {failure}"
            );
        }
        assert!(
            seen.slowest <= DEADLINE + MARGIN,
            "user {i}: a reply took {:?}",
            seen.slowest
        );
        let mut ws = user(server, "kv", i as i64).await;
        let reply = ask_json(&mut ws, r#"{"Type":"GetCountRequest"}"#).await;
        let stored = reply["Data"]["count"].as_i64().expect("a count");
        let (acked, failed) = (seen.acked.len() as i64, seen.failures.len() as i64);
        eprintln!(
            "user {i}: {acked} acknowledged, {failed} failed (first: {:?}), slowest {:?}, \
             {stored} stored",
            seen.failures.first(),
            seen.slowest
        );
        assert!(
            stored >= acked && stored >= *seen.acked.last().unwrap(),
            "user {i}: {acked} acknowledged, {stored} stored"
        );
        assert!(
            stored <= acked + failed,
            "user {i}: {stored} stored from {} requests",
            acked + failed
        );
    }
}

/// Starts `n` incrementing users of tenant `kv`.
async fn incrementers(server: &TestServer, n: i64, stop: &Arc<AtomicBool>) -> Vec<Incrementer> {
    let mut clients = Vec::new();
    for id in 0..n {
        clients.push(Incrementer::start(
            user(server, "kv", id).await,
            stop.clone(),
        ));
    }
    clients
}

fn redis_state(redis: &RedisServer) -> StateConfig {
    StateConfig {
        data_dir: None,
        redis: Some(redis.url()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_and_restarted_under_load_loses_no_acknowledged_increment() {
    // Persistence is Redis's business (docs/operating.md): with `appendfsync always` an acknowledged
    // write is on its disk, so after a SIGKILL and a restart it must still be there.
    let mut redis = RedisServer::start_durable();
    let server = start(config(redis_state(&redis))).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = incrementers(&server, 4, &stop).await;
    until("20 increments each", &clients, |_, c| c.acked() >= 20).await;

    redis.stop();
    let failed: Vec<usize> = clients.iter().map(Incrementer::failed).collect();
    until(
        "three failures each while Redis is down",
        &clients,
        |i, c| c.failed() >= failed[i] + 3,
    )
    .await;
    // Calls that need no state are served meanwhile, in both tenants.
    for tenant in ["kv", "clean"] {
        let mut ws = user(&server, tenant, 100).await;
        assert!(ask(&mut ws, CALC).await.contains("CalculateResponse"));
    }

    redis.restart();
    let acked: Vec<usize> = clients.iter().map(Incrementer::acked).collect();
    until(
        "20 more increments each once Redis is back",
        &clients,
        |i, c| c.acked() >= acked[i] + 20,
    )
    .await;
    stop_and_check(&server, clients, &stop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_frozen_costs_calls_their_deadline_not_a_hang_and_thawing_recovers() {
    let redis = RedisServer::start();
    let server = start(config(redis_state(&redis))).await;
    let stop = Arc::new(AtomicBool::new(false));
    let clients = incrementers(&server, 4, &stop).await;
    until("10 increments each", &clients, |_, c| c.acked() >= 10).await;
    // Opened before the freeze: a new connection of `kv` first runs the counter's on-connect
    // hook, which itself waits on the store (up to its deadline).
    let mut same_tenant = user(&server, "kv", 100).await;
    let mut other_tenant = user(&server, "clean", 100).await;

    redis.freeze();
    let failed: Vec<usize> = clients.iter().map(Incrementer::failed).collect();
    until(
        "two failures each while Redis is frozen",
        &clients,
        |i, c| c.failed() >= failed[i] + 2,
    )
    .await;
    // Everything else is answered at its usual speed, not behind the frozen store: calls of
    // the same tenant that need no state, and another tenant.
    for (tenant, ws) in [("kv", &mut same_tenant), ("clean", &mut other_tenant)] {
        let started = Instant::now();
        assert!(ask(ws, CALC).await.contains("CalculateResponse"));
        let took = started.elapsed();
        assert!(
            took < DEADLINE,
            "{tenant}: calc took {took:?} while Redis was frozen"
        );
    }

    redis.thaw();
    let acked: Vec<usize> = clients.iter().map(Incrementer::acked).collect();
    until(
        "10 more increments each once Redis thaws",
        &clients,
        |i, c| c.acked() >= acked[i] + 10,
    )
    .await;
    stop_and_check(&server, clients, &stop).await;
}

/// A tmpfs of `size` mounted on a fresh directory, unmounted when dropped.
struct Tmpfs {
    dir: std::path::PathBuf,
}

impl Tmpfs {
    /// `None` (having said why) where mounting is not permitted: not root, or a container
    /// without CAP_SYS_ADMIN.
    fn mount(size: &str) -> Option<Self> {
        let dir = temp_dir("tmpfs");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .output();
        match mounted {
            Ok(out) if out.status.success() => Some(Self { dir }),
            Ok(out) => {
                let why = String::from_utf8_lossy(&out.stderr);
                eprintln!(
                    "SKIPPED: cannot mount a tmpfs here (needs root): {}",
                    why.trim()
                );
                None
            }
            Err(e) => {
                eprintln!("SKIPPED: cannot run mount: {e}");
                None
            }
        }
    }

    /// Fills what space is left with one file; returns its path.
    fn fill(&self) -> std::path::PathBuf {
        use std::io::Write;
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        let chunk = vec![0u8; 4096];
        loop {
            match file.write_all(&chunk) {
                Ok(()) => continue,
                Err(e) if e.raw_os_error() == Some(28) => return path,
                Err(e) => panic!("filling the tmpfs: {e}"),
            }
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg("-l")
            .arg(&self.dir)
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_clearly_keeps_what_was_acknowledged_and_recovers() {
    let Some(disk) = Tmpfs::mount("8m") else {
        return;
    };
    let state = || StateConfig {
        data_dir: Some(disk.dir.join("data")),
        redis: None,
    };
    let server = start(config(state())).await;
    let mut ws = user(&server, "kv", 1).await;
    for expected in 1..=10 {
        assert_eq!(
            ask_json(&mut ws, INCREMENT).await["Data"]["count"],
            expected
        );
    }

    let filler = disk.fill();
    // A new user each time: a new key, so the store must grow (updating one key reuses the
    // pages it freed and needs no new space).
    let mut acknowledged = Vec::new();
    let mut failure = None;
    for id in 1000..4000 {
        let mut ws = user(&server, "kv", id).await;
        let reply = ask_json(&mut ws, INCREMENT).await;
        if reply["Type"] != "IncrementResponse" {
            failure = Some(reply);
            break;
        }
        acknowledged.push(id);
    }
    let failure = failure.expect("a write fails once the disk is full");
    assert_eq!(error_code(&failure), "handler_error", "{failure}");
    let message = failure["Data"]["message"].as_str().unwrap();
    assert!(
        message.contains("unavailable") && message.contains("No space left on device"),
        "not a clear error: {message}"
    );
    // While the disk stays full: writes keep failing, promptly; the server serves the rest.
    for _ in 0..3 {
        let started = Instant::now();
        let reply = ask_json(&mut ws, INCREMENT).await;
        assert_eq!(error_code(&reply), "handler_error", "{reply}");
        assert!(started.elapsed() <= DEADLINE + MARGIN);
        assert!(ask(&mut ws, CALC).await.contains("CalculateResponse"));
    }

    std::fs::remove_file(filler).unwrap();
    // Writes work again without a restart; the ones that failed were not applied.
    let count = eventually(
        "writes working again once the disk has room",
        Duration::from_secs(30),
        async || {
            let reply = ask_json(&mut ws, INCREMENT).await;
            match reply["Data"]["count"].as_i64() {
                Some(count) if reply["Type"] == "IncrementResponse" => Ok(count),
                _ => Err(reply),
            }
        },
    )
    .await;
    assert_eq!(count, 11, "the failed increments were applied after all");
    // Every acknowledged write is intact, also after a restart on the same file.
    drop(ws);
    server.shutdown().await.unwrap();
    let server = start(config(state())).await;
    let mut ws = user(&server, "kv", 1).await;
    let reply = ask_json(&mut ws, r#"{"Type":"GetCountRequest"}"#).await;
    assert_eq!(reply["Data"]["count"], 11, "{reply}");
    for &id in &acknowledged {
        let mut ws = user(&server, "kv", id).await;
        let reply = ask_json(&mut ws, r#"{"Type":"GetCountRequest"}"#).await;
        assert_eq!(reply["Data"]["count"], 1, "user {id}: {reply}");
    }
    eprintln!(
        "the disk filled after {} new keys: {message}",
        acknowledged.len()
    );
}
