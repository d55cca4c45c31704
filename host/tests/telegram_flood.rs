//! Telegram's flood limits against a Bot API that answers in 150 ms, as the real one does: a
//! message Telegram received is reported sent to its handler (never `unavailable`), a call that
//! cannot be sent and answered before its deadline is refused before it is sent, no 1 s window
//! at Telegram sees more than 30 messages, and two nodes sharing one Redis keep that limit
//! together (and refuse to send, in time, while Redis does not answer).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_http::FakeHttp;
use common::fake_telegram::{most_in_window, slow_bot_api};
use common::*;
use extws_wasm::Config;
use extws_wasm::capabilities::telegram::{BotApi, BotToken};
use extws_wasm::config::{StateConfig, TenantConfig};
use serde_json::{Value, json};

const TOKEN: &str = "123456:TEST-flood-token";
/// Telegram's limit for one bot: messages in any second.
const TELEGRAM_LIMIT: usize = 30;

/// A tenant whose handlers may send messages through `api`, with room for a burst of calls
/// running at once and a handler deadline of `timeout`.
fn bot_tenant(api: &FakeHttp, timeout: Duration) -> TenantConfig {
    let mut t = tenant("acme", &["act"]);
    t.limits.timeout = timeout;
    t.limits.max_concurrency = 200;
    t.limits.max_queue = 200;
    let api = BotApi::new(
        Some(BotToken::new(TOKEN)),
        &api.url(),
        ["sendMessage".to_string()],
    )
    .unwrap();
    t.capabilities.telegram = Some(Arc::new(api));
    t
}

fn send_message(chat: i64) -> String {
    json!({"Type": "Telegram", "Data": {"method": "sendMessage",
        "params": {"chat_id": chat, "text": "hi"}}})
    .to_string()
}

/// `sendMessage` to the chats `chats`, one connection each, all at once; the `Data` of each
/// reply (`{"result": ...}` or `{"error": ...}`).
async fn burst(url: &str, chats: std::ops::Range<i64>) -> Vec<Value> {
    let mut sockets = Vec::new();
    for chat in chats {
        sockets.push((connect(url).await, chat));
    }
    for (ws, chat) in &mut sockets {
        send(ws, &send_message(*chat)).await;
    }
    let mut replies = Vec::new();
    for (ws, _) in &mut sockets {
        let reply: Value = serde_json::from_str(&recv(ws).await).unwrap();
        assert_eq!(reply["Type"], "TelegramResult", "{reply}");
        replies.push(reply["Data"].clone());
    }
    replies
}

/// How many replies say sent, and how many were refused before sending; panics on any other
/// answer (an `unavailable` for a message Telegram may have delivered invites a second send).
fn sent_and_refused(replies: &[Value]) -> (usize, usize) {
    let (mut sent, mut refused) = (0, 0);
    for reply in replies {
        match reply {
            r if r["result"]["message_id"] == 1 => sent += 1,
            r if r["error"]["kind"] == "rate_limited" => {
                assert!(r["error"]["seconds"].as_u64().unwrap() >= 1, "{r}");
                refused += 1;
            }
            r => panic!("neither sent nor refused before sending: {r}"),
        }
    }
    (sent, refused)
}

