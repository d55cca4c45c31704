//! Each capability twice, allowed and denied, where the other suites do not already: kv and
//! push are granted by a state store and denied (`unavailable`, a WIT error the handler turns
//! into its own error, never a trap) without one. The Bot API (`telegram.rs`:
//! `allowed_methods_reach_telegram_and_others_are_denied`,
//! `a_tenant_without_bot_api_access_is_denied`), outbound HTTP (`outbound.rs`) and WASI
//! (`sandbox.rs`) have their pairs in their own suites.

mod common;

use common::*;
use extws_wasm::Config;
use extws_wasm::config::StateConfig;

async fn counter(store: bool) -> TestServer {
    let mut config = Config::new(vec![tenant("caps", &["counter"])]);
    if store {
        config.state = StateConfig {
            data_dir: Some(temp_dir("capabilities")),
            redis: None,
        };
    }
    start(config).await
}

/// The error envelope's message, asserting it is the handler's own error (not a trap).
fn handler_error(reply: &serde_json::Value) -> String {
    assert_eq!(error_code(reply), "handler_error", "{reply}");
    reply["Data"]["message"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_and_push_are_denied_without_a_state_store() {
    let server = counter(false).await;
    let mut ws = connect(&server.url("/")).await;
    // No user (auth off): the counter keys by user, so use the push and subscribe calls.
    let subscribed = ask_json(&mut ws, r#"{"Type":"SubscribeRequest"}"#).await;
    assert!(
        handler_error(&subscribed).contains("no state store"),
        "{subscribed}"
    );
    let notify = r#"{"Type":"NotifyUserRequest","Data":{"user":7,"text":"hi"}}"#;
    let pushed = ask_json(&mut ws, notify).await;
    assert!(
        handler_error(&pushed).contains("no state store"),
        "{pushed}"
    );
    // The connection goes on: a denial is an error value, not a trap.
    let again = ask_json(&mut ws, r#"{"Type":"SubscribeRequest"}"#).await;
    assert_eq!(error_code(&again), "handler_error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_and_push_are_granted_by_a_state_store() {
    let server = counter(true).await;
    let mut ws = connect(&server.url("/")).await;
    let subscribed = ask_json(&mut ws, r#"{"Type":"SubscribeRequest"}"#).await;
    assert_eq!(subscribed["Type"], "SubscribeResponse", "{subscribed}");
    let notify = r#"{"Type":"NotifyUserRequest","Data":{"user":7,"text":"hi"}}"#;
    let pushed = ask_json(&mut ws, notify).await;
    assert_eq!(pushed["Type"], "NotifyUserResponse", "{pushed}");
}
