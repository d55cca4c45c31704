//! One ledger per tenant (issue 25 #7–#10, `host/src/capabilities/ledger.rs`): a guest
//! (`hoard`, and `huge-reply` for replies) trying every way to make the host store or send
//! bytes — kv, push history, topics, subscriptions, push size, reply size, log lines — hits a
//! documented per-tenant limit with a WIT error (never a trap: every call answers
//! `HoardResult`), the client never gets a frame over `max_message_bytes`, and another tenant
//! on the same server and the same store is unaffected.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::config::{Route, StateConfig, TenantConfig};
use extws_wasm::state::Quota;
use serde_json::{Value, json};

/// The greedy tenant's frame limit.
const FRAME: usize = 64 << 10;
/// Its key-value and push history quotas.
const QUOTA: u64 = 256 << 10;
/// Its topics per connection.
const TOPICS: usize = 8;

fn at(mut t: TenantConfig, prefix: &str) -> TenantConfig {
    t.route = Route {
        path_prefix: prefix.into(),
        host: None,
    };
    t.limits.rate_per_second = 1e6;
    t.limits.rate_burst = 1_000_000;
    // Hundreds of durable pushes in one call, on a busy machine.
    t.limits.timeout = Duration::from_secs(30);
    t
}

/// `greedy` (small limits) at `/greedy` and `quiet` (the defaults) at `/quiet`, sharing one
/// embedded store.
async fn server() -> TestServer {
    let mut greedy = at(tenant("greedy", &["hoard", "huge-reply"]), "/greedy");
    greedy.ledger.max_frame_bytes = FRAME;
    greedy.ledger.max_topics_per_connection = TOPICS;
    greedy.quota = Quota {
        max_keys: 10_000,
        max_bytes: QUOTA,
    };
    greedy.push_history.max_bytes = QUOTA;
    let quiet = at(tenant("quiet", &["hoard", "huge-reply"]), "/quiet");
    let mut config = Config::new(vec![greedy, quiet]);
    config.state = StateConfig {
        data_dir: Some(temp_dir("ledger")),
        redis: None,
    };
    start(config).await
}

/// The next frame, held to the greedy tenant's limit.
async fn frame(ws: &mut Ws) -> Value {
    let text = recv(ws).await;
    assert!(
        text.len() <= FRAME,
        "a frame of {} bytes, over the limit of {FRAME}: {}...",
        text.len(),
        &text[..200]
    );
    serde_json::from_str(&text).unwrap()
}

/// `Hoard` with `data`: (successes, the host's first refusal).
async fn hoard(ws: &mut Ws, data: Value) -> (u64, Option<String>) {
    send(ws, &json!({"Type": "Hoard", "Data": data}).to_string()).await;
    let reply = frame(ws).await;
    assert_eq!(reply["Type"], "HoardResult", "not a WIT error: {reply}");
    let error = reply["Data"]["error"].as_str().map(str::to_string);
    (reply["Data"]["ok"].as_u64().unwrap(), error)
}

/// The `bytes` of a `Hoarded` push (its `Data`, a JSON string) whose frame is `frame` bytes.
fn bytes_for_frame(frame: usize) -> usize {
    frame - r#"{"Type":"Hoarded","Data":}"#.len()
}

