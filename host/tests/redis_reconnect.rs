//! Redis going away and coming back: the server reconnects by itself as soon as Redis is back,
//! so the first requests after that succeed — `/readyz`, a kv write and a push — instead of
//! failing once on the dead connection.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use extws_wasm::config::StateConfig;

const TOKEN: &str = "9200:reconnect-token";
const INCREMENT: &str = r#"{"Type":"IncrementRequest"}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_requests_after_redis_comes_back_succeed() {
    let mut redis = RedisServer::start();
    let mut counter = tenant("counter", &["counter"]);
    counter.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    let mut config = Config::new(vec![counter]);
    config.state = StateConfig {
        data_dir: None,
        redis: Some(redis.url()),
    };
    let server = start(config).await;
    let mut ws = connect(&server.url(&format!("/?{}", signed_user(TOKEN, 7)))).await;
    let first = ask_json(&mut ws, INCREMENT).await;
    assert_eq!(first["Type"], "IncrementResponse", "{first}");
    assert_eq!(http_get(server.addr, "/readyz").await.0, 200);

    for round in 0..3 {
        redis.stop();
        eventually(
            "the server noticing Redis is gone",
            Duration::from_secs(20),
            async || match http_get(server.addr, "/readyz").await {
                (503, _) => Ok(()),
                (status, body) => Err(format!("{status} {body}")),
            },
        )
        .await;
        redis.restart();
        // Redis answers again: the very next requests succeed (no "broken pipe" first). The
        // increment writes kv and publishes a push (the counter's topic).
        let (status, body) = http_get(server.addr, "/readyz").await;
        assert_eq!(status, 200, "round {round}: the first /readyz: {body}");
        let reply = ask_json(&mut ws, INCREMENT).await;
        assert_eq!(
            reply["Type"], "IncrementResponse",
            "round {round}: the first increment: {reply}"
        );
    }
    server.shutdown().await.unwrap();
}
