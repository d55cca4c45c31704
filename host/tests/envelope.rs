//! The envelope over a real socket: replies, Id echo, every error code, traps followed by a
//! working message, close requests, binary and oversize frames.

mod common;

use common::*;
use futures_util::SinkExt;
use tokio_tungstenite::tungstenite::Message;

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#;
const CALC_REPLY: &str = r#"{"Type":"CalculateResponse","Data":{"result":4}}"#;

#[tokio::test]
async fn calculate_request_gets_the_sum() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
    assert_eq!(
        ask(
            &mut ws,
            r#"{"Type":"CalculateRequest","Data":{"numbers":[]}}"#
        )
        .await,
        r#"{"Type":"CalculateResponse","Data":{"result":0}}"#
    );
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn id_is_echoed_in_replies_and_errors() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask(
        &mut ws,
        r#"{"Id":"a-1","Type":"CalculateRequest","Data":{"numbers":[1]}}"#,
    )
    .await;
    assert_eq!(
        reply,
        r#"{"Type":"CalculateResponse","Data":{"result":1},"Id":"a-1"}"#
    );
    let reply = ask_json(&mut ws, r#"{"Id":{"n":[7]},"Type":"Nope"}"#).await;
    assert_eq!(reply["Id"], serde_json::json!({"n": [7]}));
    assert_eq!(error_code(&reply), "unknown_type");
}

#[tokio::test]
async fn invalid_messages_get_invalid_message_and_the_connection_stays() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    for bad in [
        "not json",
        "[1,2]",
        "42",
        r#"{"Data":{}}"#,
        r#"{"Type":5}"#,
        r#"{"Type":""}"#,
    ] {
        let reply = ask_json(&mut ws, bad).await;
        assert_eq!(error_code(&reply), "invalid_message", "{bad}");
        assert!(reply["Data"]["message"].as_str().unwrap().len() > 5);
    }
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
}

#[tokio::test]
async fn unknown_type_names_the_type() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask_json(&mut ws, r#"{"Type":"DivideRequest","Data":{}}"#).await;
    assert_eq!(error_code(&reply), "unknown_type");
    assert!(
        reply["Data"]["message"]
            .as_str()
            .unwrap()
            .contains("DivideRequest")
    );
}

#[tokio::test]
async fn handler_error_carries_the_guest_message() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    let max = i64::MAX;
    let reply = ask_json(
        &mut ws,
        &format!(r#"{{"Type":"CalculateRequest","Data":{{"numbers":[{max},1]}}}}"#),
    )
    .await;
    assert_eq!(error_code(&reply), "handler_error");
    assert_eq!(
        reply["Data"]["message"],
        "overflow: the sum does not fit in a signed 64-bit integer"
    );
    assert_eq!(
        ask(&mut ws, CALC).await,
        CALC_REPLY,
        "the connection stays open"
    );
}