/// How many calls sent their request: every one not refused before sending. (Whether each was
/// also answered in time is the first test's point; on a loaded machine a reply may come too
/// late, as `outcome unknown`.)
fn left_the_host(replies: &[Value]) -> usize {
    let not_sent = |r: &&Value| {
        r["error"]["kind"] == "rate_limited"
            || r["error"]["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("not sent"))
    };
    replies.len() - replies.iter().filter(not_sent).count()
}

/// A burst near the limit: the calls that got a slot in time are answered `sent`, and every
/// message Telegram received was reported sent; those whose slot comes too late to send and
/// hear back before the deadline are refused with `rate_limited` before anything is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_telegram_received_is_reported_sent() {
    let api = slow_bot_api().await;
    let server = start(Config::new(vec![bot_tenant(
        &api,
        Duration::from_millis(2100),
    )]))
    .await;
    let url = server.url("/");
    // One message first, so the host has seen how long the Bot API takes.
    let mut ws = connect(&url).await;
    let first = ask_json(&mut ws, &send_message(1)).await;
    assert_eq!(first["Data"]["result"]["message_id"], 1, "{first}");

    let replies = burst(&url, 100..170).await;
    let (sent, refused) = sent_and_refused(&replies);
    let received = api.calls().len();
    assert_eq!(
        received,
        sent + 1,
        "Telegram received {received}, handlers were told {sent} + 1"
    );
    assert!(refused >= 1, "70 messages cannot all fit in 2.1 s");
    assert!(
        sent > TELEGRAM_LIMIT,
        "calls that waited for a slot in time were sent ({sent})"
    );
    eprintln!("burst of 70: {sent} sent, {refused} refused before sending");
    server.shutdown().await.unwrap();
}

/// The bot-wide limit holds with a margin where Telegram counts it: at its end, in any
/// sliding second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn telegram_never_sees_more_than_30_messages_in_a_second() {
    let api = slow_bot_api().await;
    let server = start(Config::new(vec![bot_tenant(
        &api,
        Duration::from_millis(3500),
    )]))
    .await;
    let replies = burst(&server.url("/"), 1..101).await;
    let sent = left_the_host(&replies);
    let calls = api.calls();
    assert_eq!(calls.len(), sent);
    let most = most_in_window(&calls, Duration::from_secs(1));
    eprintln!("{sent} sent; at most {most} in one second at Telegram");
    assert!(most <= TELEGRAM_LIMIT, "{most} messages in one second");
    assert!(
        sent > 2 * TELEGRAM_LIMIT,
        "only {sent} of 100 were sent in 3.5 s"
    );
    server.shutdown().await.unwrap();
}

/// `nodes` servers of the same bot, all on the Redis at `redis` (none: each on its own).
async fn nodes(api: &FakeHttp, redis: &str, n: usize, timeout: Duration) -> Vec<TestServer> {
    let mut servers = Vec::new();
    for _ in 0..n {
        let mut config = Config::new(vec![bot_tenant(api, timeout)]);
        config.state = StateConfig {
            data_dir: None,
            redis: Some(redis.to_string()),
        };
        servers.push(start(config).await);
    }
    servers
}

/// Two nodes of one bot, each sending a burst at the same moment: the limit is the bot's, kept
/// through Redis, so Telegram sees no more than one node alone may send.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_share_the_bot_limit_through_redis() {
    let redis = RedisServer::start();
    let api = slow_bot_api().await;
    let servers = nodes(&api, &redis.url(), 2, Duration::from_millis(2500)).await;
    let (one, two) = (servers[0].url("/"), servers[1].url("/"));
    let (a, b) = tokio::join!(burst(&one, 1..41), burst(&two, 101..141));
    let (sent_a, sent_b) = (left_the_host(&a), left_the_host(&b));
    let calls = api.calls();
    assert_eq!(calls.len(), sent_a + sent_b);
    let most = most_in_window(&calls, Duration::from_secs(1));
    eprintln!("node 1 sent {sent_a}, node 2 {sent_b}; at most {most} in one second");
    assert!(most <= TELEGRAM_LIMIT, "{most} messages in one second");
    assert!(
        sent_a >= 1 && sent_b >= 1,
        "both nodes sent ({sent_a}, {sent_b})"
    );
    for server in servers {
        server.shutdown().await.unwrap();
    }
}

