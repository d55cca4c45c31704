//! Authentication over real sockets: every transport valid and invalid, expiry and replay with
//! an injected clock, Ed25519 with a key generated here, 401 before the upgrade.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier, telegram};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const TOKEN: &str = "7000001:test-bot-token-for-auth-tests";
const NOW: u64 = 1_800_000_000;
const USER: &str =
    r#"{"id":4242,"first_name":"Zoë","username":"zoe","photo_url":"https:\/\/t.me\/i\/u.svg"}"#;
const WHO: &str = r#"{"Type":"WhoAmIRequest","Data":{}}"#;
const WHO_REPLY: &str = r#"{"Type":"WhoAmIResponse","Data":{"user":{"id":4242,"first_name":"Zoë","username":"zoe","photo_url":"https://t.me/i/u.svg"}}}"#;

fn init_data(auth_date: u64) -> String {
    let fields = vec![
        ("query_id".to_string(), "AAF".to_string()),
        ("user".to_string(), USER.to_string()),
        ("auth_date".to_string(), auth_date.to_string()),
        ("start_param".to_string(), "promo 1".to_string()),
    ];
    telegram::sign_hmac(&fields, TOKEN)
}

/// A server whose clock reads `clock`, authenticating with `verifier` over `transports`.
async fn server(verifier: Verifier, transports: &[Transport], clock: Arc<AtomicU64>) -> TestServer {
    let mut t = tenant("bot", &["calc", "misbehave"]);
    t.auth = AuthPolicy {
        max_age: Some(3600),
        transports: transports.to_vec(),
        clock: Arc::new(move || clock.load(Ordering::SeqCst)),
        ..AuthPolicy::new(verifier)
    };
    start(Config::new(vec![t])).await
}

fn clock() -> Arc<AtomicU64> {
    Arc::new(AtomicU64::new(NOW))
}

/// Tries to upgrade; Ok(ws) or Err(HTTP status).
async fn try_connect(
    request: tokio_tungstenite::tungstenite::handshake::client::Request,
) -> Result<Ws, u16> {
    match tokio_tungstenite::connect_async(request).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => Err(resp.status().as_u16()),
        Err(e) => panic!("unexpected error {e}"),
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn whole_query_string_transport() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Query], clock()).await;
    let mut ws = connect(&s.url(&format!("/?{}", init_data(NOW - 10)))).await;
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);
    let tampered = init_data(NOW).replace("4242", "4243");
    assert_eq!(
        try_connect(
            s.url(&format!("/?{tampered}"))
                .into_client_request()
                .unwrap()
        )
        .await
        .err(),
        Some(401)
    );
    assert_eq!(
        try_connect(s.url("/").into_client_request().unwrap())
            .await
            .err(),
        Some(401),
        "missing"
    );
}

#[tokio::test]
async fn init_data_and_tg_web_app_data_parameters() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Query], clock()).await;
    for param in ["initData", "tgWebAppData"] {
        let url = s.url(&format!("/?{param}={}", urlencode(&init_data(NOW))));
        let mut ws = connect(&url).await;
        assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY, "{param}");
        let bad = s.url(&format!(
            "/?{param}={}",
            urlencode(&init_data(NOW).replace("AAF", "AAG"))
        ));
        assert_eq!(
            try_connect(bad.into_client_request().unwrap()).await.err(),
            Some(401)
        );
    }
}

#[tokio::test]
async fn authorization_header_transport() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Header], clock()).await;
    let mut req = s.url("/").into_client_request().unwrap();
    let value = format!("tma {}", init_data(NOW));
    req.headers_mut()
        .insert("authorization", HeaderValue::from_str(&value).unwrap());
    let mut ws = try_connect(req).await.expect("valid header accepted");
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);

    let mut req = s.url("/").into_client_request().unwrap();
    req.headers_mut().insert(
        "authorization",
        HeaderValue::from_str("tma auth_date=1&hash=00").unwrap(),
    );
    assert_eq!(try_connect(req).await.err(), Some(401));
    // The query transport is disabled here: initData in the URL is not looked at.
    let url = s.url(&format!("/?{}", init_data(NOW)));
    assert_eq!(
        try_connect(url.into_client_request().unwrap()).await.err(),
        Some(401)
    );
}

