//! State and push over real sockets: the counter example on the embedded store (durable across
//! restarts and kill -9), tenant isolation of keys and topics, quotas, push to a user, the
//! disconnect hook, and a slow consumer cut off at its queue bound.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use extws_wasm::config::{Route, StateConfig};
use extws_wasm::state::Quota;

const TOKEN: &str = "8000:state-token";

fn counter_tenant(name: &str, prefix: &str) -> extws_wasm::config::TenantConfig {
    let mut t = tenant(name, &["counter"]);
    t.route = Route {
        path_prefix: prefix.into(),
        host: None,
    };
    t.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    t.limits.rate_per_second = 1e6;
    t.limits.rate_burst = 1_000_000;
    t
}

fn with_store(tenants: Vec<extws_wasm::config::TenantConfig>, dir: &std::path::Path) -> Config {
    let mut config = Config::new(tenants);
    config.state = StateConfig {
        data_dir: Some(dir.to_path_buf()),
        redis: None,
    };
    config
}

async fn user(server: &TestServer, prefix: &str, id: i64) -> Ws {
    connect(&server.url(&format!("{prefix}?{}", signed_user(TOKEN, id)))).await
}

async fn count(ws: &mut Ws) -> i64 {
    let reply = ask_json(ws, r#"{"Type":"GetCountRequest"}"#).await;
    reply["Data"]["count"]
        .as_i64()
        .unwrap_or_else(|| panic!("{reply}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_survive_a_restart_and_topics_carry_changes() {
    let dir = temp_dir("state-restart");
    let server = start(with_store(vec![counter_tenant("c", "/")], &dir)).await;
    let mut watcher = user(&server, "/", 2).await;
    assert_eq!(
        ask_json(&mut watcher, r#"{"Type":"SubscribeRequest"}"#).await["Type"],
        "SubscribeResponse"
    );
    let mut ws = user(&server, "/", 1).await;
    for expected in 1..=3 {
        let reply = ask_json(&mut ws, r#"{"Type":"IncrementRequest","Data":{"by":1}}"#).await;
        assert_eq!(reply["Data"]["count"], expected);
        let pushed: serde_json::Value = serde_json::from_str(&recv(&mut watcher).await).unwrap();
        assert_eq!(
            pushed,
            serde_json::json!({"Type":"CounterChanged","Data":{"user":1,"count":expected}})
        );
    }
    drop((ws, watcher));
    server.shutdown().await.unwrap();
    let server = start(with_store(vec![counter_tenant("c", "/")], &dir)).await;
    let mut ws = user(&server, "/", 1).await;
    assert_eq!(count(&mut ws).await, 3);
}

#[test]
fn acknowledged_increments_survive_kill_9_under_concurrent_writes() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = temp_dir("state-kill9");
    let counter = guest("counter");
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let serve = || {
        spawn_listening(
            std::process::Command::new(env!("CARGO_BIN_EXE_extws-wasm"))
                .args([
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--bot-token",
                    TOKEN,
                    "--rate-per-second",
                    "100000",
                ])
                .arg("--component")
                .arg(&counter)
                .arg("--data-dir")
                .arg(&dir),
        )
    };
    const CLIENTS: usize = 4;
    let (mut child, addr) = serve();
    // Four users increment as fast as they are answered; SIGKILL lands while their next
    // increments are in flight, with no chance to flush anything.
    let acknowledged: Vec<i64> = runtime.block_on(async {
        let progress: Arc<Vec<AtomicUsize>> = Arc::new((0..CLIENTS).map(|_| 0.into()).collect());
        let mut tasks = Vec::new();
        for i in 0..CLIENTS {
            let url = format!("ws://{addr}/?{}", signed_user(TOKEN, i as i64 + 1));
            let mut ws = connect(&url).await;
            let progress = progress.clone();
            tasks.push(tokio::spawn(async move {
                use futures_util::{SinkExt, StreamExt};
                use tokio_tungstenite::tungstenite::Message;
                let mut last = 0;
                while ws
                    .send(Message::text(r#"{"Type":"IncrementRequest"}"#))
                    .await
                    .is_ok()
                {
                    let Some(Ok(Message::Text(reply))) = ws.next().await else {
                        break; // killed
                    };
                    let reply: serde_json::Value = serde_json::from_str(&reply).unwrap();
                    last = reply["Data"]["count"].as_i64().expect("an increment");
                    progress[i].fetch_add(1, Ordering::Relaxed);
                }
                last
            }));
        }
        eventually(
            "25 acknowledged increments for every client",
            Duration::from_secs(60),
            async || {
                let counts: Vec<_> = progress.iter().map(|p| p.load(Ordering::Relaxed)).collect();
                if counts.iter().all(|&c| c >= 25) {
                    Ok(())
                } else {
                    Err(format!("{counts:?}"))
                }
            },
        )
        .await;
        child.kill().unwrap();
        let mut acknowledged = Vec::new();
        for task in tasks {
            acknowledged.push(task.await.unwrap());
        }
        acknowledged
    });
    child.wait().unwrap();
    let (mut child, addr) = serve();
    let stored: Vec<i64> = runtime.block_on(async {
        let mut stored = Vec::new();
        for i in 0..CLIENTS {
            let url = format!("ws://{addr}/?{}", signed_user(TOKEN, i as i64 + 1));
            stored.push(count(&mut connect(&url).await).await);
        }
        stored
    });
    child.kill().unwrap();
    for (acked, kept) in acknowledged.iter().zip(&stored) {
        // The increment in flight at the kill may have committed without its reply.
        assert!(
            *acked >= 25 && (*acked..=acked + 1).contains(kept),
            "acknowledged {acknowledged:?}, stored {stored:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_never_share_keys_or_topics() {
    let dir = temp_dir("state-isolation");
    let server = start(with_store(
        vec![counter_tenant("a", "/a"), counter_tenant("b", "/b")],
        &dir,
    ))
    .await;
    let mut on_a = user(&server, "/a", 1).await;
    let mut on_b = user(&server, "/b", 1).await;
    assert_eq!(
        ask_json(&mut on_b, r#"{"Type":"SubscribeRequest"}"#).await["Type"],
        "SubscribeResponse"
    );
    for _ in 0..5 {
        ask_json(&mut on_a, r#"{"Type":"IncrementRequest"}"#).await;
    }
    // Same user id, other tenant: its own key.
    assert_eq!(count(&mut on_b).await, 0);
    // B's subscriber got none of A's five changes: the first push it sees is its own.
    let reply = ask_json(&mut on_b, r#"{"Type":"IncrementRequest"}"#).await;
    assert_eq!(reply["Data"]["count"], 1);
    let pushed: serde_json::Value = serde_json::from_str(&recv(&mut on_b).await).unwrap();
    assert_eq!(pushed["Data"], serde_json::json!({"user": 1, "count": 1}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotas_allow_then_deny_with_a_handler_error() {
    let dir = temp_dir("state-quota");
    let mut t = counter_tenant("q", "/");
    // Three keys: the counter's presence key (from its on-connect hook) and two users' counts.
    t.quota = Quota {
        max_keys: 3,
        max_bytes: 1 << 20,
    };
    let server = start(with_store(vec![t], &dir)).await;
    for id in [1, 2] {
        let mut ws = user(&server, "/", id).await;
        let reply = ask_json(&mut ws, r#"{"Type":"IncrementRequest"}"#).await;
        assert_eq!(reply["Data"]["count"], 1, "{reply}");
    }
    let mut third = user(&server, "/", 3).await;
    let reply = ask_json(&mut third, r#"{"Type":"IncrementRequest"}"#).await;
    assert_eq!(error_code(&reply), "handler_error");
    assert!(
        reply["Data"]["message"]
            .as_str()
            .unwrap()
            .contains("quota exceeded"),
        "{reply}"
    );
    // Existing keys can still change.
    let mut first = user(&server, "/", 1).await;
    assert_eq!(
        ask_json(&mut first, r#"{"Type":"IncrementRequest"}"#).await["Data"]["count"],
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_reaches_every_connection_of_a_user() {
    let dir = temp_dir("state-push");
    let server = start(with_store(vec![counter_tenant("p", "/")], &dir)).await;
    let mut phone = user(&server, "/", 7).await;
    let mut laptop = user(&server, "/", 7).await;
    let mut sender = user(&server, "/", 8).await;
    let reply = ask_json(
        &mut sender,
        r#"{"Type":"NotifyUserRequest","Data":{"user":7,"text":"hi"}}"#,
    )
    .await;
    assert_eq!(reply["Type"], "NotifyUserResponse");
    let mut seqs = Vec::new();
    for ws in [&mut phone, &mut laptop] {
        let (pushed, seq) = without_seq(&recv(ws).await);
        assert_eq!(pushed, r#"{"Data":{"text":"hi"},"Type":"Notice"}"#);
        seqs.push(seq.expect("a Seq"));
    }
    assert_eq!(seqs[0], seqs[1], "one push, one Seq, whichever connection");
    // Presence through the hooks: three connections are open.
    assert_eq!(
        ask_json(&mut sender, r#"{"Type":"PresenceRequest"}"#).await["Data"]["online"],
        3
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_hooks_run_when_connections_end() {
    let dir = temp_dir("state-disconnect");
    let server = start(with_store(vec![counter_tenant("d", "/")], &dir)).await;
    let mut stays = user(&server, "/", 11).await;
    let mut closes = user(&server, "/", 12).await;
    let drops = user(&server, "/", 13).await;
    // The counter's on-connect adds 1 to `presence:online` (it runs once the connection is
    // up, so it may still be running), its on-disconnect takes 1 away.
    wait_for_online(&mut stays, 3).await;
    // One ends with a close handshake, one just drops its TCP connection.
    closes.close(None).await.unwrap();
    drop(drops);
    wait_for_online(&mut stays, 1).await;
}

/// Asks `PresenceRequest` until it answers `want` (panics after 20 s).
async fn wait_for_online(ws: &mut Ws, want: i64) {
    eventually(
        &format!("{want} online (the connect/disconnect hooks running)"),
        Duration::from_secs(20),
        async || match online(ws).await {
            n if n == want => Ok(()),
            n => Err(format!("{n} online")),
        },
    )
    .await;
}

async fn online(ws: &mut Ws) -> i64 {
    let reply = ask_json(ws, r#"{"Type":"PresenceRequest"}"#).await;
    reply["Data"]["online"]
        .as_i64()
        .unwrap_or_else(|| panic!("{reply}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_reads_is_cut_off_at_its_queue_bound() {
    // A server of its own, so the memory measured is the server's alone.
    let args: Vec<std::ffi::OsString> = vec![
        "--bot-token".into(),
        TOKEN.into(),
        "--rate-per-second".into(),
        "100000".into(),
        "--rate-burst".into(),
        "100000".into(),
        "--component".into(),
        guest("counter").into(),
        "--data-dir".into(),
        temp_dir("state-slow").into(),
        // The queue bound alone: without history, the 1500 pushes are not also 1500 durable
        // commits (which would stretch the run past the close grace the final read relies
        // on, and put 10 MB of history in the store's cache).
        "--push-history-size".into(),
        "0".into(),
    ];
    let server = ChildServer::start(args);
    let url = |id| server.url(&format!("/?{}", signed_user(TOKEN, id)));
    let mut sleeper = connect(&url(9)).await;
    let mut sender = connect(&url(10)).await;
    let text = "x".repeat(100_000);
    let request = format!(r#"{{"Type":"NotifyUserRequest","Data":{{"user":9,"text":"{text}"}}}}"#);
    // 1500 pushes of 100 KB (150 MB): far more than the socket buffers and the 256-message
    // queue hold. Memory must not follow: measured after the queue could have filled.
    let mut rss_after_400 = 0;
    for i in 0..1500 {
        assert_eq!(
            ask_json(&mut sender, &request).await["Type"],
            "NotifyUserResponse"
        );
        if i == 400 {
            rss_after_400 = server.rss_kib();
        }
    }
    let growth = server.rss_kib().saturating_sub(rss_after_400);
    // A server that buffered every push would have grown by ~110 MB here.
    assert!(
        growth < 48 * 1024,
        "server RSS grew by {growth} KiB while the client did not read"
    );
    // The sleeper finally reads: what was buffered, then the end. The server sends 1008 when
    // the client takes the close frame within the close grace (2 s); one that still does not
    // read by then is dropped (on a loaded machine the loop above can outlast the grace).
    let close = expect_close(&mut sleeper).await;
    if let Some(close) = close {
        assert_eq!(u16::from(close.code), 1008, "{close:?}");
    }
    assert_eq!(
        count(&mut sender).await,
        0,
        "the server still serves others"
    );
}

/// WIT 0.1.1 added the `telegram` interface; a component built against 0.1.0 (this is the
/// counter example as it was built before that change, kept in `tests/data/`) imports
/// `kv@0.1.0` and `push@0.1.0` and must keep loading and working unchanged.
#[tokio::test]
async fn a_component_built_against_wit_0_1_0_keeps_working() {
    let dir = temp_dir("state-wit-0-1-0");
    let mut t = counter_tenant("old", "/");
    t.components = vec![extws_wasm::runtime::ComponentSpec::fresh(
        repo().join("tests/data/counter-built-against-wit-0.1.0.wasm"),
    )];
    let server = start(with_store(vec![t], &dir)).await;
    let mut ws = user(&server, "/", 1).await;
    let reply = ask_json(&mut ws, r#"{"Type":"IncrementRequest","Data":{"by":5}}"#).await;
    assert_eq!(reply["Data"]["count"], 5, "{reply}");
    assert_eq!(count(&mut ws).await, 5);
    server.shutdown().await.unwrap();
}
