//! Bot updates into handlers, with a fake Telegram playing its side: it posts updates to the
//! webhook (with and without the secret, retried, replayed) and serves `getUpdates`. The shop
//! example runs a Stars purchase end to end over real sockets; the poller survives Telegram
//! going away and a restart without running anything twice; two nodes on one Redis run an
//! update once. (The `telegram` commands and `check` of the shop example, which run the real
//! binary, are in `updates_cli.rs`.)

mod common;

use std::time::Duration;

use common::fake_telegram::{
    FakeTelegram, buy_sword, message, post_update, send_raw, shop_tenant, update, webhook_at,
};
use common::*;
use extws_wasm::Config;
use extws_wasm::config::updates::Updates;
use extws_wasm::config::{StateConfig, TenantConfig};
use serde_json::{Value, json};

const TOKEN: &str = "777000:shop-token-never-shown";
const SECRET: &str = "webhook-secret_42";
const HOOK: &str = "/telegram/webhook";
const METHODS: &[&str] = &[
    "sendMessage",
    "createInvoiceLink",
    "answerPreCheckoutQuery",
    "refundStarPayment",
];

/// The shop, authenticating users with the bot's token, receiving updates as `updates` says.
fn shop(telegram: &FakeTelegram, updates: Updates) -> TenantConfig {
    shop_tenant(telegram, TOKEN, METHODS, updates)
}

fn webhook() -> Updates {
    webhook_at(HOOK, SECRET)
}

fn series(kind: &str, outcome: &str) -> String {
    format!(r#"extws_telegram_updates_total{{tenant="shop",kind="{kind}",outcome="{outcome}"}}"#)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_needs_the_secret_and_runs_each_update_once() {
    let telegram = FakeTelegram::start().await;
    let dir = temp_dir("updates-webhook");
    let server = start(with_store(shop(&telegram, webhook()), &dir)).await;
    let start_cmd = update(1, "message", message(42, "/start"));

    // No secret, a wrong one, one that differs only in its last character: 401, nothing runs.
    for secret in [None, Some("wrong"), Some("webhook-secret_43")] {
        assert_eq!(
            post_update(server.addr, HOOK, secret, &start_cmd).await,
            401
        );
    }
    let refused = r#"extws_auth_failures_total{tenant="shop",reason="webhook_secret"}"#;
    assert_eq!(metric(server.addr, refused).await, 3.0);

    // The right secret: it runs (the bot greets the user), and a retry does not run it again.
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &start_cmd).await,
        200
    );
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &start_cmd).await,
        200
    );
    let greeted = telegram.calls_of("sendMessage");
    assert_eq!(greeted.len(), 1, "{greeted:?}");
    assert_eq!(greeted[0].json()["chat_id"], 42);
    assert_eq!(
        metric(server.addr, &series("message", "handled")).await,
        1.0
    );
    assert_eq!(
        metric(server.addr, &series("message", "duplicate")).await,
        1.0
    );

    // An update kind no component claims: acknowledged and counted.
    let inline = update(
        2,
        "inline_query",
        json!({"id": "q", "query": "x", "offset": ""}),
    );
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &inline).await,
        200
    );
    assert_eq!(
        metric(server.addr, &series("inline_query", "unclaimed")).await,
        1.0
    );

    // Over the tenant's max_message_bytes: 413 before the body is read.
    let huge = update(
        3,
        "message",
        message(42, &format!("/start {}", "x".repeat(9000))),
    );
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &huge).await,
        413
    );
    // Not an update, not JSON, not a POST: refused, nothing runs.
    for body in ["[1]", "{", r#"{"update_id":4}"#] {
        assert_eq!(
            post_update(server.addr, HOOK, Some(SECRET), body).await,
            400,
            "{body}"
        );
    }
    let get = format!(
        "GET {HOOK} HTTP/1.1\r\nHost: x\r\n{}: {SECRET}\r\n\r\n",
        "X-Telegram-Bot-Api-Secret-Token"
    );
    assert_eq!(send_raw(server.addr, get.as_bytes()).await, 405);
    assert_eq!(telegram.calls_of("sendMessage").len(), 1);
}

