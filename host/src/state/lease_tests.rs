//! Leases on both backends: one holder at a time, done is final, a release frees at once, an
//! abandoned lease expires by itself, and a held one is renewed past its TTL.

use std::time::{Duration, Instant};

use super::{Claimed, acquire};
use crate::state::KvStore;
use crate::state::test_support::{RedisServer, TempDir};

const NS: &str = "leases:test";

fn name(c: &Claimed) -> &'static str {
    match c {
        Claimed::Acquired(_) => "acquired",
        Claimed::Busy => "busy",
        Claimed::Done => "done",
    }
}

async fn claim(kv: &KvStore, key: &str, ttl: Duration) -> Claimed {
    acquire(kv, NS, key, ttl).await.unwrap()
}

/// Acquires `key` again and again until it is free (panics after 10 s).
async fn until_acquired(kv: &KvStore, key: &str, ttl: Duration) -> Claimed {
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let c = claim(kv, key, ttl).await;
        if matches!(c, Claimed::Acquired(_)) || Instant::now() > until {
            return c;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn scenario(kv: &KvStore) {
    let long = Duration::from_secs(30);
    let Claimed::Acquired(first) = claim(kv, "a", long).await else {
        panic!("a fresh key is free")
    };
    assert_eq!(name(&claim(kv, "a", long).await), "busy");
    first.complete(long).await.unwrap();
    assert_eq!(name(&claim(kv, "a", long).await), "done");

    // Released: free again at once.
    let Claimed::Acquired(b) = claim(kv, "b", long).await else {
        panic!()
    };
    b.release().await;
    assert_eq!(name(&until_acquired(kv, "b", long).await), "acquired");

    // Abandoned (its holder vanished without renewing): busy until it expires, then free.
    let short = Duration::from_millis(600);
    let Claimed::Acquired(c) = claim(kv, "c", short).await else {
        panic!()
    };
    std::mem::forget(c); // neither released nor dropped: its renewer keeps running
    let Claimed::Acquired(d) = claim(kv, "d", short).await else {
        panic!()
    };
    drop(d); // dropped: renewing stops
    assert_eq!(name(&claim(kv, "d", short).await), "busy");
    assert_eq!(name(&until_acquired(kv, "d", short).await), "acquired");
    // "c" is still renewed by its holder well past its TTL.
    tokio::time::sleep(short * 3).await;
    assert_eq!(name(&claim(kv, "c", short).await), "busy");
}

#[tokio::test]
async fn leases_on_the_embedded_store() {
    let dir = TempDir::new("lease");
    scenario(&KvStore::open_embedded(&dir.path().join("data")).unwrap()).await;
}

#[tokio::test]
async fn leases_on_redis() {
    let server = RedisServer::start();
    scenario(&KvStore::connect_redis(&server.url()).await.unwrap()).await;
}