#[tokio::test]
async fn a_trap_is_handler_failed_and_the_next_message_works() {
    let server = start_simple(&["calc", "trap"]).await;
    let mut ws = connect(&server.url("/")).await;
    for trap in ["Panic", "Unreachable"] {
        let reply = ask_json(&mut ws, &format!(r#"{{"Type":"{trap}"}}"#)).await;
        assert_eq!(error_code(&reply), "handler_failed", "{trap}");
        assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY, "after {trap}");
    }
}

#[tokio::test]
async fn non_json_reply_data_is_handler_failed_never_a_broken_frame() {
    let server = start_simple(&["misbehave"]).await;
    let mut ws = connect(&server.url("/")).await;
    let reply = ask_json(&mut ws, r#"{"Type":"NotJson"}"#).await;
    assert_eq!(error_code(&reply), "handler_failed");
    let echo = ask(&mut ws, r#"{"Type":"Echo","Data":{"a":[1,"\u00e9"]}}"#).await;
    assert_eq!(echo, r#"{"Type":"EchoResponse","Data":{"a":[1,"\u00e9"]}}"#);
}

#[tokio::test]
async fn a_handler_may_close_with_its_code_and_invalid_codes_become_1008() {
    let server = start_simple(&["misbehave"]).await;
    for (asked, expected) in [
        ("4000", 4000u16),
        ("null", 1008),
        ("1005", 1008),
        ("1006", 1008),
    ] {
        let mut ws = connect(&server.url("/")).await;
        let reply = ask_json(&mut ws, &format!(r#"{{"Type":"CloseMe","Data":{asked}}}"#)).await;
        assert_eq!(error_code(&reply), "handler_error");
        let close = expect_close(&mut ws).await.expect("a close frame");
        assert_eq!(u16::from(close.code), expected, "asked {asked}");
        assert_eq!(close.reason.as_str(), "closing on request");
    }
}

#[tokio::test]
async fn binary_frames_are_read_as_utf8_json() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    ws.send(Message::binary(CALC.as_bytes().to_vec()))
        .await
        .unwrap();
    assert_eq!(recv(&mut ws).await, CALC_REPLY);
    ws.send(Message::binary(vec![0xff, 0xfe])).await.unwrap();
    let reply: serde_json::Value = serde_json::from_str(&recv(&mut ws).await).unwrap();
    assert_eq!(error_code(&reply), "invalid_message");
}

#[tokio::test]
async fn oversize_frames_close_with_1009() {
    let mut config = tenant("default", &["misbehave"]);
    config.ledger.max_frame_bytes = 4096;
    let server = start(extws_wasm::Config::new(vec![config])).await;
    let mut ws = connect(&server.url("/")).await;
    let big = format!(r#"{{"Type":"Echo","Data":"{}"}}"#, "x".repeat(5000));
    send(&mut ws, &big).await;
    let close = expect_close(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);
    // The server is unharmed.
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Echo","Data":1}"#).await,
        r#"{"Type":"EchoResponse","Data":1}"#
    );
}

#[tokio::test]
async fn fanout_answers_once_per_component_only_when_asked() {
    let collision = extws_wasm::Config::new(vec![tenant("default", &["calc", "calc-rust"])]);
    let err = try_start(collision)
        .await
        .err()
        .expect("a Type collision must fail");
    assert!(err.to_string().contains("CalculateRequest"), "{err}");

    let mut config = tenant("default", &["calc", "calc-rust"]);
    config.fanout = true;
    let server = start(extws_wasm::Config::new(vec![config])).await;
    let mut ws = connect(&server.url("/")).await;
    send(&mut ws, CALC).await;
    assert_eq!(recv(&mut ws).await, CALC_REPLY);
    assert_eq!(recv(&mut ws).await, CALC_REPLY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_run_concurrently_and_answer_in_order() {
    let mut t = tenant("default", &["calc", "slow"]);
    t.limits.timeout = std::time::Duration::from_secs(10);
    let server = start(extws_wasm::Config::new(vec![t])).await;
    let mut slow = connect(&server.url("/")).await;
    let mut fast = connect(&server.url("/")).await;
    send(&mut slow, r#"{"Type":"Slow","Data":3000}"#).await;
    send(
        &mut slow,
        r#"{"Id":2,"Type":"CalculateRequest","Data":{"numbers":[1,1]}}"#,
    )
    .await;
    // The other connection is answered while the first still waits for its slow call: a
    // server that ran one call at a time would send the 3 s reply first.
    tokio::select! {
        biased;
        reply = recv(&mut slow) => panic!("{reply} came before the other connection's reply"),
        reply = ask(&mut fast, CALC) => assert_eq!(reply, CALC_REPLY),
    }
    assert_eq!(
        recv(&mut slow).await,
        r#"{"Type":"SlowResponse","Data":3000}"#
    );
    assert_eq!(
        recv(&mut slow).await,
        r#"{"Type":"CalculateResponse","Data":{"result":2},"Id":2}"#
    );
}

#[tokio::test]
async fn shutdown_closes_open_connections_with_1001() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
    let stopping = tokio::spawn(server.shutdown());
    let close = expect_close(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    stopping.await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_lets_a_call_in_flight_finish_then_closes_with_1001() {
    // Its own tenant name: the instance counter below is global to this test binary.
    let mut t = tenant("shutdown-in-flight", &["slow"]);
    t.limits.timeout = std::time::Duration::from_secs(10);
    let server = start(extws_wasm::Config::new(vec![t])).await;
    let addr = server.addr;
    let mut ws = connect(&server.url("/")).await;
    send(&mut ws, r#"{"Id":"last","Type":"Slow","Data":1500}"#).await;
    // The call is running once its instance exists.
    wait_for_metric(addr, &instances_created("shutdown-in-flight", "fresh"), 1.0).await;
    let stopping = tokio::spawn(server.shutdown());
    assert_eq!(
        recv(&mut ws).await,
        r#"{"Type":"SlowResponse","Data":1500,"Id":"last"}"#,
        "the call in flight is answered"
    );
    let close = expect_close(&mut ws).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    stopping.await.unwrap().unwrap();
}

/// Pipelined requests (sent in one burst, more than the server writes before it flushes) get
/// every reply, once and in order, and the last ones are not held back waiting for more input.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelined_requests_get_every_reply_in_order() {
    let server = start_simple(&["calc"]).await;
    let mut ws = connect(&server.url("/")).await;
    // 76 requests in all: within the default rate burst of 100.
    for burst in [1, 3, 72] {
        for i in 0..burst {
            let request =
                format!(r#"{{"Id":{i},"Type":"CalculateRequest","Data":{{"numbers":[{i},1]}}}}"#);
            ws.feed(Message::text(request)).await.unwrap();
        }
        ws.flush().await.unwrap();
        for i in 0..burst {
            // Generous, but well short of the 30 s ping, which would flush a held-back reply.
            let text = tokio::time::timeout(std::time::Duration::from_secs(10), recv(&mut ws))
                .await
                .unwrap_or_else(|_| panic!("burst of {burst}: reply {i} held back"));
            let reply: serde_json::Value = serde_json::from_str(&text).unwrap();
            assert!(
                reply["Id"] == i && reply["Data"]["result"] == i + 1,
                "burst of {burst}: reply {i} is {text}"
            );
        }
    }
    server.shutdown().await.unwrap();
}