/// Reads frames until a reply of `want` arrives; returns it and the `PurchaseConfirmed` pushes
/// seen on the way.
async fn until_reply(ws: &mut Ws, want: &str) -> (Value, Vec<Value>) {
    let mut pushes = Vec::new();
    loop {
        let frame: Value = serde_json::from_str(&recv(ws).await).unwrap();
        match frame["Type"].as_str() {
            Some("PurchaseConfirmed") => pushes.push(frame),
            Some(t) if t == want => return (frame, pushes),
            _ => panic!("unexpected {frame}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stars_purchase_end_to_end_confirms_and_records_once() {
    let telegram = FakeTelegram::start().await;
    let dir = temp_dir("updates-shop");
    let server = start(with_store(shop(&telegram, webhook()), &dir)).await;
    let mut buyer = connect(&server.url(&format!("/?{}", signed_user(TOKEN, 42)))).await;

    // The Mini App buys: the handler makes an invoice link in Stars.
    let payload = buy_sword(&telegram, &mut buyer).await;
    let invoice = telegram.calls_of("createInvoiceLink")[0].json();
    assert_eq!(
        (
            invoice["currency"].clone(),
            invoice["prices"][0]["amount"].clone()
        ),
        (json!("XTR"), json!(50))
    );

    // Telegram asks before charging: the handler says yes for the right price...
    let query = |id: &str, amount: i64| {
        json!({"id": id, "from": {"id": 42, "first_name": "U"}, "currency": "XTR",
               "total_amount": amount, "invoice_payload": payload})
    };
    let pre = update(10, "pre_checkout_query", query("pcq-1", 50));
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &pre).await,
        200
    );
    // ... and no for a price the shop does not sell at.
    let cheap = update(11, "pre_checkout_query", query("pcq-2", 1));
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &cheap).await,
        200
    );
    let answers: Vec<Value> = telegram
        .calls_of("answerPreCheckoutQuery")
        .iter()
        .map(|c| c.json())
        .collect();
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(
        (
            answers[0]["pre_checkout_query_id"].clone(),
            answers[0]["ok"].clone()
        ),
        (json!("pcq-1"), json!(true))
    );
    assert_eq!(answers[1]["ok"], false);
    let approved = answers.iter().filter(|a| a["ok"] == true).count();
    assert_eq!(approved, 1);

    // The payment arrives, is retried by Telegram (same update), and replayed by hand (a new
    // update id with the same charge).
    let paid = |id: i64| {
        let mut m = message(42, "");
        m["successful_payment"] = json!({"currency": "XTR", "total_amount": 50,
            "invoice_payload": payload, "telegram_payment_charge_id": "charge-1",
            "provider_payment_charge_id": ""});
        update(id, "message", m)
    };
    for id in [12, 12, 13] {
        assert_eq!(
            post_update(server.addr, HOOK, Some(SECRET), &paid(id)).await,
            200
        );
    }
    assert_eq!(
        metric(server.addr, &series("successful_payment", "handled")).await,
        2.0
    );
    assert_eq!(
        metric(server.addr, &series("successful_payment", "duplicate")).await,
        1.0
    );

    // Exactly one confirmation reached the open Mini App, and one purchase is recorded. Every
    // push was sent before the first request below; the second round trip gives a duplicate
    // push time to show up.
    let purchases = r#"{"Type":"PurchasesRequest","Data":{}}"#;
    send(&mut buyer, purchases).await;
    let (list, mut confirmed) = until_reply(&mut buyer, "PurchasesResponse").await;
    if confirmed.is_empty() {
        let next = serde_json::from_str::<Value>(&recv(&mut buyer).await).unwrap();
        confirmed.push(next);
    }
    send(&mut buyer, purchases).await;
    let (_, more) = until_reply(&mut buyer, "PurchasesResponse").await;
    assert_eq!(confirmed.len() + more.len(), 1, "{confirmed:?} {more:?}");
    assert_eq!(confirmed[0]["Type"], "PurchaseConfirmed", "{confirmed:?}");
    assert_eq!(confirmed[0]["Data"]["charge_id"], "charge-1");
    let recorded = list["Data"]["purchases"].as_array().unwrap();
    assert_eq!(recorded.len(), 1, "{list}");
    assert_eq!(
        (recorded[0]["item"].clone(), recorded[0]["stars"].clone()),
        (json!("sword"), json!(50))
    );

    // A refund goes to Telegram once; a second is refused by the shop.
    let refund = r#"{"Type":"RefundRequest","Data":{"charge_id":"charge-1"}}"#;
    let refunded = ask_json(&mut buyer, refund).await;
    assert_eq!(refunded["Type"], "RefundResponse", "{refunded}");
    let again = ask_json(&mut buyer, refund).await;
    assert!(
        error_message(&again).contains("already refunded"),
        "{again}"
    );
    let refunds = telegram.calls_of("refundStarPayment");
    assert_eq!(refunds.len(), 1);
    assert_eq!(refunds[0].json()["user_id"], 42);
    assert_eq!(refunds[0].json()["telegram_payment_charge_id"], "charge-1");
}