/// While Redis does not answer (frozen, then gone), a node cannot know the bot's limits: it
/// refuses to send, as `unavailable` saying nothing was sent, within the deadline; once Redis
/// is back, messages go out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_redis_nothing_is_sent_and_the_call_ends_in_time() {
    let mut redis = RedisServer::start();
    let api = slow_bot_api().await;
    let servers = nodes(&api, &redis.url(), 1, Duration::from_millis(1500)).await;
    let mut ws = connect(&servers[0].url("/")).await;
    let sent = ask_json(&mut ws, &send_message(1)).await;
    assert_eq!(sent["Data"]["result"]["message_id"], 1, "{sent}");

    for (what, fail) in [("frozen", 0), ("gone", 1)] {
        if fail == 0 {
            redis.freeze();
        } else {
            redis.thaw();
            redis.stop();
        }
        let started = Instant::now();
        let reply = ask_json(&mut ws, &send_message(2)).await;
        let took = started.elapsed();
        let error = &reply["Data"]["error"];
        assert_eq!(error["kind"], "unavailable", "Redis {what}: {reply}");
        let message = error["message"].as_str().unwrap();
        assert!(message.starts_with("not sent"), "Redis {what}: {message}");
        assert!(took < Duration::from_secs(3), "Redis {what}: took {took:?}");
        assert_eq!(api.calls().len(), 1, "Redis {what}: a message was sent");
    }
    redis.restart();
    let reply = eventually(
        "a message sent once Redis is back",
        Duration::from_secs(20),
        async || match ask_json(&mut ws, &send_message(3)).await {
            r if r["Data"]["result"]["message_id"] == 1 => Ok(r),
            r => Err(r),
        },
    )
    .await;
    assert_eq!(reply["Type"], "TelegramResult");
    for server in servers {
        server.shutdown().await.unwrap();
    }
}

/// What one node learns holds on the others: a 429's `retry_after` stops every node's calls,
/// and one chat gets one message a second whichever node sends it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_and_a_chats_spacing_hold_on_every_node() {
    let redis = RedisServer::start();
    let first = std::sync::atomic::AtomicBool::new(true);
    let api = FakeHttp::start(move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            let limited = json!({"ok": false, "error_code": 429, "description": "Too Many Requests",
                "parameters": {"retry_after": 2}});
            common::fake_http::Reply::Json(429, limited.to_string())
        } else {
            let sent = json!({"ok": true, "result": {"message_id": 1}});
            common::fake_http::Reply::Json(200, sent.to_string())
        }
    })
    .await;
    let servers = nodes(&api, &redis.url(), 2, Duration::from_millis(1500)).await;
    let mut one = connect(&servers[0].url("/")).await;
    let mut two = connect(&servers[1].url("/")).await;

    let limited = ask_json(&mut one, &send_message(1)).await;
    assert_eq!(
        limited["Data"]["error"],
        json!({"kind": "rate_limited", "seconds": 2})
    );
    let held = ask_json(&mut two, &send_message(2)).await;
    assert_eq!(held["Data"]["error"]["kind"], "rate_limited", "{held}");
    assert_eq!(api.calls().len(), 1, "node 2 sent while the bot was held");

    let sent = eventually(
        "a message once retry_after has passed",
        Duration::from_secs(10),
        async || match ask_json(&mut two, &send_message(42)).await {
            r if r["Data"]["result"]["message_id"] == 1 => Ok(r),
            r => Err(r),
        },
    )
    .await;
    assert_eq!(sent["Type"], "TelegramResult");
    // The same chat from the other node, at once: it waits for the chat's slot a second on.
    let spaced = ask_json(&mut one, &send_message(42)).await;
    assert_eq!(spaced["Data"]["result"]["message_id"], 1, "{spaced}");
    let to_42: Vec<Instant> = (api.calls().iter())
        .filter(|c| c.json()["chat_id"] == 42)
        .map(|c| c.at)
        .collect();
    assert_eq!(to_42.len(), 2);
    let gap = to_42[1] - to_42[0];
    assert!(
        gap >= Duration::from_secs(1),
        "two messages to one chat {gap:?} apart"
    );
    for server in servers {
        server.shutdown().await.unwrap();
    }
}
