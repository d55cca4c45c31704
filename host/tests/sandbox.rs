//! Hostile guests, limits and capabilities over real sockets: every hostile guest gets its
//! documented error and the same connection then answers a normal message.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::capabilities::{Capabilities, PreopenedDir};

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#;
const CALC_REPLY: &str = r#"{"Type":"CalculateResponse","Data":{"result":4}}"#;
const HOSTILE: &[&str] = &[
    "calc",
    "loop-forever",
    "memory-hog",
    "stack-overflow",
    "trap",
    "huge-reply",
    "slow",
];

async fn hostile_server(timeout_ms: u64) -> TestServer {
    let mut t = tenant("default", HOSTILE);
    t.limits.timeout = Duration::from_millis(timeout_ms);
    t.ledger.max_frame_bytes = 64 * 1024;
    start(Config::new(vec![t])).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_hostile_guest_gets_its_error_and_the_connection_survives() {
    let server = hostile_server(500).await;
    let mut ws = connect(&server.url("/")).await;
    let cases = [
        (r#"{"Type":"LoopForever"}"#, "timeout"),
        (r#"{"Type":"MemoryHog"}"#, "limit"),
        (r#"{"Type":"StackOverflow"}"#, "limit"),
        (r#"{"Type":"Panic"}"#, "handler_failed"),
        (r#"{"Type":"Unreachable"}"#, "handler_failed"),
        (r#"{"Type":"HugeReply","Data":100000}"#, "limit"),
        (r#"{"Type":"Slow","Data":2000}"#, "timeout"),
    ];
    for (request, code) in cases {
        let reply = ask_json(&mut ws, request).await;
        assert_eq!(error_code(&reply), code, "{request}: {reply}");
        assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY, "after {request}");
    }
    // Near the deadline but under it: answered.
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Slow","Data":100}"#).await,
        r#"{"Type":"SlowResponse","Data":100}"#
    );
    assert_eq!(
        ask(&mut ws, r#"{"Type":"HugeReply","Data":1000}"#)
            .await
            .len(),
        1036
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_stays_bounded_through_100_memory_hog_calls() {
    // A server of its own, so its memory is not that of the tests running alongside.
    let args: Vec<std::ffi::OsString> = vec![
        "--no-auth".into(),
        "--timeout-ms".into(),
        "2000".into(),
        "--rate-per-second".into(),
        "100000".into(),
        "--data-dir".into(),
        temp_dir("rss-hog").into(),
        "--component".into(),
        guest("memory-hog").into(),
        "--component".into(),
        guest("calc").into(),
    ];
    let server = ChildServer::start(args);
    let mut ws = connect(&server.url("/")).await;
    for _ in 0..5 {
        assert_eq!(
            error_code(&ask_json(&mut ws, r#"{"Type":"MemoryHog"}"#).await),
            "limit"
        );
    }
    let warm = server.rss_kib();
    for _ in 0..100 {
        assert_eq!(
            error_code(&ask_json(&mut ws, r#"{"Type":"MemoryHog"}"#).await),
            "limit"
        );
    }
    let after = server.rss_kib();
    // Each call fills a 64 MiB instance; 100 of them (6.4 GB touched) must not accumulate.
    // Generous bound: at most two instances' worth of growth.
    assert!(
        after < warm + 128 * 1024,
        "server RSS grew from {warm} KiB to {after} KiB"
    );
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fuel_limits_cpu_independently_of_the_deadline() {
    let mut t = tenant("default", &["calc", "loop-forever"]);
    t.limits.fuel = Some(5_000_000);
    t.limits.timeout = Duration::from_secs(30);
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask_json(&mut ws, r#"{"Type":"LoopForever"}"#).await;
    assert_eq!(error_code(&reply), "timeout");
    assert!(
        reply["Data"]["message"].as_str().unwrap().contains("fuel"),
        "{reply}"
    );
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_sees_nothing_by_default() {
    let server = start_simple(&["probe"]).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask_json(&mut ws, r#"{"Type":"Probe"}"#).await;
    let seen = &reply["Data"];
    assert_eq!(seen["env"], serde_json::json!({}), "{reply}");
    assert_eq!(seen["files"], serde_json::json!([]), "{reply}");
    assert_eq!(seen["etc_passwd"], false);
    assert_eq!(seen["data_file"], serde_json::Value::Null);
    assert_network_denied(&reply);
}

/// The probe's TCP connect to 127.0.0.1:1 was refused by the sandbox: not connected, and not
/// "connection refused" either (that would mean the guest reached the host's network stack).
fn assert_network_denied(reply: &serde_json::Value) {
    let net = reply["Data"]["net"]
        .as_str()
        .unwrap_or_else(|| panic!("the probe reports no net outcome: {reply}"));
    assert!(
        ["permission denied", "unsupported"].contains(&net),
        "a TCP connect must be denied by the sandbox, got {net:?}: {reply}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probe_sees_exactly_what_was_granted() {
    let dir = std::env::temp_dir().join(format!("extws-grant-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("hello.txt"), "granted").unwrap();
    let mut t = tenant("default", &["probe"]);
    t.capabilities = Capabilities {
        env: vec![("GREETING".into(), "hi".into())],
        read_only_dir: Some(PreopenedDir {
            host: dir.clone(),
            guest: "/data".into(),
        }),
        ..Capabilities::default()
    };
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask_json(&mut ws, r#"{"Type":"Probe"}"#).await;
    let seen = &reply["Data"];
    assert_eq!(
        seen["env"],
        serde_json::json!({"GREETING": "hi"}),
        "{reply}"
    );
    assert_eq!(
        seen["files"],
        serde_json::json!(["/data/hello.txt"]),
        "{reply}"
    );
    assert_eq!(seen["data_file"], "granted");
    assert_eq!(seen["write_ok"], false, "the directory is read-only");
    assert_eq!(seen["etc_passwd"], false);
    assert!(!dir.join("written.txt").exists());
    assert_network_denied(&reply);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_is_overloaded_and_a_flood_is_rate_limited() {
    // Its own tenant name: the instance counter below is global to this test binary.
    let mut t = tenant("queue-full", &["calc", "slow"]);
    // The slow call's 600 ms are wall-clock busy-waiting: on a loaded machine they can take
    // longer than the default 1 s deadline, which is not what this test is about.
    t.limits.timeout = Duration::from_secs(10);
    t.limits.max_concurrency = 1;
    t.limits.max_queue = 0;
    let server = start(Config::new(vec![t])).await;
    let mut busy = connect(&server.url("/")).await;
    send(&mut busy, r#"{"Type":"Slow","Data":600}"#).await;
    // The slow call holds the only slot once its instance exists.
    wait_for_metric(server.addr, &instances_created("queue-full", "fresh"), 1.0).await;
    let mut other = connect(&server.url("/")).await;
    let reply = ask_json(
        &mut other,
        r#"{"Id":1,"Type":"CalculateRequest","Data":{"numbers":[1]}}"#,
    )
    .await;
    assert_eq!(error_code(&reply), "overloaded");
    assert_eq!(reply["Id"], 1);
    assert_eq!(
        recv(&mut busy).await,
        r#"{"Type":"SlowResponse","Data":600}"#
    );
    assert_eq!(ask(&mut other, CALC).await, CALC_REPLY);

    let mut t = tenant("default", &["calc"]);
    t.limits.rate_burst = 3;
    t.limits.rate_per_second = 0.01;
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    for _ in 0..3 {
        assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
    }
    assert_eq!(error_code(&ask_json(&mut ws, CALC).await), "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_limit_answers_503() {
    let mut t = tenant("default", &["calc"]);
    t.limits.max_connections = 2;
    let server = start(Config::new(vec![t])).await;
    let mut a = connect(&server.url("/")).await;
    let _b = connect(&server.url("/")).await;
    match tokio_tungstenite::connect_async(server.url("/")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 503),
        other => panic!("expected 503, got {:?}", other.map(|_| ())),
    }
    assert_eq!(ask(&mut a, CALC).await, CALC_REPLY);
    drop(a);
    // A slot frees when a connection ends.
    let mut c = eventually(
        "a slot freed by the closed connection",
        Duration::from_secs(20),
        async || {
            tokio_tungstenite::connect_async(server.url("/"))
                .await
                .map(|(ws, _)| ws)
        },
    )
    .await;
    assert_eq!(ask(&mut c, CALC).await, CALC_REPLY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_noisy_neighbour_cannot_starve_another_tenant() {
    use extws_wasm::config::Route;
    let mut noisy = tenant("noisy", &["loop-forever"]);
    noisy.route = Route {
        path_prefix: "/noisy".into(),
        host: None,
    };
    noisy.limits.timeout = Duration::from_millis(300);
    noisy.limits.max_concurrency = 2;
    noisy.limits.max_queue = 4;
    let mut quiet = tenant("quiet", &["calc"]);
    quiet.route = Route {
        path_prefix: "/quiet".into(),
        host: None,
    };
    let server = start(Config::new(vec![noisy, quiet])).await;

    // Tenant A hammers loop-forever at full concurrency (and beyond: its queue overflows).
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut hammers = Vec::new();
    for _ in 0..6 {
        let mut ws = connect(&server.url("/noisy")).await;
        let stop = stop.clone();
        hammers.push(tokio::spawn(async move {
            let mut answered = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let reply = ask_json(&mut ws, r#"{"Type":"LoopForever"}"#).await;
                let code = error_code(&reply).to_string();
                assert!(code == "timeout" || code == "overloaded", "{reply}");
                answered += 1;
            }
            answered
        }));
    }
    // Both of A's slots are busy looping before B starts.
    wait_for_metric(server.addr, &instances_created("noisy", "fresh"), 2.0).await;
    // Meanwhile every one of tenant B's requests succeeds, promptly. Measured: 0.05-0.1 s for
    // the 20 under this load (the slowest 5-30 ms). A tenant made to wait for A's 300 ms
    // deadlines takes ~6 s; the bounds are generous but catch that, and any stall of seconds.
    let mut ws = connect(&server.url("/quiet")).await;
    let mut waited = Duration::ZERO;
    let mut slowest = Duration::ZERO;
    for i in 0..20 {
        let request = format!(r#"{{"Type":"CalculateRequest","Data":{{"numbers":[{i},1]}}}}"#);
        let sent = std::time::Instant::now();
        let reply = ask_json(&mut ws, &request).await;
        waited += sent.elapsed();
        slowest = slowest.max(sent.elapsed());
        assert_eq!(reply["Data"]["result"], i + 1, "{reply}");
        // Pacing, not a wait (and not counted): spreads B's requests over A's deadlines.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    assert!(
        waited < Duration::from_secs(3) && slowest < Duration::from_secs(2),
        "tenant B was starved: its 20 requests waited {waited:?} in all, the slowest {slowest:?}"
    );
    for hammer in hammers {
        assert!(hammer.await.unwrap() > 0, "tenant A really was hammering");
    }
}