fn error_message(reply: &Value) -> String {
    assert_eq!(reply["Type"], "HandlerException", "not an error: {reply}");
    reply["Data"]["message"].as_str().unwrap().to_string()
}

fn polling() -> Updates {
    Updates::Polling {
        timeout: Duration::from_secs(1),
    }
}

/// The `offset`s the poller has asked `getUpdates` for.
fn offsets(telegram: &FakeTelegram) -> Vec<Option<i64>> {
    telegram
        .calls_of("getUpdates")
        .iter()
        .map(|c| c.json()["offset"].as_i64())
        .collect()
}

/// Waits until a `getUpdates` from the `skip`th on asks for `offset`.
async fn until_offset(telegram: &FakeTelegram, skip: usize, offset: i64) {
    eventually(
        &format!("a getUpdates with offset {offset}"),
        Duration::from_secs(20),
        async || {
            let asked = offsets(telegram);
            if asked[skip.min(asked.len())..].contains(&Some(offset)) {
                return Ok(());
            }
            let last: Vec<_> = asked.iter().rev().take(5).collect();
            Err(format!("{} calls, the last {last:?}", asked.len()))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn polling_advances_the_offset_survives_an_outage_and_a_restart_running_nothing_twice() {
    let mut telegram = FakeTelegram::start().await;
    let dir = temp_dir("updates-polling");
    telegram.queue(serde_json::from_str(&update(1, "message", message(1, "/start"))).unwrap());
    let server = start(with_store(shop(&telegram, polling()), &dir)).await;
    telegram.wait_for("sendMessage", 1).await;
    // The next poll confirms update 1 and asks only for what comes after it, with the kinds
    // the shop handles.
    until_offset(&telegram, 0, 2).await;
    let asked = telegram.calls_of("getUpdates")[0].json();
    assert_eq!(
        asked["allowed_updates"],
        json!(["message", "pre_checkout_query"])
    );

    // Telegram goes away: the poller notices, backs off and keeps trying.
    telegram.http.go_away();
    let errors = r#"extws_telegram_polls_total{tenant="shop",outcome="error"}"#;
    wait_for_metric(server.addr, errors, 2.0).await;
    telegram.queue(serde_json::from_str(&update(2, "message", message(2, "/start"))).unwrap());
    telegram.http.come_back().await;
    let greeted = telegram.wait_for("sendMessage", 2).await;
    assert_eq!(greeted[1].json()["chat_id"], 2);

    // A restart forgets the offset: Telegram sends updates 1 and 2 again, and neither runs.
    server.shutdown().await.unwrap();
    let polls_before = telegram.calls_of("getUpdates").len();
    let server = start(with_store(shop(&telegram, polling()), &dir)).await;
    wait_for_metric(server.addr, &series("message", "duplicate"), 2.0).await;
    let since: Vec<Option<i64>> = offsets(&telegram)[polls_before..].to_vec();
    assert_eq!(since[0], None, "{since:?}");
    until_offset(&telegram, polls_before, 3).await;
    assert_eq!(telegram.calls_of("sendMessage").len(), 2);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_on_one_redis_run_an_update_once() {
    let redis = RedisServer::start();
    let telegram = FakeTelegram::start().await;
    let node = || {
        let mut config = Config::new(vec![shop(&telegram, webhook())]);
        config.state = StateConfig {
            data_dir: None,
            redis: Some(redis.url()),
        };
        config
    };
    let (a, b) = (start(node()).await, start(node()).await);
    // Telegram retries a webhook that was slow to answer; with a load balancer in front, the
    // retry can reach the other node while the first is still running it. That node tells
    // Telegram to come again (503) rather than claim it ran: the first may yet fail.
    for id in 100..110 {
        let body = update(id, "message", message(id, "/start"));
        let (to_a, to_b) = tokio::join!(
            post_update(a.addr, HOOK, Some(SECRET), &body),
            post_update(b.addr, HOOK, Some(SECRET), &body)
        );
        assert!(
            matches!((to_a, to_b), (200, 200) | (200, 503) | (503, 200)),
            "{to_a} {to_b}"
        );
        // Telegram's next retry, to either node, is acknowledged: the update ran.
        for node in [&a, &b] {
            assert_eq!(post_update(node.addr, HOOK, Some(SECRET), &body).await, 200);
        }
    }
    let mut chats: Vec<i64> = telegram
        .calls_of("sendMessage")
        .iter()
        .map(|c| c.json()["chat_id"].as_i64().unwrap())
        .collect();
    chats.sort_unstable();
    assert_eq!(chats, (100..110).collect::<Vec<_>>());
}
