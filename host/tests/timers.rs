//! Connection timers, with the intervals shortened through `Config::timeouts`: an idle
//! connection is pinged, a client that answers pings stays, one that is silent past the idle
//! limit is closed with 1001 `idle`; a client that never reads cannot pin its connection.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use futures_util::StreamExt;
use tokio_tungstenite::tungstenite::Message;

fn config() -> Config {
    let mut config = Config::new(vec![tenant("default", &["calc", "huge-reply"])]);
    config.timeouts.ping_interval = Duration::from_millis(100);
    config.timeouts.idle = Duration::from_millis(600);
    config.timeouts.push_send = Duration::from_millis(500);
    config
}

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]}}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_answers_pings_stays_past_the_idle_limit() {
    let server = start(config()).await;
    let mut ws = connect(&server.url("/")).await;
    // Twelve pings at 100 ms span twice the idle limit; reading them answers each with a pong.
    let mut pings = 0;
    while pings < 12 {
        let frame = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("pings keep coming")
            .expect("still open")
            .expect("no error");
        match frame {
            Message::Ping(_) => pings += 1,
            Message::Close(c) => panic!("closed although it answered pings: {c:?}"),
            _ => {}
        }
    }
    assert_eq!(
        ask(&mut ws, CALC).await,
        r#"{"Type":"CalculateResponse","Data":{"result":3}}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_pinged_then_closed_as_idle() {
    use tokio::io::AsyncReadExt;
    let server = start(config()).await;
    let mut raw = raw_client(&server).await;
    until_closed_by_the_server(&server).await;
    let mut bytes = Vec::new();
    raw.read_to_end(&mut bytes).await.unwrap();
    let frames = frames(&bytes);
    assert!(
        frames.iter().any(|(op, _)| *op == 0x9),
        "no ping: {frames:?}"
    );
    let (op, close) = frames.last().expect("frames");
    assert_eq!(*op, 0x8, "the last frame is the close: {frames:?}");
    assert_eq!(u16::from_be_bytes([close[0], close[1]]), 1001);
    assert_eq!(&close[2..], b"idle");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_reading_does_not_pin_its_connection() {
    use tokio::io::AsyncWriteExt;
    let server = start(config()).await;
    let mut raw = raw_client(&server).await;
    // Ask for far more than the socket buffers hold, and never read.
    for _ in 0..64 {
        let frame = text_frame(r#"{"Type":"HugeReply","Data":900000}"#);
        raw.write_all(&frame).await.unwrap();
    }
    until_closed_by_the_server(&server).await;
    // Shutdown is not held up by it either.
    tokio::time::timeout(Duration::from_secs(20), server.shutdown())
        .await
        .expect("shutdown in time")
        .unwrap();
}