#[tokio::test]
async fn subprotocol_transport_echoes_the_plain_protocol() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Subprotocol], clock()).await;
    let encoded = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(init_data(NOW));
    let mut req = s.url("/").into_client_request().unwrap();
    let offer = format!("extws, tma.{encoded}");
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&offer).unwrap(),
    );
    let (mut ws, resp) = tokio_tungstenite::connect_async(req)
        .await
        .expect("accepted");
    assert_eq!(resp.headers()["sec-websocket-protocol"], "extws");
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);

    let bad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(init_data(NOW - 7200));
    let mut req = s.url("/").into_client_request().unwrap();
    req.headers_mut().insert(
        "sec-websocket-protocol",
        HeaderValue::from_str(&format!("tma.{bad}")).unwrap(),
    );
    assert_eq!(try_connect(req).await.err(), Some(401), "expired");
}

#[tokio::test]
async fn first_message_transport() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Message], clock()).await;
    let mut ws = connect(&s.url("/")).await;
    let reply = ask_json(&mut ws, WHO).await;
    assert_eq!(error_code(&reply), "unauthenticated");
    let auth = serde_json::json!({"Type": "Auth", "Id": 1, "Data": {"initData": init_data(NOW)}});
    let reply = ask_json(&mut ws, &auth.to_string()).await;
    assert_eq!(reply["Type"], "AuthResponse");
    assert_eq!(reply["Data"]["user"]["id"], 4242);
    assert_eq!(reply["Id"], 1);
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);

    let mut ws = connect(&s.url("/")).await;
    let bad = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data(NOW).replace("4242", "1")}});
    send(&mut ws, &bad.to_string()).await;
    let close = expect_close(&mut ws).await.expect("close frame");
    assert_eq!(u16::from(close.code), 4401);
    assert!(close.reason.contains("signature"), "{}", close.reason);
}

/// The first-message timer on a paused clock (time is the subject): nothing comes before the
/// tenant's 10 s, then 4401.
#[tokio::test(start_paused = true)]
async fn first_message_must_come_in_time() {
    use futures_util::StreamExt as _;
    let mut t = tenant("bot", &["calc"]);
    t.auth = AuthPolicy {
        transports: vec![Transport::Message],
        first_message_timeout: std::time::Duration::from_secs(10),
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    let s = start(Config::new(vec![t])).await;
    let mut ws = connect(&s.url("/")).await;
    let early = tokio::time::timeout(std::time::Duration::from_millis(9_900), ws.next()).await;
    assert!(
        early.is_err(),
        "something came before the timeout: {early:?}"
    );
    let close = expect_close(&mut ws).await.expect("close frame");
    assert_eq!(u16::from(close.code), 4401);
}

#[tokio::test]
async fn expiry_and_replay_after_the_window() {
    let now = clock();
    let s = server(Verifier::hmac(TOKEN), &[Transport::Query], now.clone()).await;
    let data = init_data(NOW);
    let expired = init_data(NOW - 3601);
    assert_eq!(
        try_connect(
            s.url(&format!("/?{expired}"))
                .into_client_request()
                .unwrap()
        )
        .await
        .err(),
        Some(401)
    );
    let mut ws = connect(&s.url(&format!("/?{data}"))).await;
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);
    // The same initData, replayed once the window has passed.
    now.store(NOW + 3601, Ordering::SeqCst);
    assert_eq!(
        try_connect(s.url(&format!("/?{data}")).into_client_request().unwrap())
            .await
            .err(),
        Some(401)
    );
}

