//! Trust follows the origin: the `Type`s the host reserves for its own sources (`telegram.*`
//! for bot updates, `schedule.*` for schedules) are refused when a signed-in client sends them
//! — `forbidden_type`, and no handler runs (no purchase recorded, no Bot API call) — while the
//! same Types still reach the shop from Telegram's webhook. The `call` subcommand (the
//! operator) may send them, to try an update locally.

mod common;

use common::fake_telegram::{
    FakeTelegram, buy_sword, message, post_update, shop_tenant, update, webhook_at,
};
use common::*;
use serde_json::{Value, json};

const TOKEN: &str = "777001:origins-token";
const SECRET: &str = "origins-secret";
const HOOK: &str = "/telegram/webhook";

async fn shop(telegram: &FakeTelegram) -> TestServer {
    let methods = ["sendMessage", "createInvoiceLink", "answerPreCheckoutQuery"];
    let shop = shop_tenant(telegram, TOKEN, &methods, webhook_at(HOOK, SECRET));
    start(with_store(shop, &temp_dir("origins"))).await
}

fn payment(payload: &str) -> Value {
    let mut m = message(42, "");
    m["successful_payment"] = json!({"currency": "XTR", "total_amount": 50,
        "invoice_payload": payload, "telegram_payment_charge_id": "forged-1",
        "provider_payment_charge_id": ""});
    m
}

/// The buyer's purchases (reading past a `PurchaseConfirmed` push).
async fn purchases(ws: &mut Ws) -> Vec<Value> {
    send(ws, r#"{"Type":"PurchasesRequest","Data":{}}"#).await;
    loop {
        let frame: Value = serde_json::from_str(&recv(ws).await).unwrap();
        match frame["Type"].as_str() {
            Some("PurchaseConfirmed") => continue,
            Some("PurchasesResponse") => {
                return frame["Data"]["purchases"].as_array().unwrap().clone();
            }
            _ => panic!("unexpected {frame}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_cannot_send_what_only_telegram_or_a_schedule_may_send() {
    let telegram = FakeTelegram::start().await;
    let server = shop(&telegram).await;
    let mut buyer = connect(&server.url(&format!("/?{}", signed_user(TOKEN, 42)))).await;
    let payload = buy_sword(&telegram, &mut buyer).await;
    let query = json!({"id": "pcq-1", "from": {"id": 42, "first_name": "U"},
        "currency": "XTR", "total_amount": 50, "invoice_payload": payload});

    // The hostile case first: a signed-in user forges each reserved Type.
    let forged = [
        ("telegram.successful_payment", payment(&payload)),
        ("telegram.pre_checkout_query", query.clone()),
        ("telegram.message", message(42, "/start")),
        ("schedule.DailyDigest", json!({})),
    ];
    for (msg_type, data) in &forged {
        let frame = json!({"Type": msg_type, "Data": data, "Id": 7});
        let reply = ask_json(&mut buyer, &frame.to_string()).await;
        assert_eq!(error_code(&reply), "forbidden_type", "{msg_type}: {reply}");
        assert_eq!(reply["Id"], 7, "{reply}");
        let message = reply["Data"]["message"].as_str().unwrap();
        assert!(message.contains(msg_type), "{message}");
    }
    assert_eq!(
        purchases(&mut buyer).await,
        Vec::<Value>::new(),
        "a forged payment was recorded"
    );
    for method in ["answerPreCheckoutQuery", "sendMessage"] {
        assert!(
            telegram.calls_of(method).is_empty(),
            "a forged update reached {method}"
        );
    }
    let refused = r#"extws_messages_total{tenant="shop",type="reserved",outcome="forbidden_type"}"#;
    assert_eq!(metric(server.addr, refused).await, 4.0);

    // The same Types from their real origin, Telegram's webhook, still run.
    let pre = update(10, "pre_checkout_query", query);
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &pre).await,
        200
    );
    assert_eq!(
        telegram.calls_of("answerPreCheckoutQuery")[0].json()["ok"],
        true
    );
    let start_cmd = update(11, "message", message(42, "/start"));
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &start_cmd).await,
        200
    );
    assert_eq!(telegram.calls_of("sendMessage").len(), 1);
    let paid = update(12, "message", payment(&payload));
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &paid).await,
        200
    );
    // The webhook answers once the handler is done: the purchase is recorded by now.
    let recorded = purchases(&mut buyer).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0]["item"], "sword");
}

#[test]
fn the_call_subcommand_may_send_an_update_type() {
    let out = std::process::Command::new(BIN)
        .args(["call"])
        .arg(guest("shop"))
        .args(["telegram.message", &message(42, "hello").to_string()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(r#""greeted":false"#), "{stdout}");
}

/// A handler learns its call's origin (`session.origin`, WIT 0.1.3): `client` from a frame,
/// `update` with the `update_id` from the webhook, `cli` from `extws-wasm call`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handler_sees_where_its_call_came_from() {
    let mut t = tenant("probe", &["probe"]);
    t.updates = Some(webhook_at(HOOK, SECRET));
    let server = start(with_store(t, &temp_dir("origins-probe"))).await;
    let mut ws = connect(&server.url("/")).await;
    let asked = ask_json(&mut ws, r#"{"Type":"Origin"}"#).await;
    assert_eq!(asked["Data"], json!({"origin": "client"}), "{asked}");
    let forged = ask_json(&mut ws, r#"{"Type":"telegram.message","Data":{}}"#).await;
    assert_eq!(error_code(&forged), "forbidden_type");
    let last = ask_json(&mut ws, r#"{"Type":"LastOrigin"}"#).await;
    assert_eq!(
        last["Data"],
        json!({"origin": "client"}),
        "the forged call ran: {last}"
    );
    let posted = update(77, "message", message(5, "hi"));
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &posted).await,
        200
    );
    let last = ask_json(&mut ws, r#"{"Type":"LastOrigin"}"#).await;
    assert_eq!(
        last["Data"],
        json!({"origin": "update", "update_id": 77}),
        "{last}"
    );

    let out = std::process::Command::new(BIN)
        .arg("call")
        .arg(guest("probe"))
        .args(["telegram.message", "{}"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(r#""origin":"cli""#), "{stdout}");
}
