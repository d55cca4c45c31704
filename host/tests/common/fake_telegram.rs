//! Telegram's side of a bot, on top of [`FakeHttp`]: the Bot API methods the shop uses answer
//! as Telegram would, `getUpdates` serves a queue of updates from the `offset` asked for (the
//! fake never forgets an update, so a poller that starts again without an offset sees them
//! all again, as after a restart before Telegram got the confirmation), and
//! [`post_update`] plays Telegram posting to a webhook.
#![allow(dead_code)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use extws_wasm::capabilities::telegram::{BotApi, BotToken};
use extws_wasm::config::TenantConfig;
use extws_wasm::config::updates::{Updates, WebhookSecret};

use super::fake_http::{FakeHttp, Recorded, Reply};
use super::{eventually, tenant};

/// The shop example as tenant `shop`: users sign in with initData of `token` (query
/// transport), handlers may call `methods` of this fake Bot API as the bot, and updates arrive
/// as `updates` says.
pub fn shop_tenant(
    telegram: &FakeTelegram,
    token: &str,
    methods: &[&str],
    updates: Updates,
) -> TenantConfig {
    let mut t = tenant("shop", &["shop"]);
    t.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(token))
    };
    t.limits.timeout = Duration::from_secs(5);
    t.ledger.max_frame_bytes = 8192;
    let methods = methods.iter().map(|m| m.to_string());
    let api = BotApi::new(Some(BotToken::new(token)), &telegram.http.url(), methods).unwrap();
    t.capabilities.telegram = Some(Arc::new(api));
    t.updates = Some(updates);
    t
}

