//! Several servers sharing one real `redis-server`: push across nodes, exact counters under
//! concurrent increments from all nodes, and Redis going away and coming back.

mod common;

use std::process::{Child, Command};
use std::time::Duration;

use common::*;

const TOKEN: &str = "9000:cluster-token";

/// One `extws-wasm serve --redis` process serving the counter.
struct Node {
    child: Child,
    addr: String,
}

impl Node {
    fn start(redis: &RedisServer) -> Self {
        let (child, addr) = spawn_listening(
            Command::new(env!("CARGO_BIN_EXE_extws-wasm"))
                .args([
                    "serve",
                    "--listen",
                    "127.0.0.1:0",
                    "--bot-token",
                    TOKEN,
                    "--rate-per-second",
                    "100000",
                    "--rate-burst",
                    "100000",
                ])
                .arg("--component")
                .arg(guest("counter"))
                .args(["--redis", &redis.url()])
                .arg("--data-dir")
                .arg(temp_dir("node")),
        );
        Self { child, addr }
    }

    async fn user(&self, id: i64) -> Ws {
        connect(&format!("ws://{}/?{}", self.addr, signed_user(TOKEN, id))).await
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_share_pushes_and_counters() {
    let redis = RedisServer::start();
    let nodes: Vec<Node> = (0..3).map(|_| Node::start(&redis)).collect();

    // A handler on node 3 pushes to a user connected to node 1.
    let mut on_one = nodes[0].user(1).await;
    let mut on_three = nodes[2].user(2).await;
    let reply = ask_json(
        &mut on_three,
        r#"{"Type":"NotifyUserRequest","Data":{"user":1,"text":"from node 3"}}"#,
    )
    .await;
    assert_eq!(reply["Type"], "NotifyUserResponse", "{reply}");
    let (pushed, seq) = without_seq(&recv(&mut on_one).await);
    assert_eq!(pushed, r#"{"Data":{"text":"from node 3"},"Type":"Notice"}"#);
    assert!(seq.is_some(), "user pushes carry a Seq");

    // The same user increments concurrently on all three nodes: the count is exact.
    let mut tasks = Vec::new();
    for node in &nodes {
        let mut ws = node.user(5).await;
        tasks.push(tokio::spawn(async move {
            for _ in 0..100 {
                let reply = ask_json(&mut ws, r#"{"Type":"IncrementRequest"}"#).await;
                assert_eq!(reply["Type"], "IncrementResponse", "{reply}");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut check = nodes[1].user(5).await;
    let reply = ask_json(&mut check, r#"{"Type":"GetCountRequest"}"#).await;
    assert_eq!(reply["Data"]["count"], 300);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_is_a_handler_error_and_recovery_is_automatic() {
    let mut redis = RedisServer::start();
    let node = Node::start(&redis);
    let mut ws = node.user(3).await;
    assert_eq!(
        ask_json(&mut ws, r#"{"Type":"IncrementRequest"}"#).await["Data"]["count"],
        1
    );

    redis.stop();
    // Not a hang, not a crash: the handler gets the store's error and reports it.
    let reply = tokio::time::timeout(
        Duration::from_secs(20),
        ask_json(&mut ws, r#"{"Type":"IncrementRequest"}"#),
    )
    .await
    .expect("a reply while Redis is down");
    assert_eq!(error_code(&reply), "handler_error", "{reply}");
    assert!(
        reply["Data"]["message"]
            .as_str()
            .unwrap()
            .contains("unavailable"),
        "{reply}"
    );

    redis.restart();
    let reply = eventually(
        "increments working again once Redis is back",
        Duration::from_secs(60),
        async || {
            let reply = ask_json(&mut ws, r#"{"Type":"IncrementRequest"}"#).await;
            if reply["Type"] == "IncrementResponse" {
                Ok(reply)
            } else {
                Err(reply)
            }
        },
    )
    .await;
    // Redis came back empty. An increment that timed out while it was reconnecting may still
    // have been applied (as with any store behind a timeout), so the count is at least 1.
    assert!(reply["Data"]["count"].as_i64().unwrap() >= 1, "{reply}");
    let mut listener = node.user(4).await;
    let text = eventually(
        "pushes working again once Redis is back",
        Duration::from_secs(60),
        async || {
            ask_json(
                &mut ws,
                r#"{"Type":"NotifyUserRequest","Data":{"user":4,"text":"back"}}"#,
            )
            .await;
            // One push is either delivered or lost: a short wait tells which.
            tokio::time::timeout(Duration::from_millis(300), recv(&mut listener))
                .await
                .ok()
        },
    )
    .await;
    let (pushed, _) = without_seq(&text);
    assert_eq!(pushed, r#"{"Data":{"text":"back"},"Type":"Notice"}"#);
}
