//! Tests of the Redis store against a real `redis-server` per test: the shared contract checks,
//! the key layout and usage bookkeeping, several connections at once, and Redis going away.

use std::time::{Duration, Instant};

use redis::AsyncCommands;

use crate::state::kv::{KvError, KvStore, Quota};
use crate::state::scenarios;
use crate::state::test_support::RedisServer;

async fn connect(server: &RedisServer) -> KvStore {
    KvStore::connect_redis(&server.url())
        .await
        .expect("connect to redis")
}

async fn raw(server: &RedisServer) -> redis::aio::MultiplexedConnection {
    redis::Client::open(server.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

#[tokio::test]
async fn basic_operations() {
    let server = RedisServer::start();
    scenarios::basic(&connect(&server).await).await;
}

#[tokio::test]
async fn increment() {
    let server = RedisServer::start();
    scenarios::increment(&connect(&server).await).await;
}

#[tokio::test]
async fn compare_and_swap() {
    let server = RedisServer::start();
    scenarios::compare_and_swap(&connect(&server).await).await;
}

#[tokio::test]
async fn ttl() {
    let server = RedisServer::start();
    scenarios::ttl(&connect(&server).await).await;
}

#[tokio::test]
async fn quotas() {
    let server = RedisServer::start();
    scenarios::quotas(&connect(&server).await).await;
}

#[tokio::test]
async fn namespace_isolation() {
    let server = RedisServer::start();
    scenarios::isolation(&connect(&server).await).await;
}

/// Three independent connections (as three servers would have), 8 tasks × 200 increments.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_and_quota_are_exact() {
    let server = RedisServer::start();
    let stores = [
        connect(&server).await,
        connect(&server).await,
        connect(&server).await,
    ];
    scenarios::concurrency(&stores, 8, 200).await;
}

#[tokio::test]
async fn key_layout_and_usage_bookkeeping() {
    let server = RedisServer::start();
    let kv = connect(&server).await;
    let mut con = raw(&server).await;
    let q = Quota::UNLIMITED;
    kv.set("t", "a*b", b"xyz".to_vec(), None, q).await.unwrap();
    kv.set(
        "t",
        "e",
        b"12345".to_vec(),
        Some(Duration::from_millis(100)),
        q,
    )
    .await
    .unwrap();
    let stored: Option<Vec<u8>> = con.get("extws:{t}:kv:a*b").await.unwrap();
    assert_eq!(stored, Some(b"xyz".to_vec()));
    let usage = |con: &mut redis::aio::MultiplexedConnection| {
        let mut con = con.clone();
        async move {
            let v: (Option<u64>, Option<u64>) = redis::cmd("HMGET")
                .arg("extws:{t}:usage")
                .arg("keys")
                .arg("bytes")
                .query_async(&mut con)
                .await
                .unwrap();
            (v.0.unwrap_or(0), v.1.unwrap_or(0))
        }
    };
    assert_eq!(usage(&mut con).await, (2, 6 + 6));
    // Redis never expires our keys itself; the scripts reclaim them (and their usage).
    let pttl: i64 = con.pttl("extws:{t}:kv:e").await.unwrap();
    assert_eq!(pttl, -1);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(kv.get("t", "a*b").await, Ok(Some(b"xyz".to_vec())));
    assert_eq!(usage(&mut con).await, (1, 6));
    let exists: bool = con.exists("extws:{t}:kv:e").await.unwrap();
    assert!(!exists);
    assert_eq!(kv.delete("t", "a*b").await, Ok(true));
    assert_eq!(usage(&mut con).await, (0, 0));
}

#[tokio::test]
async fn connect_fails_when_redis_is_unreachable() {
    let mut server = RedisServer::start();
    let url = server.url();
    server.kill();
    let started = Instant::now();
    assert!(KvStore::connect_redis(&url).await.is_err());
    assert!(started.elapsed() < Duration::from_secs(6));
}

#[tokio::test]
async fn redis_going_away_gives_unavailable_then_recovers() {
    let mut server = RedisServer::start();
    let kv = connect(&server).await;
    let q = Quota::UNLIMITED;
    kv.set("t", "k", b"v".to_vec(), None, q).await.unwrap();

    server.kill();
    // Several operations while it is down: each fails quickly, none hangs.
    for _ in 0..3 {
        let started = Instant::now();
        let r = kv.increment("t", "n", 1, q).await;
        assert!(matches!(r, Err(KvError::Unavailable(_))), "{r:?}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "took {:?}",
            started.elapsed()
        );
        let started = Instant::now();
        assert!(matches!(
            kv.get("t", "k").await,
            Err(KvError::Unavailable(_))
        ));
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "took {:?}",
            started.elapsed()
        );
    }

    server.restart();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match kv.increment("t", "n", 1, q).await {
            Ok(n) => {
                assert_eq!(n, 1, "a fresh server (no persistence)");
                break;
            }
            Err(KvError::Unavailable(e)) => {
                assert!(
                    Instant::now() < deadline,
                    "still unavailable after restart: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    // The scripts were reloaded into the new server; everything works again.
    kv.set("t", "k", b"w".to_vec(), None, q).await.unwrap();
    assert_eq!(kv.get("t", "k").await, Ok(Some(b"w".to_vec())));
    assert_eq!(kv.list_keys("t", "", 10).await.unwrap(), ["k", "n"]);
}

#[tokio::test]
async fn frozen_redis_gives_unavailable_not_a_hang() {
    let server = RedisServer::start();
    let kv = connect(&server).await;
    let q = Quota::UNLIMITED;
    kv.set("t", "k", b"v".to_vec(), None, q).await.unwrap();

    server.freeze(true);
    for _ in 0..2 {
        let started = Instant::now();
        let r = kv.set("t", "k", b"w".to_vec(), None, q).await;
        assert!(matches!(r, Err(KvError::Unavailable(_))), "{r:?}");
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "took {:?}",
            started.elapsed()
        );
    }

    server.freeze(false);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        match kv.get("t", "k").await {
            // A timed-out write may still have been applied once Redis woke up.
            Ok(v) => {
                assert!(
                    v == Some(b"v".to_vec()) || v == Some(b"w".to_vec()),
                    "{v:?}"
                );
                break;
            }
            Err(KvError::Unavailable(e)) => {
                assert!(
                    Instant::now() < deadline,
                    "still unavailable after thaw: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(kv.increment("t", "n", 2, q).await, Ok(2));
}
