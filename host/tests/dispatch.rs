//! `dispatch` without sockets: every row of docs/protocol.md's error table and close policy,
//! frame in → replies and close out, on real components from `target/guests/`.

mod common;

use std::sync::Arc;

use common::{eventually, guest, tenant};
use extws_wasm::auth::Session;
use extws_wasm::auth::{AuthPolicy, Verifier, telegram};
use extws_wasm::config::TenantConfig;
use extws_wasm::connect::{self, FirstMessage, Pending};
use extws_wasm::dispatch::{Close, Dispatcher, Outcome};
use extws_wasm::metrics::Metrics;
use extws_wasm::runtime::{EngineSettings, Runtime};
use extws_wasm::tenants::Tenant;
use serde_json::Value;

const TOKEN: &str = "123456:dispatch-test-token";

async fn load(config: TenantConfig) -> Arc<Tenant> {
    let runtime = Runtime::new(&EngineSettings {
        total_instances: 16,
        ..EngineSettings::default()
    })
    .unwrap();
    let tenant = Tenant::load(&runtime, &config, None, Arc::new(Metrics::new()));
    Arc::new(tenant.await.unwrap())
}

/// A dispatcher of an authenticated (anonymous) connection to a tenant serving `components`.
async fn dispatcher(components: &[&str], tune: impl FnOnce(&mut TenantConfig)) -> Dispatcher {
    let mut config = tenant("t", components);
    tune(&mut config);
    Dispatcher::new(load(config).await, Default::default(), None)
}

fn replies(outcome: &Outcome) -> Vec<Value> {
    outcome
        .replies
        .iter()
        .map(|r| serde_json::from_str(r).unwrap_or_else(|e| panic!("{r:?}: {e}")))
        .collect()
}

/// The one reply's error code and message.
fn error(outcome: &Outcome) -> (String, String) {
    let r = replies(outcome);
    assert_eq!(r.len(), 1, "{r:?}");
    assert_eq!(r[0]["Type"], "HandlerException", "{}", r[0]);
    let data = &r[0]["Data"];
    (
        data["code"].as_str().unwrap().to_string(),
        data["message"].as_str().unwrap().to_string(),
    )
}

fn code(outcome: &Outcome) -> String {
    assert_eq!(outcome.close, None, "unexpected close");
    error(outcome).0
}

#[tokio::test]
async fn a_request_gets_its_reply_with_its_id() {
    let mut d = dispatcher(&["calc"], |_| {}).await;
    let out = d
        .on_text(r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]},"Id":[7]}"#)
        .await;
    assert_eq!(
        out.replies,
        [r#"{"Type":"CalculateResponse","Data":{"result":4},"Id":[7]}"#]
    );
    assert_eq!(out.close, None);
}

