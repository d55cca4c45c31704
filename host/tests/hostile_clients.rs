//! Clients that try to pin or flood the server: one user opening every connection, a
//! handshake sent a byte at a time, a text frame that is not UTF-8.

mod common;

use std::time::{Duration, Instant};

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

const TOKEN: &str = "123456:hostile-clients-token";

/// The HTTP status a refused upgrade got, or `Ok` with the socket.
async fn upgrade(url: &str) -> Result<Ws, u16> {
    match tokio_tungstenite::connect_async(url.into_client_request().unwrap()).await {
        Ok((ws, _)) => Ok(ws),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => Err(r.status().as_u16()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_user_cannot_take_every_connection_slot() {
    let mut t = tenant("default", &["calc"]);
    t.auth = AuthPolicy::new(Verifier::hmac(TOKEN));
    t.auth.transports = vec![Transport::Query, Transport::Message];
    t.limits.max_connections_per_user = 3;
    let server = start(Config::new(vec![t])).await;
    let user = |id| server.url(&format!("/?{}", signed_user(TOKEN, id)));
    let mut open = Vec::new();
    for _ in 0..3 {
        open.push(upgrade(&user(1)).await.expect("under the user's limit"));
    }
    assert_eq!(
        upgrade(&user(1)).await.err(),
        Some(429),
        "a fourth for one user"
    );
    let _other = upgrade(&user(2))
        .await
        .expect("another user is not affected");
    // Authenticating after the upgrade counts too: closed with 1008.
    let mut late = upgrade(&server.url("/"))
        .await
        .expect("first-message auth pending");
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": signed_user(TOKEN, 1)}});
    send(&mut late, &auth.to_string()).await;
    let close = expect_close(&mut late).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1008);
    assert_eq!(close.reason, "too many connections for this user");
    // A slot comes back when a connection ends.
    drop(open.pop());
    eventually(
        "the user's fourth slot coming back",
        Duration::from_secs(20),
        async || {
            upgrade(&user(1))
                .await
                .map(drop)
                .map_err(|s| format!("HTTP {s}"))
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_cannot_hold_every_pending_handshake() {
    let mut t = tenant("default", &["calc"]);
    t.auth = AuthPolicy::new(Verifier::hmac(TOKEN));
    t.auth.transports = vec![Transport::Message];
    t.limits.max_connections_per_ip = 2;
    let server = start(Config::new(vec![t])).await;
    let mut a = upgrade(&server.url("/")).await.expect("first pending");
    let _b = upgrade(&server.url("/")).await.expect("second pending");
    assert_eq!(upgrade(&server.url("/")).await.err(), Some(429));
    // Once one authenticates it counts as its user, not as the address.
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": signed_user(TOKEN, 5)}});
    let reply = ask_json(&mut a, &auth.to_string()).await;
    assert_eq!(reply["Type"], "AuthResponse", "{reply}");
    let _c = upgrade(&server.url("/"))
        .await
        .expect("the address has room again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anonymous_connections_of_a_no_auth_tenant_count_only_for_the_tenant() {
    // Behind a proxy every client has one address: a no-auth tenant is not capped per address.
    let mut t = tenant("default", &["calc"]);
    t.limits.max_connections_per_ip = 1;
    let server = start(Config::new(vec![t])).await;
    let _a = upgrade(&server.url("/")).await.expect("first");
    let _b = upgrade(&server.url("/")).await.expect("second");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_frame_that_is_not_utf8_closes_with_1007() {
    let server = start_simple(&["calc"]).await;
    let mut raw = raw_client(&server).await;
    raw.write_all(&client_frame(0x1, &[b'"', 0xff, 0xfe, b'"']))
        .await
        .unwrap();
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(20), raw.read_to_end(&mut bytes));
    read.await.expect("the server ends the connection").ok();
    let frames = frames(&bytes);
    let (op, close) = frames.last().expect("a close frame, not a dropped socket");
    assert_eq!(*op, 0x8, "{frames:?}");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1007);
    // The server is fine.
    let mut ws = connect(&server.url("/")).await;
    let reply = ask(
        &mut ws,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#,
    )
    .await;
    assert!(reply.contains("CalculateResponse"), "{reply}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_handshake_sent_a_byte_at_a_time_is_cut_at_the_handshake_timeout() {
    let mut config = Config::new(vec![tenant("default", &["calc"])]);
    config.timeouts.handshake = Duration::from_millis(800);
    let server = start(config).await;
    let stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let started = Instant::now();
    // One byte every 50 ms, for far longer than the timeout.
    let trickle = tokio::spawn(async move {
        let head = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Padding: ".to_vec();
        for byte in head.into_iter().chain(std::iter::repeat(b'a')).take(600) {
            if write.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    let mut sink = Vec::new();
    let ended = tokio::time::timeout(Duration::from_secs(20), read.read_to_end(&mut sink));
    ended.await.expect("the server ended the connection").ok();
    let elapsed = started.elapsed();
    trickle.abort();
    assert!(
        elapsed < Duration::from_millis(800) + Duration::from_secs(2),
        "the trickling handshake was held for {elapsed:?}"
    );
}
