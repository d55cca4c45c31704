//! The push history's contract, run against both backends (a real `redis-server` per test).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capabilities::push::history::{HistoryPolicy, HistoryStore, fresh_start, now_ms};
use crate::capabilities::push::{Hub, PushError, Target};
use crate::state::test_support::{RedisServer, TempDir};
use crate::state::{EmbeddedKv, RedisKv};

const POLICY: HistoryPolicy = HistoryPolicy {
    size: 3,
    ttl: Duration::from_secs(60),
    max_bytes: 1 << 20,
};

fn embedded(dir: &TempDir) -> (HistoryStore, Arc<Hub>) {
    let kv = Arc::new(EmbeddedKv::open(dir.path()).unwrap());
    let hub = Arc::new(Hub::default());
    (HistoryStore::embedded(&kv, hub.clone()).unwrap(), hub)
}

async fn redis(server: &RedisServer) -> HistoryStore {
    HistoryStore::redis(&RedisKv::connect(&server.url()).await.unwrap())
}

fn head(n: u32) -> String {
    format!(r#"{{"Type":"N","Data":{n}"#)
}

/// Sequences are per (tenant, user), consecutive, above the clock-based start; the history
/// keeps the newest `size`, in order.
async fn sequences_and_size(store: &HistoryStore) {
    let before = fresh_start(now_ms());
    let mut seqs = Vec::new();
    for n in 1..=5 {
        seqs.push(store.append("a", 42, head(n), POLICY).await.unwrap());
    }
    assert!(seqs[0] >= before, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    // Tenant b's user 42 is someone else.
    let other = store.append("b", 42, head(9), POLICY).await.unwrap();
    let b = store.read("b", 42, 0, POLICY).await.unwrap();
    assert_eq!(b.latest, Some(other));
    assert_eq!(b.entries.len(), 1);

    let read = store.read("a", 42, 0, POLICY).await.unwrap();
    assert_eq!(read.latest, Some(seqs[4]));
    let kept: Vec<u64> = read.entries.iter().map(|e| e.0).collect();
    assert_eq!(kept, seqs[2..]);
    assert_eq!(
        read.entries[2].1,
        format!(r#"{{"Type":"N","Data":5,"Seq":{}}}"#, seqs[4])
    );
    let after = store.read("a", 42, seqs[3], POLICY).await.unwrap();
    assert_eq!(after.entries.len(), 1);
    assert!(
        store
            .read("a", 42, u64::MAX, POLICY)
            .await
            .unwrap()
            .entries
            .is_empty()
    );
    assert_eq!(store.read("a", 7, 0, POLICY).await.unwrap().latest, None);
}

/// Entries older than the TTL go; a history silent for the TTL is forgotten, and the next
/// one starts above every earlier `Seq`.
async fn age(store: &HistoryStore) {
    let short = HistoryPolicy {
        size: 100,
        ttl: Duration::from_millis(300),
        max_bytes: 1 << 20,
    };
    let first = store.append("a", 1, head(1), short).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while store.read("a", 1, 0, short).await.unwrap().latest.is_some() {
        assert!(Instant::now() < deadline, "the history never expired");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let next = store.append("a", 1, head(2), short).await.unwrap();
    assert!(next > first, "{next} <= {first}");
    let read = store.read("a", 1, 0, short).await.unwrap();
    assert_eq!(read.entries.len(), 1, "the forgotten entry stays gone");
}

/// 1,000 users pushed to, then nobody: once the TTL has passed their histories are gone
/// without any further push (the embedded writer sweeps; Redis expires the keys).
async fn forgotten(store: &HistoryStore) {
    let short = HistoryPolicy {
        size: 5,
        ttl: Duration::from_secs(2),
        max_bytes: 1 << 20,
    };
    let tasks: Vec<_> = (0..1000)
        .map(|user| {
            let store = store.clone();
            tokio::spawn(async move {
                for n in 0..7 {
                    store.append("a", user, head(n), short).await.unwrap();
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap();
    }
    // (Some may have expired already if the pushes took longer than the TTL.)
    let (users, entries) = store.usage().await.unwrap();
    assert!(
        users > 0 && entries <= 5 * users,
        "{users} users, {entries} entries"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.usage().await.unwrap() != (0, 0) {
        assert!(Instant::now() < deadline, "still {:?}", store.usage().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A tenant's history holds at most `max_bytes` over all its users: an append past it is
/// refused (`invalid`, "quota exceeded") and changes nothing, another tenant is unaffected, a
/// user's trimmed entries make room, and a forgotten user's bytes come back.
async fn quota(store: &HistoryStore) {
    let policy = HistoryPolicy {
        size: 1,
        ttl: Duration::from_millis(1500),
        max_bytes: 4096,
    };
    let kilobyte = || format!(r#"{{"Type":"N","Data":"{}""#, "x".repeat(1000));
    let mut kept = 0;
    let refused = loop {
        match store.append("q", kept, kilobyte(), policy).await {
            Ok(_) => kept += 1,
            Err(e) => break e,
        }
        assert!(kept < 10, "the quota refused nothing");
    };
    assert_eq!(kept, 3, "1 KiB pushes kept in 4 KiB");
    let PushError::Invalid(message) = refused else {
        panic!("{refused:?}")
    };
    assert!(message.contains("quota exceeded"), "{message}");
    let read = store.read("q", kept, 0, policy).await.unwrap();
    assert_eq!(read.latest, None, "the refused push was stored");
    store.append("other", 1, kilobyte(), policy).await.unwrap();
    for _ in 0..5 {
        store.append("q", 0, kilobyte(), policy).await.unwrap();
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while store.append("q", 100, kilobyte(), policy).await.is_err() {
        assert!(
            Instant::now() < deadline,
            "forgotten users kept their bytes"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn embedded_quota() {
    let dir = TempDir::new("history");
    quota(&embedded(&dir).0).await;
}

#[tokio::test]
async fn redis_quota() {
    let server = RedisServer::start();
    quota(&redis(&server).await).await;
}

#[tokio::test]
async fn embedded_forgets_idle_users() {
    let dir = TempDir::new("history");
    forgotten(&embedded(&dir).0).await;
}

#[tokio::test]
async fn redis_forgets_idle_users() {
    let server = RedisServer::start();
    forgotten(&redis(&server).await).await;
}

#[tokio::test]
async fn embedded_sequences_and_size() {
    let dir = TempDir::new("history");
    let (store, hub) = embedded(&dir);
    let mut mailbox = hub.register("a".into(), Some(42));
    sequences_and_size(&store).await;
    // Delivered in Seq order, with the Seq beside the envelope.
    let mut last = 0;
    for _ in 0..5 {
        let pushed = mailbox.messages.recv().await.unwrap();
        let seq = pushed.seq.unwrap();
        assert!(seq > last && pushed.text.ends_with(&format!(r#""Seq":{seq}}}"#)));
        last = seq;
    }
    hub.deliver("a", &Target::User(42), None, "x");
    assert_eq!(mailbox.messages.recv().await.unwrap().seq, None);
}

#[tokio::test]
async fn embedded_age() {
    let dir = TempDir::new("history");
    age(&embedded(&dir).0).await;
}

#[tokio::test]
async fn embedded_history_survives_a_reopen() {
    let dir = TempDir::new("history");
    let seq = {
        let (store, _hub) = embedded(&dir);
        store.append("a", 5, head(1), POLICY).await.unwrap()
    };
    // The writer thread holds the database until it sees its channel close.
    let deadline = Instant::now() + Duration::from_secs(10);
    let kv = loop {
        match EmbeddedKv::open(dir.path()) {
            Ok(kv) => break Arc::new(kv),
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(e) => panic!("reopen: {e}"),
        }
    };
    let store = HistoryStore::embedded(&kv, Arc::new(Hub::default())).unwrap();
    assert_eq!(
        store.read("a", 5, 0, POLICY).await.unwrap().latest,
        Some(seq)
    );
    assert_eq!(
        store.append("a", 5, head(2), POLICY).await.unwrap(),
        seq + 1
    );
}

#[tokio::test]
async fn redis_sequences_and_size() {
    let server = RedisServer::start();
    sequences_and_size(&redis(&server).await).await;
}

#[tokio::test]
async fn redis_age() {
    let server = RedisServer::start();
    age(&redis(&server).await).await;
}
