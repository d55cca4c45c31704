//! Pushes published while this server's Redis pub/sub connection was down are not lost: when
//! the subscription comes back, every connected user's connection is brought up to date from
//! the push history (and a hole in the `Seq`s a connection sees is filled the same way), so an
//! acknowledged push reaches a connected client exactly once, in `Seq` order.

mod common;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
use extws_wasm::config::StateConfig;
use serde_json::{Value, json};

const TOKEN: &str = "9300:recovery-token";

fn notify(user: i64, text: &str) -> String {
    json!({"Type": "NotifyUserRequest", "Data": {"user": user, "text": text}}).to_string()
}

/// Kills every pub/sub connection Redis has (what a network blip or a proxy does).
fn kill_pubsub_connections(redis: &RedisServer) {
    let out = std::process::Command::new("redis-cli")
        .args(["-u", &redis.url(), "CLIENT", "KILL", "TYPE", "pubsub"])
        .output()
        .expect("redis-cli");
    assert!(out.status.success(), "{out:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushes_published_while_the_subscription_was_down_arrive_once_in_order() {
    let redis = RedisServer::start();
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
    let user = |id: i64| server.url(&format!("/?{}", signed_user(TOKEN, id)));
    let mut receiver = connect(&user(7)).await;
    let mut sender = connect(&user(8)).await;

    let ask_ok = async |ws: &mut Ws, text: &str| {
        let reply = ask_json(ws, &notify(7, text)).await;
        assert_eq!(reply["Type"], "NotifyUserResponse", "{reply}");
    };
    ask_ok(&mut sender, "before").await;
    let first: Value = serde_json::from_str(&recv(&mut receiver).await).unwrap();
    assert_eq!(first["Data"]["text"], "before", "{first}");
    let mut seq = first["Seq"].as_u64().expect("a Seq");

    for round in 0..3 {
        kill_pubsub_connections(&redis);
        // Acknowledged while this server may not be subscribed: stored in the history.
        for i in 0..20 {
            ask_ok(&mut sender, &format!("r{round}-{i}")).await;
        }
        for i in 0..20 {
            let frame: Value = serde_json::from_str(&recv(&mut receiver).await).unwrap();
            assert_eq!(frame["Type"], "Notice", "round {round}: {frame}");
            assert_eq!(frame["Data"]["text"], format!("r{round}-{i}"), "{frame}");
            assert_eq!(frame["Seq"].as_u64(), Some(seq + 1), "{frame}");
            seq += 1;
        }
    }
    // Nothing more (no duplicate): the next push is the next Seq.
    ask_ok(&mut sender, "after").await;
    let last: Value = serde_json::from_str(&recv(&mut receiver).await).unwrap();
    assert_eq!(
        (last["Data"]["text"].as_str(), last["Seq"].as_u64()),
        (Some("after"), Some(seq + 1)),
        "{last}"
    );
    server.shutdown().await.unwrap();
}
