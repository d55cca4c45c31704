//! The `telegram` import against a stand-in Bot API (a real HTTP server on 127.0.0.1): results
//! reach the guest, unlisted methods are denied without a request, Telegram's refusals and 429s
//! come back typed, the flood limits space calls per chat and per tenant, a hanging Bot API is
//! `unavailable` within the deadline, and the token shows up nowhere but in the request path.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::fake_http::{FakeHttp, Reply};
use common::*;
use extws_wasm::Config;
use extws_wasm::capabilities::telegram::{BotApi, BotToken};
use extws_wasm::config::TenantConfig;
use serde_json::{Value, json};

const TOKEN: &str = "123456:TEST-token-never-shown";

fn bot_tenant(name: &str, api: &FakeHttp, methods: &[&str]) -> TenantConfig {
    let mut t = tenant(name, &["act"]);
    t.route.path_prefix = format!("/{name}");
    // Generous unless a test is about the deadline: a loaded machine must not fail these.
    t.limits.timeout = Duration::from_secs(5);
    let api = BotApi::new(
        Some(BotToken::new(TOKEN)),
        &api.url(),
        methods.iter().map(|m| m.to_string()),
    )
    .unwrap();
    t.capabilities.telegram = Some(Arc::new(api));
    t
}

async fn call(ws: &mut Ws, method: &str, params: Value) -> Value {
    let request = json!({"Type": "Telegram", "Data": {"method": method, "params": params}});
    let reply = ask_json(ws, &request.to_string()).await;
    assert_eq!(reply["Type"], "TelegramResult", "{reply}");
    reply["Data"].clone()
}

