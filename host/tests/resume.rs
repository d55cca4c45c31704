//! Push history and session resume over real sockets: a user drops its TCP connection (a reset,
//! no close frame), misses pushes, reconnects with the last `Seq` it saw and gets exactly the
//! missed ones, in order, before live ones — on one node (embedded store) and across two nodes
//! on one Redis; every initData transport's way to resume; `ResumeGap` when the history was
//! trimmed; clear errors for a `Seq` from the future or garbage; history off.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Verifier};
use extws_wasm::capabilities::push::HistoryPolicy;
use extws_wasm::config::{StateConfig, TenantConfig};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "8100:resume-token";
/// The user that sends the pushes (through the counter's `NotifyUserRequest`).
const SENDER: i64 = 1000;

fn counter_tenant(history: HistoryPolicy) -> TenantConfig {
    let mut t = tenant("r", &["counter"]);
    t.auth = AuthPolicy::new(Verifier::hmac(TOKEN));
    t.limits.rate_per_second = 1e6;
    t.limits.rate_burst = 1_000_000;
    t.push_history = history;
    t
}

async fn start_node(history: HistoryPolicy) -> TestServer {
    let mut config = Config::new(vec![counter_tenant(history)]);
    config.state = StateConfig {
        data_dir: Some(temp_dir("resume")),
        redis: None,
    };
    start(config).await
}

const DEFAULT: HistoryPolicy = HistoryPolicy {
    size: 100,
    ttl: Duration::from_secs(300),
    max_bytes: 64 << 20,
};

/// `user`'s connection to `addr`, resuming after `resume` (query transport).
async fn user(addr: &str, id: i64, resume: Option<u64>) -> Ws {
    let resume = resume.map_or(String::new(), |s| format!("&resume={s}"));
    connect(&format!("ws://{addr}/?{}{resume}", signed_user(TOKEN, id))).await
}