#[tokio::test]
async fn ed25519_with_a_key_generated_here() {
    let key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let public_hex = hex::encode(key.verifying_key().to_bytes());
    let verifier = Verifier::ed25519(777, &public_hex).unwrap();
    let s = server(verifier, &Transport::ALL, clock()).await;
    let fields = vec![
        ("user".to_string(), USER.to_string()),
        ("auth_date".to_string(), NOW.to_string()),
    ];
    let data = telegram::sign_ed25519(&fields, 777, &key);
    let mut ws = connect(&s.url(&format!("/?{data}"))).await;
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);
    let other_bot = telegram::sign_ed25519(&fields, 778, &key);
    assert_eq!(
        try_connect(
            s.url(&format!("/?{other_bot}"))
                .into_client_request()
                .unwrap()
        )
        .await
        .err(),
        Some(401)
    );
    let other_key = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
    let forged = telegram::sign_ed25519(&fields, 777, &other_key);
    assert_eq!(
        try_connect(s.url(&format!("/?{forged}")).into_client_request().unwrap())
            .await
            .err(),
        Some(401)
    );
}

#[tokio::test]
async fn the_guest_sees_the_init_data_context() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Query], clock()).await;
    let mut ws = connect(&s.url(&format!("/?{}", init_data(NOW - 5)))).await;
    let reply = ask_json(&mut ws, r#"{"Type":"Session"}"#).await;
    assert_eq!(reply["Data"]["tenant"], "bot");
    assert_eq!(reply["Data"]["auth_date"], NOW - 5);
    assert_eq!(reply["Data"]["start_param"], "promo 1");
}

#[tokio::test]
async fn an_auth_message_with_malformed_data_is_closed_with_4401() {
    let s = server(Verifier::hmac(TOKEN), &[Transport::Message], clock()).await;
    for data in [
        r#"5"#,
        r#"{}"#,
        r#"{"initData":7}"#,
        r#"null"#,
        r#""user=1&hash=00""#,
    ] {
        let mut ws = connect(&s.url("/")).await;
        send(&mut ws, &format!(r#"{{"Type":"Auth","Data":{data}}}"#)).await;
        let close = expect_close(&mut ws)
            .await
            .unwrap_or_else(|| panic!("Data {data}: no close frame"));
        assert_eq!(u16::from(close.code), 4401, "Data {data}: {close:?}");
        assert!(
            close.reason.contains("initData"),
            "Data {data}: the reason must say what was wrong: {:?}",
            close.reason
        );
    }
    // The server is unharmed: a well-formed Auth still works.
    let mut ws = connect(&s.url("/")).await;
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data(NOW)}});
    assert_eq!(
        ask_json(&mut ws, &auth.to_string()).await["Type"],
        "AuthResponse"
    );
    assert_eq!(ask(&mut ws, WHO).await, WHO_REPLY);
}

/// initData over 4 KiB is refused before it is parsed, on every transport, with a reason that
/// says so (one with 40,000 distinct keys took 2.75 s of a worker to refuse before).
#[tokio::test]
async fn oversized_init_data_is_refused_before_it_is_parsed() {
    let huge: String = (0..40_000).map(|i| format!("k{i}=v&")).collect::<String>() + "hash=00";
    let s = server(
        Verifier::hmac(TOKEN),
        &[Transport::Query, Transport::Message],
        clock(),
    )
    .await;
    // The request head is capped at 16 KiB: a 6 KiB query reaches the validator.
    let long = &huge[..6_000];
    let request = s.url(&format!("/?{long}")).into_client_request().unwrap();
    assert_eq!(
        try_connect(request).await.err(),
        Some(401),
        "at the handshake"
    );
    let mut ws = connect(&s.url("/")).await;
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": huge}});
    send(&mut ws, &auth.to_string()).await;
    let close = expect_close(&mut ws).await.expect("close frame");
    assert_eq!(u16::from(close.code), 4401);
    assert!(
        close.reason.contains("longer than 4096 bytes"),
        "{:?}",
        close.reason
    );
    let mut ws = connect(&s.url("/")).await;
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data(NOW)}});
    let reply = ask_json(&mut ws, &auth.to_string()).await;
    assert_eq!(
        reply["Type"], "AuthResponse",
        "a real one still works: {reply}"
    );
}