#[tokio::test]
async fn invalid_message_rows() {
    let mut d = dispatcher(&["calc"], |_| {}).await;
    for bad in [
        "not json",
        "[1]",
        r#"{"Data":{}}"#,
        r#"{"Type":5}"#,
        r#"{"Type":""}"#,
        r#"{"Type":"A","Type":"B"}"#,
    ] {
        assert_eq!(code(&d.on_text(bad).await), "invalid_message", "{bad}");
    }
    let out = d.on_binary(&[0xff, 0xfe, b'{']).await;
    assert_eq!(code(&out), "invalid_message");
    let out = d
        .on_binary(br#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#)
        .await;
    assert_eq!(
        replies(&out)[0]["Data"]["result"],
        1,
        "binary frames are UTF-8 JSON"
    );
}

#[tokio::test]
async fn unknown_type_names_the_type() {
    let mut d = dispatcher(&["calc"], |_| {}).await;
    let (code, message) = error(&d.on_text(r#"{"Type":"Nope","Id":1}"#).await);
    assert_eq!(code, "unknown_type");
    assert!(message.contains("\"Nope\""), "{message}");
}

#[tokio::test]
async fn handler_error_carries_the_guest_message() {
    let mut d = dispatcher(&["calc"], |_| {}).await;
    let big = r#"{"Type":"CalculateRequest","Data":{"numbers":[9223372036854775807,1]}}"#;
    let (code, message) = error(&d.on_text(big).await);
    assert_eq!(code, "handler_error");
    assert!(message.contains("overflow"), "{message}");
}

#[tokio::test]
async fn handler_failed_for_traps_and_non_json_data_with_a_reason() {
    let mut d = dispatcher(&["trap", "misbehave"], |_| {}).await;
    for t in ["Panic", "Unreachable", "NotJson"] {
        let (code, message) = error(&d.on_text(&format!(r#"{{"Type":"{t}"}}"#)).await);
        assert_eq!(code, "handler_failed", "{t}");
        // The client is told what happened, not just that something did.
        let reason = message.trim_start_matches("the handler failed:").trim();
        assert!(
            reason.len() > 10 && !reason.ends_with("backtrace:"),
            "{t}: {message}"
        );
    }
}

#[tokio::test]
async fn timeout_limit_and_the_connection_goes_on() {
    let mut d = dispatcher(
        &[
            "loop-forever",
            "memory-hog",
            "stack-overflow",
            "huge-reply",
            "calc",
        ],
        |t| {
            t.limits.timeout = std::time::Duration::from_millis(200);
            t.limits.max_memory_bytes = 16 << 20;
            t.ledger.max_frame_bytes = 4096;
        },
    )
    .await;
    assert_eq!(
        code(&d.on_text(r#"{"Type":"LoopForever"}"#).await),
        "timeout"
    );
    for t in ["MemoryHog", "StackOverflow"] {
        let out = d.on_text(&format!(r#"{{"Type":"{t}"}}"#)).await;
        assert_eq!(code(&out), "limit", "{t}");
    }
    let out = d.on_text(r#"{"Type":"HugeReply","Data":5000}"#).await;
    assert_eq!(code(&out), "limit", "a reply over max_message_bytes");
    let out = d.on_text(r#"{"Type":"HugeType","Data":5000}"#).await;
    assert_eq!(code(&out), "limit", "a reply Type over max_message_bytes");
    let out = d.on_text(r#"{"Type":"HugeType","Data":100}"#).await;
    assert_eq!(replies(&out)[0]["Type"], "T".repeat(100));
    let out = d
        .on_text(r#"{"Type":"CalculateRequest","Data":{"numbers":[]}}"#)
        .await;
    assert_eq!(replies(&out)[0]["Data"]["result"], 0);
}

#[tokio::test]
async fn a_guest_hoarding_host_handles_gets_limit_with_the_reason() {
    let mut d = dispatcher(&["misbehave"], |_| {}).await;
    let (code, message) = error(&d.on_text(r#"{"Type":"LeakHandles"}"#).await);
    assert_eq!(code, "limit");
    assert!(message.contains("host resource"), "{message}");
    let out = d.on_text(r#"{"Type":"Echo","Data":1}"#).await;
    assert_eq!(replies(&out)[0]["Data"], 1, "the next message works");
}

#[tokio::test]
async fn overloaded_when_the_slots_and_the_queue_are_full() {
    let mut config = tenant("t", &["slow"]);
    config.limits.max_concurrency = 1;
    config.limits.max_queue = 0;
    let tenant = load(config).await;
    let mut busy = Dispatcher::new(tenant.clone(), Default::default(), None);
    let mut other = Dispatcher::new(tenant, Default::default(), None);
    let long = busy.on_text(r#"{"Type":"Slow","Data":600}"#);
    // Asked again until the long call has taken the only slot (which it holds for 600 ms).
    let refused = eventually(
        "a short call refused while the long one holds the slot",
        std::time::Duration::from_secs(10),
        async || {
            let out = other.on_text(r#"{"Type":"Slow","Data":0}"#).await;
            (!out.replies[0].contains("SlowResponse")).then_some(out)
        },
    );
    let (long, refused) = tokio::join!(long, refused);
    assert_eq!(replies(&long)[0]["Type"], "SlowResponse");
    assert_eq!(code(&refused), "overloaded");
}

#[tokio::test]
async fn rate_limited_past_the_burst() {
    let mut d = dispatcher(&["calc"], |t| {
        t.limits.rate_burst = 2;
        t.limits.rate_per_second = 0.001;
    })
    .await;
    let msg = r#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#;
    assert_eq!(
        replies(&d.on_text(msg).await)[0]["Type"],
        "CalculateResponse"
    );
    assert_eq!(
        replies(&d.on_text(msg).await)[0]["Type"],
        "CalculateResponse"
    );
    assert_eq!(code(&d.on_text(msg).await), "rate_limited");
}

fn authenticated_tenant() -> TenantConfig {
    let mut config = tenant("t", &["calc"]);
    config.auth = AuthPolicy::new(Verifier::for_bot_token(TOKEN).unwrap());
    config
}

/// What a frame before authentication produced: the refusal, or the `AuthResponse` of a valid
/// `Auth` with the session it yields.
fn first_message(first: FirstMessage) -> Result<(Value, Session), Outcome> {
    match first {
        FirstMessage::Refused(outcome) => Err(outcome),
        FirstMessage::Authenticated(signed_in) => {
            let response = serde_json::from_str(&signed_in.response).unwrap();
            Ok((response, signed_in.session))
        }
    }
}

#[tokio::test]
async fn unauthenticated_until_auth_then_auth_response() {
    let tenant = load(authenticated_tenant()).await;
    let mut pending = Pending::new(tenant.clone(), Ok(None));
    let msg = r#"{"Type":"WhoAmIRequest","Id":1}"#;
    let refused = first_message(pending.on_text(msg)).unwrap_err();
    assert_eq!(code(&refused), "unauthenticated");
    let init_data = common::signed_user(TOKEN, 42);
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data}, "Id": 2});
    let (response, session) = first_message(pending.on_text(&auth.to_string()))
        .ok()
        .unwrap();
    assert_eq!(response["Type"], "AuthResponse");
    assert_eq!(response["Id"], 2);
    assert_eq!(response["Data"]["user"]["id"], 42);
    let registered = connect::register(tenant, session, Ok(None), None).await;
    let mut d = registered.dispatcher;
    assert_eq!(replies(&d.on_text(msg).await)[0]["Data"]["user"]["id"], 42);
}

#[tokio::test]
async fn close_policy_failed_auth_is_4401_with_the_reason() {
    let tenant = load(authenticated_tenant()).await;
    let bad_signature = telegram::sign_hmac(
        &[("user".into(), r#"{"id":1,"first_name":"A"}"#.into())],
        "654321:some-other-token",
    );
    for data in [
        serde_json::json!({"initData": bad_signature}),
        serde_json::json!(5),
        serde_json::json!({}),
        serde_json::json!({"initData": 7}),
    ] {
        let mut pending = Pending::new(tenant.clone(), Ok(None));
        let auth = serde_json::json!({"Type": "Auth", "Data": data});
        let out = first_message(pending.on_text(&auth.to_string())).expect_err("refused");
        let close = out.close.expect("closed");
        assert_eq!(close.code, 4401, "{data}");
        assert!(!close.reason.is_empty(), "{data}");
        assert!(out.replies.is_empty());
    }
}

#[tokio::test]
async fn close_policy_handler_codes_are_kept_when_sendable_else_1008() {
    let mut d = dispatcher(&["misbehave"], |_| {}).await;
    for (asked, sent) in [
        ("4000", 4000),
        ("1000", 1000),
        ("1005", 1008),
        ("1006", 1008),
        ("1015", 1008),
        ("999", 1008),
        ("null", 1008),
    ] {
        let out = d
            .on_text(&format!(r#"{{"Type":"CloseMe","Data":{asked}}}"#))
            .await;
        assert_eq!(error(&out).0, "handler_error", "the error is sent first");
        let close = out.close.expect("closed");
        assert_eq!(close.code, sent, "asked {asked}");
        assert_eq!(close.reason, "closing on request");
    }
}

#[tokio::test]
async fn close_policy_oversize_frames_are_1009() {
    let mut d = dispatcher(&["calc"], |t| t.ledger.max_frame_bytes = 100).await;
    let out = d
        .on_text(&format!(
            r#"{{"Type":"CalculateRequest","Data":"{}"}}"#,
            "x".repeat(200)
        ))
        .await;
    assert!(out.replies.is_empty());
    let close = out.close.expect("closed");
    assert_eq!(close.code, 1009);
    assert!(close.reason.len() <= 123);
    // The other closes the session makes: sendable codes with short reasons.
    for close in [
        Close::not_utf8(),
        Close::auth_timed_out(),
        Close::idle(),
        Close::shutting_down(),
        Close::slow_consumer(),
    ] {
        assert!(matches!(close.code, 1001 | 1007 | 1008 | 4401), "{close:?}");
    }
}

#[tokio::test]
async fn fanout_answers_once_per_component_in_order() {
    let mut d = dispatcher(&["calc", "calc-rust"], |t| t.fanout = true).await;
    let out = d
        .on_text(r#"{"Type":"CalculateRequest","Data":{"numbers":[3]}}"#)
        .await;
    assert_eq!(out.replies.len(), 2);
    assert!(replies(&out).iter().all(|r| r["Data"]["result"] == 3));
    assert!(guest("calc").is_file());
}

#[tokio::test]
async fn reserved_types_are_forbidden_from_a_client_before_any_lookup() {
    let mut d = dispatcher(&["calc"], |_| {}).await;
    for t in [
        "telegram.message",
        "telegram.successful_payment",
        "schedule.Tick",
    ] {
        let out = d.on_text(&format!(r#"{{"Type":"{t}","Data":{{}}}}"#)).await;
        let (code, message) = error(&out);
        assert_eq!(code, "forbidden_type", "{t}");
        assert!(message.contains(t), "{message}");
    }
}

/// Malformed frames cost the server a parse too: they take a token like any other.
#[tokio::test]
async fn invalid_frames_count_against_the_rate_limit() {
    let mut d = dispatcher(&["calc"], |t| {
        t.limits.rate_burst = 2;
        t.limits.rate_per_second = 0.001;
    })
    .await;
    assert_eq!(code(&d.on_text("not json").await), "invalid_message");
    assert_eq!(code(&d.on_binary(&[0xff, 0xfe]).await), "invalid_message");
    assert_eq!(code(&d.on_text("not json either").await), "rate_limited");
    assert_eq!(code(&d.on_binary(&[0xff]).await), "rate_limited");
    let valid = r#"{"Type":"CalculateRequest","Data":{"numbers":[1]},"Id":9}"#;
    let out = d.on_text(valid).await;
    assert_eq!(code(&out), "rate_limited");
    assert_eq!(
        replies(&out)[0]["Id"],
        9,
        "a rate-limited request keeps its Id"
    );
}