/// The buyer on `ws` asks the shop for a sword; returns the invoice payload the shop gave
/// Telegram (`createInvoiceLink`).
pub async fn buy_sword(telegram: &FakeTelegram, ws: &mut super::Ws) -> String {
    let bought = super::ask_json(ws, r#"{"Type":"BuyRequest","Data":{"item":"sword"}}"#).await;
    assert_eq!(bought["Type"], "BuyResponse", "{bought}");
    assert_eq!(bought["Data"]["link"], INVOICE_LINK);
    let invoice = telegram.calls_of("createInvoiceLink")[0].json();
    invoice["payload"].as_str().unwrap().to_string()
}

/// Updates posted by Telegram to `path` with `secret`.
pub fn webhook_at(path: &str, secret: &str) -> Updates {
    Updates::Webhook {
        path: path.into(),
        secret: WebhookSecret::new(secret).unwrap(),
    }
}

/// The invoice link `createInvoiceLink` answers.
pub const INVOICE_LINK: &str = "https://t.me/$fake-invoice";

/// A fake Telegram.
pub struct FakeTelegram {
    /// The HTTP server (its `url()` is the tenant's `api_url`).
    pub http: FakeHttp,
    updates: Arc<Mutex<Vec<Value>>>,
}

impl FakeTelegram {
    /// Starts one on 127.0.0.1:0.
    pub async fn start() -> Self {
        let updates: Arc<Mutex<Vec<Value>>> = Arc::default();
        let queue = updates.clone();
        let http = FakeHttp::start(move |call| answer(call, &queue)).await;
        Self { http, updates }
    }

    /// Queues an update for `getUpdates`.
    pub fn queue(&self, update: Value) {
        self.updates.lock().unwrap().push(update);
    }

    /// The calls of `method` so far.
    pub fn calls_of(&self, method: &str) -> Vec<Recorded> {
        self.http
            .calls()
            .into_iter()
            .filter(|c| c.path.rsplit('/').next() == Some(method))
            .collect()
    }

    /// Waits until `method` has been called `n` times; panics after 20 s.
    pub async fn wait_for(&self, method: &str, n: usize) -> Vec<Recorded> {
        eventually(
            &format!("{n} calls of {method}"),
            Duration::from_secs(20),
            async || match self.calls_of(method) {
                calls if calls.len() >= n => Ok(calls),
                calls => Err(format!("{} calls", calls.len())),
            },
        )
        .await
    }
}

fn ok(result: Value) -> Reply {
    Reply::Json(200, json!({"ok": true, "result": result}).to_string())
}

fn answer(call: &Recorded, updates: &Mutex<Vec<Value>>) -> Reply {
    match call.path.rsplit('/').next().unwrap_or("") {
        "getUpdates" => {
            let offset = call.json()["offset"].as_i64().unwrap_or(i64::MIN);
            let pending: Vec<Value> = updates
                .lock()
                .unwrap()
                .iter()
                .filter(|u| u["update_id"].as_i64().unwrap() >= offset)
                .cloned()
                .collect();
            if pending.is_empty() {
                // A long poll with nothing to return; shorter than a real one.
                Reply::After(Duration::from_millis(200), Box::new(ok(json!([]))))
            } else {
                ok(Value::Array(pending))
            }
        }
        "createInvoiceLink" => ok(json!(INVOICE_LINK)),
        "sendMessage" => ok(json!({"message_id": 1, "date": 0, "chat": call.json()["chat_id"]})),
        "getWebhookInfo" => ok(json!({"url": "", "pending_update_count": 0})),
        _ => ok(json!(true)),
    }
}

/// Posts `body` to a webhook as Telegram does (with `secret` in its header); returns the
/// status.
pub async fn post_update(
    addr: impl std::fmt::Display,
    path: &str,
    secret: Option<&str>,
    body: &str,
) -> u16 {
    let secret = secret
        .map(|s| format!("X-Telegram-Bot-Api-Secret-Token: {s}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         {secret}Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send_raw(addr, request.as_bytes()).await
}

/// Sends raw request bytes; returns the response's status.
pub async fn send_raw(addr: impl std::fmt::Display, request: &[u8]) -> u16 {
    let mut stream = tokio::net::TcpStream::connect(addr.to_string())
        .await
        .unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut response))
        .await
        .expect("no answer within 30 s")
        .unwrap();
    let text = String::from_utf8_lossy(&response);
    text.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {text:?}"))
}

/// An update of `kind` with this object.
pub fn update(id: i64, kind: &str, object: Value) -> String {
    let mut update = json!({ "update_id": id });
    update[kind] = object;
    update.to_string()
}

/// A private-chat `message` from user `from` with `text`.
pub fn message(from: i64, text: &str) -> Value {
    json!({
        "message_id": 1, "date": 0, "text": text,
        "from": {"id": from, "is_bot": false, "first_name": "U"},
        "chat": {"id": from, "type": "private"},
    })
}

/// How long the real Bot API takes to answer a `sendMessage`, about: what [`slow_bot_api`]
/// waits before each answer.
pub const BOT_API_LATENCY: Duration = Duration::from_millis(150);

/// A Bot API stand-in that answers every call `{"ok": true, ...}` after [`BOT_API_LATENCY`],
/// as the real one does (the host's flood limits must leave room for the request itself).
/// It runs on its own thread, as Telegram runs on its own machine: the times it records are
/// when requests arrived, even while the server under test keeps the test's runtime busy.
pub async fn slow_bot_api() -> FakeHttp {
    let (started, fake) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let api = FakeHttp::start(|call| {
                let sent = ok(json!({"message_id": 1, "date": 0, "chat": call.json()["chat_id"]}));
                Reply::After(BOT_API_LATENCY, Box::new(sent))
            })
            .await;
            let _ = started.send(api);
            // Serves until the test process ends.
            std::future::pending::<()>().await;
        });
    });
    fake.await.unwrap()
}

/// The most requests among `calls` that arrived within any sliding `window` (measured at the
/// receiving server, as Telegram counts).
pub fn most_in_window(calls: &[Recorded], window: Duration) -> usize {
    let mut times: Vec<std::time::Instant> = calls.iter().map(|c| c.at).collect();
    times.sort();
    let mut first = 0;
    let mut most = 0;
    for (last, t) in times.iter().enumerate() {
        while *t - times[first] >= window {
            first += 1;
        }
        most = most.max(last + 1 - first);
    }
    most
}