#[tokio::test]
async fn every_way_to_store_or_send_hits_a_limit_and_spares_the_other_tenant() {
    let server = server().await;
    let mut greedy = connect(&server.url("/greedy")).await;
    let mut quiet = connect(&server.url("/quiet")).await;

    // kv: the quota, as `quota-exceeded`.
    let (ok, error) = hoard(
        &mut greedy,
        json!({"what": "kv", "n": 100, "bytes": 16 << 10}),
    )
    .await;
    assert!(ok < 16, "{ok} values of 16 KiB in a 256 KiB quota");
    assert!(error.unwrap().starts_with("quota-exceeded:"));

    // Push history (#7): pushes to 200 users of 4 KiB each are 800 KiB; the tenant keeps
    // at most 256 KiB, then `invalid` ("quota exceeded").
    let history = json!({"what": "history", "n": 200, "bytes": 4096, "user": 1000});
    let (ok, error) = hoard(&mut greedy, history).await;
    assert!(ok >= 1 && ok * 4096 <= QUOTA, "{ok} pushes of 4 KiB kept");
    let error = error.expect("the history quota refused nothing");
    assert!(
        error.starts_with("invalid:") && error.contains("quota"),
        "{error}"
    );

    // Push size (#8): a topic push over the frame limit is refused to the guest and reaches
    // no subscriber; one exactly at the limit is delivered whole.
    let mut subscriber = connect(&server.url("/greedy")).await;
    assert_eq!(
        hoard(&mut subscriber, json!({"what": "subscribe"})).await.0,
        1
    );
    let over = json!({"what": "publish", "topic": "t0", "bytes": bytes_for_frame(FRAME) + 1});
    let (ok, error) = hoard(&mut greedy, over).await;
    assert_eq!(ok, 0, "a push one byte over the frame limit was sent");
    assert!(error.unwrap().starts_with("invalid:"));
    let exact = json!({"what": "publish", "topic": "t0", "bytes": bytes_for_frame(FRAME)});
    assert_eq!(hoard(&mut greedy, exact).await, (1, None));
    let pushed = recv(&mut subscriber).await;
    assert_eq!(pushed.len(), FRAME, "the first push the subscriber got");
    // A user push is stored with its Seq, which counts too.
    let user = json!({"what": "user", "user": 7, "bytes": bytes_for_frame(FRAME)});
    let (ok, error) = hoard(&mut greedy, user).await;
    assert_eq!(ok, 0, "a user push whose Seq takes it over the frame limit");
    assert!(error.unwrap().starts_with("invalid:"));

    // Topics (#9): at most TOPICS per connection; subscribing again to one it has is free.
    let mut topics = connect(&server.url("/greedy")).await;
    let many = json!({"what": "subscribe", "n": 1000});
    let (ok, error) = hoard(&mut topics, many.clone()).await;
    assert_eq!(ok, TOPICS as u64, "subscriptions accepted");
    assert!(error.unwrap().contains("max_topics_per_connection"));
    assert_eq!(hoard(&mut topics, many.clone()).await.0, TOPICS as u64);
    let one_less = json!({"what": "unsubscribe", "n": 1});
    assert_eq!(hoard(&mut topics, one_less).await, (1, None));
    assert_eq!(hoard(&mut topics, many).await.0, TOPICS as u64);

    // Reply size (#10): a reply whose Type and Data fit but whose frame does not becomes a
    // `limit` error, within the limit.
    send(&mut greedy, r#"{"Type":"HugeType","Data":65526,"Id":1}"#).await;
    let reply = frame(&mut greedy).await;
    assert_eq!(error_code(&reply), "limit", "{reply}");
    assert_eq!(reply["Id"], 1);

    // The other tenant, on the same store, is unaffected.
    let kv = json!({"what": "kv", "n": 4, "bytes": 16 << 10});
    assert_eq!(hoard(&mut quiet, kv).await, (4, None));
    let history = json!({"what": "history", "n": 20, "bytes": 4096, "user": 1000});
    assert_eq!(hoard(&mut quiet, history).await, (20, None));
    let mut listener = connect(&server.url("/quiet")).await;
    let topics = json!({"what": "subscribe", "n": 20});
    assert_eq!(hoard(&mut listener, topics).await, (20, None));
    let big = json!({"what": "publish", "topic": "t0", "bytes": bytes_for_frame(512 << 10)});
    assert_eq!(hoard(&mut quiet, big).await, (1, None));
    assert_eq!(recv(&mut listener).await.len(), 512 << 10);
    let reply = ask_json(&mut quiet, r#"{"Type":"HugeType","Data":65526}"#).await;
    assert_eq!(reply["Type"].as_str().map(str::len), Some(65526));
    server.shutdown().await.unwrap();
}

/// Log lines: a guest's 100 KB log records and stderr lines reach the log cut to 4096 bytes,
/// and a guest logging without end is held to its tenant's log budget (256 KiB at once,
/// 64 KiB/s after), the rest dropped and counted in a warning of the host's.
#[tokio::test]
async fn log_lines_are_cut_and_held_to_the_tenants_budget() {
    let args = [
        "--data-dir".into(),
        temp_dir("ledger-log").into_os_string(),
        "--component".into(),
        guest("hoard").into_os_string(),
        "--no-auth".into(),
    ];
    let served = ChildServer::start(args);
    let mut ws = connect(&served.url("/")).await;
    let (ok, error) = hoard(&mut ws, json!({"what": "log", "n": 3, "bytes": 100_000})).await;
    assert_eq!((ok, error), (3, None));
    // 400 records and 400 stderr lines of 4 KiB: 3.2 MiB asked for in one call.
    let (ok, error) = hoard(&mut ws, json!({"what": "log", "n": 400, "bytes": 4096})).await;
    assert_eq!((ok, error), (400, None));
    let (_, stderr) = served.stop();
    let longest = stderr.iter().map(String::len).max().unwrap_or(0);
    let guest_lines = stderr
        .iter()
        .filter(|l| l.contains(&"x".repeat(4096)))
        .count();
    assert!(guest_lines >= 6, "no guest line in the log: {guest_lines}");
    assert!(longest < 4096 + 512, "a log line of {longest} bytes");
    // The burst (256 KiB = 64 lines) and what a few seconds of a loaded machine add.
    assert!(
        guest_lines < 120,
        "{guest_lines} guest lines of 4 KiB got through"
    );
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("guest log records dropped")),
        "no word of the dropped records"
    );
}
