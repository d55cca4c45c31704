//! Authentication ends before the client can see it is connected: a push sent to a user the
//! instant its connection opens (the 101 for initData at the handshake, the `AuthResponse` for
//! first-message auth) is delivered — 200 times in a row on every transport, with push history
//! on and off. The push comes from another user's handler (the counter's `NotifyUserRequest`),
//! which answers only once the push is on the bus, so a connection registered after its 101
//! would miss it.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Verifier};
use extws_wasm::capabilities::push::HistoryPolicy;
use extws_wasm::config::StateConfig;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOKEN: &str = "8200:connect-push-token";
const SENDER: i64 = 1;
const ROUNDS: i64 = 200;

async fn server(history: HistoryPolicy) -> TestServer {
    let mut t = tenant("cp", &["counter"]);
    t.auth = AuthPolicy::new(Verifier::hmac(TOKEN));
    t.limits.rate_per_second = 1e6;
    t.limits.rate_burst = 1_000_000;
    t.limits.max_connections_per_user = 1_000;
    t.push_history = history;
    let mut config = Config::new(vec![t]);
    config.state = StateConfig {
        data_dir: Some(temp_dir("connect-push")),
        redis: None,
    };
    start(config).await
}

#[derive(Debug, Clone, Copy)]
enum Transport {
    Query,
    Header,
    Subprotocol,
    FirstMessage,
}

/// `id`'s connection by `transport`, returned once the client sees itself connected.
async fn open(server: &TestServer, transport: Transport, id: i64) -> Ws {
    let init_data = signed_user(TOKEN, id);
    let base = format!("ws://{}/", server.addr);
    let mut request = match transport {
        Transport::Query => format!("{base}?{init_data}"),
        _ => base,
    }
    .into_client_request()
    .unwrap();
    let headers = request.headers_mut();
    match transport {
        Transport::Header => {
            let value = format!("tma {init_data}");
            headers.insert("authorization", HeaderValue::from_str(&value).unwrap());
        }
        Transport::Subprotocol => {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&init_data);
            let value = format!("tma.{b64}, extws");
            headers.insert(
                "sec-websocket-protocol",
                HeaderValue::from_str(&value).unwrap(),
            );
        }
        _ => {}
    }
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .expect("connect failed");
    if let Transport::FirstMessage = transport {
        let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data}});
        let reply = ask_json(&mut ws, &auth.to_string()).await;
        assert_eq!(reply["Type"], "AuthResponse", "{reply}");
    }
    ws
}

async fn rounds(history: HistoryPolicy) {
    let server = server(history).await;
    let mut sender = open(&server, Transport::Query, SENDER).await;
    for transport in [
        Transport::Query,
        Transport::Header,
        Transport::Subprotocol,
        Transport::FirstMessage,
    ] {
        for round in 0..ROUNDS {
            let user = 100 + round;
            let mut ws = open(&server, transport, user).await;
            let text = format!("round {round}");
            let push = format!(
                r#"{{"Type":"NotifyUserRequest","Data":{{"user":{user},"text":"{text}"}}}}"#
            );
            let reply = ask_json(&mut sender, &push).await;
            assert_eq!(reply["Type"], "NotifyUserResponse", "{reply}");
            let got = tokio::time::timeout(Duration::from_secs(10), recv(&mut ws))
                .await
                .unwrap_or_else(|_| panic!("{transport:?} round {round}: the push was lost"));
            let got: serde_json::Value = serde_json::from_str(&got).unwrap();
            assert_eq!(got["Type"], "Notice", "{transport:?} round {round}: {got}");
            assert_eq!(got["Data"]["text"], text.as_str());
            assert_eq!(got.get("Seq").is_some(), history.size > 0, "{got}");
        }
    }
    drop(sender);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_instant_a_connection_opens_is_delivered_with_history_off() {
    rounds(HistoryPolicy {
        size: 0,
        ttl: Duration::from_secs(60),
        max_bytes: 0,
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_the_instant_a_connection_opens_is_delivered_with_history_on() {
    rounds(extws_wasm::capabilities::push::history::DEFAULT_HISTORY).await;
}