#[tokio::test]
async fn allowed_methods_reach_telegram_and_others_are_denied() {
    let api = FakeHttp::start(|call| match call.path.rsplit('/').next() {
        Some("sendMessage") => Reply::Json(200, r#"{"ok":true,"result":{"message_id":7}}"#.into()),
        _ => Reply::Json(
            400,
            r#"{"ok":false,"error_code":400,"description":"Bad Request: chat not found"}"#.into(),
        ),
    })
    .await;
    let server = start(Config::new(vec![bot_tenant(
        "acme",
        &api,
        &["sendMessage", "getChat"],
    )]))
    .await;
    let mut ws = connect(&server.url("/acme")).await;

    let ok = call(&mut ws, "sendMessage", json!({"chat_id": 42, "text": "hi"})).await;
    assert_eq!(ok, json!({"result": {"message_id": 7}}));
    let calls = api.calls();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].method, "POST");
    assert_eq!(calls[0].path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(calls[0].json(), json!({"chat_id": 42, "text": "hi"}));

    let denied = call(
        &mut ws,
        "deleteMessage",
        json!({"chat_id": 42, "message_id": 7}),
    )
    .await;
    assert_eq!(denied["error"]["kind"], "denied", "{denied}");
    assert_eq!(api.calls().len(), 1, "a denied method makes no request");

    let refused = call(&mut ws, "getChat", json!({"chat_id": 1})).await;
    assert_eq!(
        refused["error"],
        json!({"kind": "api", "code": 400, "description": "Bad Request: chat not found",
               "retry_after": null})
    );

    for (method, params) in [("send Message", json!({})), ("sendMessage", json!([1]))] {
        let invalid = call(&mut ws, method, params).await;
        assert_eq!(invalid["error"]["kind"], "invalid", "{invalid}");
    }
    assert_eq!(api.calls().len(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_tenant_without_bot_api_access_is_denied() {
    let server = start_simple(&["act"]).await;
    let mut ws = connect(&server.url("/")).await;
    let denied = call(&mut ws, "sendMessage", json!({"chat_id": 1, "text": "x"})).await;
    assert_eq!(denied["error"]["kind"], "denied", "{denied}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_429_holds_every_call_of_the_bot_until_retry_after_passes() {
    let first = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let api = FakeHttp::start(move |_| {
        if first.swap(false, std::sync::atomic::Ordering::SeqCst) {
            Reply::Json(
                429,
                r#"{"ok":false,"error_code":429,"description":"Too Many Requests: retry after 2","parameters":{"retry_after":2}}"#.into(),
            )
        } else {
            Reply::Json(200, r#"{"ok":true,"result":true}"#.into())
        }
    })
    .await;
    let server = start(Config::new(vec![bot_tenant("acme", &api, &["getMe"])])).await;
    let mut ws = connect(&server.url("/acme")).await;

    let limited = call(&mut ws, "getMe", json!({})).await;
    assert_eq!(
        limited["error"],
        json!({"kind": "rate_limited", "seconds": 2})
    );
    // Until retry_after has passed, calls are held back by the host: no request goes out.
    let reply = eventually(
        "getMe answered once retry_after (2 s) has passed",
        Duration::from_secs(20),
        async || {
            let reply = call(&mut ws, "getMe", json!({})).await;
            if reply["error"]["kind"] != "rate_limited" {
                return Ok(reply);
            }
            assert_eq!(api.calls().len(), 1, "a rate-limited call made a request");
            Err(reply)
        },
    )
    .await;
    assert_eq!(reply, json!({"result": true}));
    let calls = api.calls();
    assert_eq!(calls.len(), 2);
    let gap = calls[1].at - calls[0].at;
    assert!(gap >= Duration::from_secs(2), "sent again after {gap:?}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn messages_to_one_chat_are_spaced_and_tenants_are_independent() {
    let acme_api = FakeHttp::bot_api_ok(json!({"message_id": 1})).await;
    let globex_api = FakeHttp::bot_api_ok(json!({"message_id": 2})).await;
    let mut acme = bot_tenant("acme", &acme_api, &["sendMessage"]);
    acme.limits.timeout = Duration::from_millis(2500);
    let globex = bot_tenant("globex", &globex_api, &["sendMessage"]);
    let server = start(Config::new(vec![acme, globex])).await;

    let mut sockets = Vec::new();
    for _ in 0..5 {
        sockets.push(connect(&server.url("/acme")).await);
    }
    let message = json!({"Type": "Telegram", "Data": {"method": "sendMessage",
        "params": {"chat_id": 42, "text": "hi"}}})
    .to_string();
    for ws in &mut sockets {
        send(ws, &message).await;
    }
    // Another tenant's bot, same chat id, at the same moment: not held back by acme's calls.
    let mut other = connect(&server.url("/globex")).await;
    let started = Instant::now();
    let reply = call(
        &mut other,
        "sendMessage",
        json!({"chat_id": 42, "text": "hi"}),
    )
    .await;
    assert_eq!(reply, json!({"result": {"message_id": 2}}));
    assert!(
        started.elapsed() < Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );

    let mut sent = 0;
    let mut limited = 0;
    for ws in &mut sockets {
        let reply: Value = serde_json::from_str(&recv(ws).await).unwrap();
        match &reply["Data"] {
            d if d["result"].is_object() => sent += 1,
            d if d["error"]["kind"] == "rate_limited" => limited += 1,
            d => panic!("unexpected {d}"),
        }
    }
    assert_eq!(sent + limited, 5);
    assert!(
        sent >= 2,
        "with a 2.5 s deadline at least two calls fit ({sent} did)"
    );
    assert!(
        limited >= 1,
        "five calls cannot fit in 2.5 s at one a second"
    );
    let mut times: Vec<Instant> = acme_api.calls().iter().map(|c| c.at).collect();
    assert_eq!(times.len(), sent, "a rate-limited call made a request");
    times.sort();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_secs(1),
            "two messages to one chat {gap:?} apart"
        );
    }
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_hanging_bot_api_is_unavailable_within_the_deadline() {
    let api = FakeHttp::start(|_| Reply::Hang).await;
    let mut t = bot_tenant("acme", &api, &["getMe"]);
    t.limits.timeout = Duration::from_millis(500);
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/acme")).await;
    let started = Instant::now();
    let reply = call(&mut ws, "getMe", json!({})).await;
    assert_eq!(reply["error"]["kind"], "unavailable", "{reply}");
    // The request was sent: the handler must not take it for one that never left.
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("outcome unknown: "), "{message}");
    // Generous: proves the deadline bounds the call at all.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(api.calls().len(), 1);
    // The host hangs up on it rather than keep the socket until the server gives up.
    api.wait_for_hang_up(started + Duration::from_secs(10))
        .await;
    server.shutdown().await.unwrap();
}

/// Everything a client, a guest, the log (at trace level) and `/metrics` can see, across a
/// success, Telegram's refusal, a 429 and a denied method, from the real binary serving
/// `guest-examples/notify` and the `act` test guest: the token is only in the request path
/// the Bot API received. Also `notify` end to end: client → handler → Bot API → client.
#[tokio::test]
async fn the_token_shows_nowhere_and_notify_works_end_to_end() {
    let answers = std::sync::Mutex::new(vec![
        r#"{"ok":false,"error_code":429,"description":"Too Many Requests","parameters":{"retry_after":1}}"#,
        r#"{"ok":false,"error_code":403,"description":"Forbidden: bot was blocked by the user"}"#,
    ]);
    let api = FakeHttp::start(move |call| {
        let next = call
            .path
            .ends_with("/getMe")
            .then(|| answers.lock().unwrap().pop())
            .flatten();
        match next {
            Some(answer) => Reply::Json(400, answer.into()),
            None => Reply::Json(200, r#"{"ok":true,"result":{"message_id":99}}"#.into()),
        }
    })
    .await;
    let server = ChildServer::start_with_env(
        [
            "--component",
            guest("notify").to_str().unwrap(),
            "--component",
            guest("act").to_str().unwrap(),
            "--telegram-method",
            "sendMessage",
            "--telegram-method",
            "getMe",
            "--telegram-api-url",
            &api.url(),
        ],
        [
            ("EXTWS_BOT_TOKEN", TOKEN),
            // Everything but the compiler's internals, which never see the token.
            (
                "EXTWS_LOG",
                "trace,cranelift=info,wasmtime=info,regalloc2=info",
            ),
        ],
    );
    let mut ws = connect(&server.url(&format!("/?{}", signed_user(TOKEN, 4242)))).await;
    let mut seen = Vec::new();

    let reminder = ask_json(
        &mut ws,
        r#"{"Type":"RemindMeRequest","Data":{"text":"stretch"}}"#,
    )
    .await;
    assert_eq!(
        reminder,
        json!({"Type": "RemindMeResponse", "Data": {"message_id": 99}})
    );
    let sent = api.calls().pop().unwrap();
    assert_eq!(sent.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(sent.json(), json!({"chat_id": 4242, "text": "stretch"}));
    seen.push(reminder.to_string());

    for (method, params) in [
        ("getMe", json!({})),
        ("getMe", json!({})),
        ("getMe", json!({})),
        ("deleteWebhook", json!({})),
        ("send Message", json!({})),
    ] {
        seen.push(call(&mut ws, method, params).await.to_string());
    }
    let env = ask_json(&mut ws, r#"{"Type":"Environment"}"#).await;
    assert_eq!(env["Data"]["env"], json!([]), "{env}");
    seen.push(env.to_string());
    seen.push(
        ask_json(&mut ws, r#"{"Type":"RemindMeRequest","Data":{}}"#)
            .await
            .to_string(),
    );
    seen.push(http_get(&server.addr, "/metrics").await.1);
    drop(ws);
    let (_, log) = server.stop();
    // The WebSocket library is held at info whatever EXTWS_LOG says (it logs frames), so a
    // verbose log shows as DEBUG and TRACE lines of everything else.
    assert!(
        log.iter()
            .any(|l| l.contains("TRACE") || l.contains("DEBUG")),
        "no verbose log was captured"
    );
    seen.extend(log);
    let secret = TOKEN.split_once(':').unwrap().1;
    for text in &seen {
        assert!(!text.contains(secret), "the token leaked: {text}");
    }
    assert!(
        seen.iter()
            .any(|t| t.contains("Forbidden: bot was blocked"))
    );
    assert!(seen.iter().any(|t| t.contains("rate_limited")));
}

/// `https://` is spoken for real: against a server that only speaks plain HTTP (and so never
/// answers the TLS handshake) the call ends as `unavailable` within the deadline, and no
/// plain-text request (which would carry the token in the clear) ever reaches it.
#[tokio::test]
async fn an_https_api_url_needs_tls() {
    let plain = FakeHttp::bot_api_ok(json!(true)).await;
    let mut t = tenant("acme", &["act"]);
    let api = BotApi::new(
        Some(BotToken::new(TOKEN)),
        &format!("https://{}", plain.addr),
        ["getMe".to_string()],
    )
    .unwrap();
    t.capabilities.telegram = Some(Arc::new(api));
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = call(&mut ws, "getMe", json!({})).await;
    assert_eq!(reply["error"]["kind"], "unavailable", "{reply}");
    let message = reply["error"]["message"].as_str().unwrap();
    assert!(message.starts_with("not sent: "), "{message}");
    assert!(plain.calls().is_empty(), "a request went out in plain text");
    server.shutdown().await.unwrap();
}