/// Has `sender` push `Notice {"text": text}` to `to`; returns once the push is stored.
async fn push(sender: &mut Ws, to: i64, text: &str) {
    let request =
        format!(r#"{{"Type":"NotifyUserRequest","Data":{{"user":{to},"text":"{text}"}}}}"#);
    let reply = ask_json(sender, &request).await;
    assert_eq!(reply["Type"], "NotifyUserResponse", "{reply}");
}

/// A received `Notice`: its text and `Seq`.
async fn notice(ws: &mut Ws) -> (String, u64) {
    let frame = recv(ws).await;
    let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
    assert_eq!(v["Type"], "Notice", "{frame}");
    let seq = v["Seq"]
        .as_u64()
        .unwrap_or_else(|| panic!("no Seq: {frame}"));
    (v["Data"]["text"].as_str().unwrap().to_string(), seq)
}

/// Drops `ws` with a TCP reset (SO_LINGER 0, no close frame), as a phone losing its network.
fn reset(ws: Ws) {
    match ws.get_ref() {
        MaybeTlsStream::Plain(tcp) => tcp.set_zero_linger().unwrap(),
        _ => unreachable!("plain TCP in tests"),
    }
    drop(ws);
}

/// Waits until the server at `addr` counts `n` open connections of tenant `tenant`.
async fn until_open(addr: &str, tenant: &str, n: i64) {
    let series = format!(r#"extws_connections_open{{tenant="{tenant}"}}"#);
    eventually(
        &format!("{series} reaching {n}"),
        Duration::from_secs(20),
        async || match metric(addr, &series).await as i64 {
            open if open == n => Ok(()),
            open => Err(format!("it is {open}")),
        },
    )
    .await;
}

/// Pushes 1..=5 (received live), a reset, 6..=10 while away, a reconnect (to `back_addr`) with
/// the fifth `Seq`: exactly 6..=10 in order, then live pushes — while 40 more are being pushed
/// during the reconnect, each arriving once.
async fn misses_nothing(addr: &str, back_addr: &str, tenant: &str) {
    // Open connections once the phone is gone: the sender's, where it is.
    let left = |at: &str| i64::from(at == addr);
    let mut sender = user(addr, SENDER, None).await;
    let mut phone = user(addr, 7, None).await;
    let mut seqs = Vec::new();
    for n in 1..=5 {
        push(&mut sender, 7, &n.to_string()).await;
        let (text, seq) = notice(&mut phone).await;
        assert_eq!(text, n.to_string());
        seqs.push(seq);
    }
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let last = seqs[4];
    reset(phone);
    until_open(addr, tenant, left(addr)).await; // the server saw the reset
    for n in 6..=10 {
        push(&mut sender, 7, &n.to_string()).await;
    }
    let mut phone = user(back_addr, 7, Some(last)).await;
    for n in 6..=10u64 {
        assert_eq!(notice(&mut phone).await, (n.to_string(), last + n - 5));
    }
    push(&mut sender, 7, "live").await;
    assert_eq!(notice(&mut phone).await, ("live".to_string(), last + 6));

    // Again and again, with pushes racing the reconnect (some land between the registration
    // for live pushes and the history read, so they come both ways): each Seq once, in order.
    let mut last = last + 6;
    for round in 0..ROUNDS {
        reset(phone);
        until_open(back_addr, tenant, left(back_addr)).await;
        let racing = tokio::spawn(async move {
            for n in 0..RACING {
                push(&mut sender, 7, &format!("race{round}.{n}")).await;
            }
            sender
        });
        // Reconnect once the pushes are flowing.
        tokio::task::yield_now().await;
        phone = user(back_addr, 7, Some(last)).await;
        for n in 0..RACING {
            let expected = (format!("race{round}.{n}"), last + 1 + n);
            assert_eq!(notice(&mut phone).await, expected, "round {round}");
        }
        last += RACING;
        sender = racing.await.unwrap();
    }
    push(&mut sender, 7, "after").await;
    assert_eq!(notice(&mut phone).await, ("after".to_string(), last + 1));
}

/// Reconnects racing pushes, and pushes per reconnect.
const ROUNDS: u64 = 25;
const RACING: u64 = 30;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_resumes_without_loss_or_duplicates_on_one_node() {
    let server = start_node(DEFAULT).await;
    let addr = server.addr.to_string();
    misses_nothing(&addr, &addr, "r").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reset_connection_resumes_on_another_node_through_redis() {
    let redis = RedisServer::start();
    let node = || {
        ChildServer::start([
            "--bot-token".into(),
            TOKEN.into(),
            "--rate-per-second".into(),
            "100000".into(),
            "--rate-burst".into(),
            "100000".into(),
            "--component".into(),
            guest("counter").into_os_string(),
            "--redis".into(),
            redis.url().into(),
            "--data-dir".into(),
            temp_dir("resume-node").into_os_string(),
        ])
    };
    let (a, b) = (node(), node());
    misses_nothing(&a.addr, &b.addr, "default").await;
}

/// Every transport can carry the resume: the query (also in the whole-query-string form), a
/// header, the `Auth` message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_can_resume() {
    let server = start_node(DEFAULT).await;
    let addr = server.addr.to_string();
    let mut sender = user(&addr, SENDER, None).await;
    let init = signed_user(TOKEN, 8);
    let encoded: String = url_encode(&init);
    let mut seen = {
        let mut phone = user(&addr, 8, None).await;
        push(&mut sender, 8, "first").await;
        notice(&mut phone).await.1
    };
    for way in ["whole query", "param", "header", "auth message"] {
        push(&mut sender, 8, way).await;
        let url = match way {
            "whole query" => format!("ws://{addr}/?{init}&resume={seen}"),
            "param" => format!("ws://{addr}/?resume={seen}&initData={encoded}"),
            _ => format!("ws://{addr}/"),
        };
        let mut request = url.into_client_request().unwrap();
        if way == "header" {
            let headers = request.headers_mut();
            headers.insert("authorization", format!("tma {init}").parse().unwrap());
            headers.insert("extws-resume", seen.to_string().parse().unwrap());
        }
        let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        if way == "auth message" {
            let auth =
                serde_json::json!({"Type": "Auth", "Data": {"initData": init, "resume": seen}});
            let reply = ask_json(&mut ws, &auth.to_string()).await;
            assert_eq!(reply["Type"], "AuthResponse", "{reply}");
        }
        let (text, seq) = notice(&mut ws).await;
        assert_eq!((text.as_str(), seq), (way, seen + 1), "{way}");
        seen = seq;
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trimmed_history_says_resume_gap_then_replays_what_is_left() {
    let small = HistoryPolicy { size: 3, ..DEFAULT };
    let server = start_node(small).await;
    let addr = server.addr.to_string();
    let mut sender = user(&addr, SENDER, None).await;
    let mut phone = user(&addr, 9, None).await;
    push(&mut sender, 9, "1").await;
    let (_, first) = notice(&mut phone).await;
    reset(phone);
    until_open(&addr, "r", 1).await;
    for n in 2..=8 {
        push(&mut sender, 9, &n.to_string()).await;
    }
    let mut phone = user(&addr, 9, Some(first)).await;
    let gap: serde_json::Value = serde_json::from_str(&recv(&mut phone).await).unwrap();
    assert_eq!(
        gap,
        serde_json::json!({"Type": "ResumeGap", "Data": {
            "resume": first, "first": first + 5, "latest": first + 7}})
    );
    for n in 6..=8u64 {
        assert_eq!(notice(&mut phone).await, (n.to_string(), first + n - 1));
    }
    push(&mut sender, 9, "live").await;
    assert_eq!(notice(&mut phone).await, ("live".to_string(), first + 8));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_seq_from_the_future_or_garbage_is_a_clear_error_and_the_server_carries_on() {
    let server = start_node(DEFAULT).await;
    let addr = server.addr.to_string();
    let mut sender = user(&addr, SENDER, None).await;
    let mut phone = user(&addr, 10, None).await;
    push(&mut sender, 10, "x").await;
    let (_, latest) = notice(&mut phone).await;
    let init = signed_user(TOKEN, 10);
    let refused = |frame: String, what: &str| {
        let v: serde_json::Value = serde_json::from_str(&frame).unwrap();
        assert_eq!(error_code(&v), "invalid_resume", "{what}: {v}");
        v["Data"]["message"].as_str().unwrap().to_string()
    };
    let future = (latest + 1).to_string();
    let huge = u64::MAX.to_string();
    for bad in [
        future.as_str(),
        huge.as_str(),
        "abc",
        "-1",
        "1.5",
        "99999999999999999999999",
    ] {
        let mut ws = connect(&format!("ws://{addr}/?{init}&resume={bad}")).await;
        let message = refused(recv(&mut ws).await, bad);
        if bad == future {
            assert!(message.contains("ahead of the latest Seq"), "{message}");
        } else if bad.parse::<u64>().is_err() {
            assert!(message.contains("non-negative integer"), "{message}");
        }
        let close = expect_close(&mut ws).await.expect("a close frame");
        assert_eq!(u16::from(close.code), 4400, "{bad}: {close:?}");
    }
    // Through the Auth message too.
    for bad in [
        serde_json::json!(-3),
        serde_json::json!("x"),
        serde_json::json!(latest + 9),
    ] {
        let mut ws = connect(&format!("ws://{addr}/")).await;
        let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init, "resume": bad}});
        assert_eq!(
            ask_json(&mut ws, &auth.to_string()).await["Type"],
            "AuthResponse"
        );
        refused(recv(&mut ws).await, &bad.to_string());
        let close = expect_close(&mut ws).await.expect("a close frame");
        assert_eq!(u16::from(close.code), 4400);
    }
    // The server is fine, and so is the user's live connection.
    push(&mut sender, 10, "still").await;
    assert_eq!(notice(&mut phone).await, ("still".to_string(), latest + 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_history_off_pushes_have_no_seq_and_a_resume_gets_a_gap() {
    let server = start_node(HistoryPolicy::OFF).await;
    let addr = server.addr.to_string();
    let mut sender = user(&addr, SENDER, None).await;
    let mut phone = user(&addr, 11, None).await;
    push(&mut sender, 11, "plain").await;
    assert_eq!(
        recv(&mut phone).await,
        r#"{"Type":"Notice","Data":{"text":"plain"}}"#
    );
    let mut again = user(&addr, 11, Some(5)).await;
    assert_eq!(
        recv(&mut again).await,
        r#"{"Type":"ResumeGap","Data":{"resume":5,"first":null,"latest":null}}"#
    );
}
