//! Behaviour checks of the [`KvStore`] contract, run against both backends by their tests.

use std::time::{Duration, Instant};

use super::kv::{KvError, KvStore, MAX_KEY_LEN, MAX_VALUE_LEN, Quota};

const U: Quota = Quota::UNLIMITED;

/// The TTL of the expiry checks: long enough that a loaded machine still checks the key before
/// it expires (asserted), short enough for a quick test.
const TTL: Duration = Duration::from_secs(1);

fn is_quota<T: std::fmt::Debug>(r: Result<T, KvError>) -> bool {
    matches!(r, Err(KvError::QuotaExceeded(_)))
}

fn is_invalid<T: std::fmt::Debug>(r: Result<T, KvError>) -> bool {
    matches!(r, Err(KvError::Invalid(_)))
}

/// get/set/delete/list, odd key characters, size limits.
pub async fn basic(kv: &KvStore) {
    assert_eq!(kv.get("t", "missing").await, Ok(None));
    kv.set("t", "a", b"1".to_vec(), None, U).await.unwrap();
    assert_eq!(kv.get("t", "a").await, Ok(Some(b"1".to_vec())));
    kv.set("t", "a", b"two".to_vec(), None, U).await.unwrap();
    assert_eq!(kv.get("t", "a").await, Ok(Some(b"two".to_vec())));
    assert_eq!(kv.delete("t", "a").await, Ok(true));
    assert_eq!(kv.delete("t", "a").await, Ok(false));
    assert_eq!(kv.get("t", "a").await, Ok(None));

    // Binary values, glob and separator characters, Unicode.
    let odd = [
        "a*b", "a?c", "a[x]", "a:kv:b", "a\\", "ключ", "a b", "a\u{0}z",
    ];
    for (i, key) in odd.iter().enumerate() {
        kv.set("t", key, vec![0, 255, i as u8], None, U)
            .await
            .unwrap();
    }
    for (i, key) in odd.iter().enumerate() {
        assert_eq!(
            kv.get("t", key).await,
            Ok(Some(vec![0, 255, i as u8])),
            "{key}"
        );
    }
    kv.set("t", "b", vec![], None, U).await.unwrap();
    assert_eq!(kv.get("t", "b").await, Ok(Some(vec![])));
    let mut all: Vec<String> = odd.iter().map(|k| k.to_string()).collect();
    all.push("b".into());
    all.sort();
    assert_eq!(kv.list_keys("t", "", 1000).await.unwrap(), all);
    assert_eq!(kv.list_keys("t", "a[", 10).await.unwrap(), vec!["a[x]"]);
    assert_eq!(kv.list_keys("t", "a*", 10).await.unwrap(), vec!["a*b"]);
    assert_eq!(kv.list_keys("t", "a?", 10).await.unwrap(), vec!["a?c"]);
    assert_eq!(kv.list_keys("t", "a", 3).await.unwrap(), all[..3].to_vec());
    assert_eq!(kv.list_keys("t", "a", 0).await, Ok(vec![]));
    assert_eq!(kv.list_keys("t", "zzz", 10).await, Ok(vec![]));

    // list_keys stops at the limit, caps it at 1000 and sorts by bytes.
    for i in 0..1001 {
        kv.set("many", &format!("k{i:04}"), vec![], None, U)
            .await
            .unwrap();
    }
    let listed = kv.list_keys("many", "k", u32::MAX).await.unwrap();
    assert_eq!(listed.len(), 1000);
    assert!(listed.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(kv.list_keys("many", "k100", 100).await.unwrap(), ["k1000"]);

    // Limits.
    let long = "k".repeat(MAX_KEY_LEN);
    kv.set("t", &long, vec![7; MAX_VALUE_LEN], None, U)
        .await
        .unwrap();
    assert_eq!(
        kv.get("t", &long).await.unwrap().map(|v| v.len()),
        Some(MAX_VALUE_LEN)
    );
    assert!(is_invalid(kv.get("t", "").await));
    assert!(is_invalid(kv.get("t", &format!("{long}k")).await));
    assert!(is_invalid(
        kv.set("t", "v", vec![0; MAX_VALUE_LEN + 1], None, U).await
    ));
    assert!(is_invalid(
        kv.set("t", "v", vec![], Some(Duration::ZERO), U).await
    ));
    assert!(is_invalid(kv.get("", "k").await));
    assert!(is_invalid(kv.get("a}b", "k").await));
}

/// increment: missing = 0, exact i64 arithmetic, non-integers and overflow are Invalid.
pub async fn increment(kv: &KvStore) {
    assert_eq!(kv.increment("t", "n", 5, U).await, Ok(5));
    assert_eq!(kv.increment("t", "n", -7, U).await, Ok(-2));
    assert_eq!(kv.get("t", "n").await, Ok(Some(b"-2".to_vec())));
    kv.set("t", "big", (i64::MAX - 1).to_string().into_bytes(), None, U)
        .await
        .unwrap();
    assert_eq!(kv.increment("t", "big", 1, U).await, Ok(i64::MAX));
    assert!(is_invalid(kv.increment("t", "big", 1, U).await));
    assert_eq!(
        kv.get("t", "big").await,
        Ok(Some(i64::MAX.to_string().into_bytes()))
    );
    assert_eq!(kv.increment("t", "small", i64::MIN, U).await, Ok(i64::MIN));
    assert!(is_invalid(kv.increment("t", "small", -1, U).await));
    for bad in ["abc", "1.5", "+1", "007", "-0", " 1", ""] {
        kv.set("t", "s", bad.as_bytes().to_vec(), None, U)
            .await
            .unwrap();
        assert!(is_invalid(kv.increment("t", "s", 1, U).await), "{bad:?}");
        assert_eq!(kv.get("t", "s").await, Ok(Some(bad.as_bytes().to_vec())));
    }
}

/// compare_and_swap: absent-only, match, mismatch.
pub async fn compare_and_swap(kv: &KvStore) {
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(b"x".to_vec()), b"y".to_vec(), U)
            .await,
        Ok(false)
    );
    assert_eq!(kv.get("t", "c").await, Ok(None));
    assert_eq!(
        kv.compare_and_swap("t", "c", None, b"1".to_vec(), U).await,
        Ok(true)
    );
    assert_eq!(
        kv.compare_and_swap("t", "c", None, b"2".to_vec(), U).await,
        Ok(false)
    );
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(b"2".to_vec()), b"3".to_vec(), U)
            .await,
        Ok(false)
    );
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(b"1".to_vec()), b"3".to_vec(), U)
            .await,
        Ok(true)
    );
    assert_eq!(kv.get("t", "c").await, Ok(Some(b"3".to_vec())));
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(b"3".to_vec()), vec![], U)
            .await,
        Ok(true)
    );
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(vec![]), b"4".to_vec(), U)
            .await,
        Ok(true)
    );
}

/// TTL: expired keys vanish from every operation; set without TTL makes a key permanent;
/// increment and compare_and_swap keep the TTL.
pub async fn ttl(kv: &KvStore) {
    let started = Instant::now();
    let short = Some(TTL);
    kv.set("t", "e", b"v".to_vec(), short, U).await.unwrap();
    kv.set("t", "keep", b"v".to_vec(), short, U).await.unwrap();
    kv.set("t", "keep", b"w".to_vec(), None, U).await.unwrap();
    kv.set("t", "n", b"5".to_vec(), short, U).await.unwrap();
    assert_eq!(kv.increment("t", "n", 1, U).await, Ok(6));
    kv.set("t", "c", b"a".to_vec(), short, U).await.unwrap();
    assert_eq!(
        kv.compare_and_swap("t", "c", Some(b"a".to_vec()), b"b".to_vec(), U)
            .await,
        Ok(true)
    );
    kv.set("t", "d", b"v".to_vec(), short, U).await.unwrap();
    kv.set("t", "i", b"41".to_vec(), short, U).await.unwrap();
    kv.set("t", "x", b"old".to_vec(), short, U).await.unwrap();
    let last_write = Instant::now();
    let live = kv.get("t", "e").await;
    let listed = kv.list_keys("t", "", 10).await.unwrap();
    assert!(started.elapsed() < TTL, "too slow to test a {TTL:?} TTL");
    assert_eq!(live, Ok(Some(b"v".to_vec())));
    assert_eq!(listed, ["c", "d", "e", "i", "keep", "n", "x"]);

    tokio::time::sleep_until((last_write + TTL + Duration::from_millis(150)).into()).await;
    assert_eq!(kv.get("t", "e").await, Ok(None));
    assert_eq!(kv.get("t", "n").await, Ok(None), "increment kept the TTL");
    assert_eq!(
        kv.get("t", "c").await,
        Ok(None),
        "compare_and_swap kept the TTL"
    );
    assert_eq!(kv.get("t", "keep").await, Ok(Some(b"w".to_vec())));
    assert_eq!(kv.list_keys("t", "", 10).await.unwrap(), ["keep"]);
    assert_eq!(kv.delete("t", "d").await, Ok(false));
    assert_eq!(kv.increment("t", "i", 1, U).await, Ok(1));
    assert_eq!(
        kv.compare_and_swap("t", "x", Some(b"old".to_vec()), b"new".to_vec(), U)
            .await,
        Ok(false)
    );
    assert_eq!(
        kv.compare_and_swap("t", "x", None, b"new".to_vec(), U)
            .await,
        Ok(true)
    );
    // Created by increment/cas after expiry: no TTL any more.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(kv.get("t", "i").await, Ok(Some(b"1".to_vec())));
    assert_eq!(kv.get("t", "x").await, Ok(Some(b"new".to_vec())));
}

/// Quotas on keys and bytes: allowed, denied (changing nothing), freed by overwrite, delete and
/// expiry; judged per namespace.
pub async fn quotas(kv: &KvStore) {
    let keys = Quota {
        max_keys: 2,
        max_bytes: u64::MAX,
    };
    kv.set("q", "a", b"1".to_vec(), None, keys).await.unwrap();
    kv.set("q", "b", b"1".to_vec(), None, keys).await.unwrap();
    assert!(is_quota(kv.set("q", "c", b"1".to_vec(), None, keys).await));
    assert!(is_quota(kv.increment("q", "c", 1, keys).await));
    assert!(is_quota(
        kv.compare_and_swap("q", "c", None, b"1".to_vec(), keys)
            .await
    ));
    assert_eq!(kv.get("q", "c").await, Ok(None));
    kv.set("q", "a", b"overwrite is fine".to_vec(), None, keys)
        .await
        .unwrap();
    assert_eq!(kv.increment("q", "b", 1, keys).await, Ok(2));
    // Another namespace has its own usage.
    kv.set("q2", "c", b"1".to_vec(), None, keys).await.unwrap();
    assert_eq!(kv.delete("q", "a").await, Ok(true));
    kv.set("q", "c", b"1".to_vec(), None, keys).await.unwrap();

    // Bytes = key + value lengths.
    let bytes = Quota {
        max_keys: 100,
        max_bytes: 10,
    };
    kv.set("b", "k1", b"12345678".to_vec(), None, bytes)
        .await
        .unwrap(); // 10
    assert!(is_quota(
        kv.set("b", "k2", b"x".to_vec(), None, bytes).await
    ));
    assert!(is_quota(
        kv.set("b", "k1", b"123456789".to_vec(), None, bytes).await
    ));
    assert_eq!(kv.get("b", "k1").await, Ok(Some(b"12345678".to_vec())));
    kv.set("b", "k1", b"1234".to_vec(), None, bytes)
        .await
        .unwrap(); // 6: overwrite frees
    kv.set("b", "k2", b"x".to_vec(), None, bytes).await.unwrap(); // 9
    assert!(is_quota(kv.increment("b", "k3", 1, bytes).await)); // would be 12
    assert_eq!(kv.get("b", "k3").await, Ok(None));
    assert!(is_quota(kv.increment("b", "k1", 99_999, bytes).await)); // "1234" → "101233"
    assert_eq!(kv.get("b", "k1").await, Ok(Some(b"1234".to_vec())));
    assert!(is_quota(
        kv.compare_and_swap("b", "k2", Some(b"x".to_vec()), b"xyz".to_vec(), bytes)
            .await
    ));
    assert_eq!(kv.get("b", "k2").await, Ok(Some(b"x".to_vec())));
    assert_eq!(kv.delete("b", "k1").await, Ok(true)); // 3
    kv.set("b", "k3", b"12345".to_vec(), None, bytes)
        .await
        .unwrap(); // 10
    // A quota lowered below the usage still allows shrinking.
    let tight = Quota {
        max_keys: 1,
        max_bytes: 5,
    };
    kv.set("b", "k3", b"1".to_vec(), None, tight).await.unwrap();
    assert!(is_quota(kv.set("b", "k4", vec![], None, tight).await));

    // Expired keys stop counting once noticed.
    let one = Quota {
        max_keys: 1,
        max_bytes: 100,
    };
    let started = Instant::now();
    kv.set("x", "a", b"1".to_vec(), Some(TTL), one)
        .await
        .unwrap();
    let last_write = Instant::now();
    let denied = kv.set("x", "b", b"1".to_vec(), None, one).await;
    assert!(started.elapsed() < TTL, "too slow to test a {TTL:?} TTL");
    assert!(is_quota(denied));
    tokio::time::sleep_until((last_write + TTL + Duration::from_millis(150)).into()).await;
    kv.set("x", "b", b"1".to_vec(), None, one).await.unwrap();
    assert!(is_quota(kv.set("x", "c", b"1".to_vec(), None, one).await));
}

/// Namespaces never see each other's keys.
pub async fn isolation(kv: &KvStore) {
    kv.set("alice", "secret", b"a".to_vec(), None, U)
        .await
        .unwrap();
    kv.set("alice:kv", "x", b"b".to_vec(), None, U)
        .await
        .unwrap();
    assert_eq!(kv.get("bob", "secret").await, Ok(None));
    assert_eq!(kv.get("alic", "e:secret").await, Ok(None));
    assert_eq!(kv.get("alice", "kv:x").await, Ok(None));
    assert_eq!(kv.list_keys("bob", "", 100).await, Ok(vec![]));
    assert_eq!(kv.list_keys("alice", "", 100).await.unwrap(), ["secret"]);
    assert_eq!(kv.delete("bob", "secret").await, Ok(false));
    assert_eq!(kv.increment("bob", "secret", 1, U).await, Ok(1));
    assert_eq!(
        kv.compare_and_swap("bob", "secret", Some(b"1".to_vec()), b"b".to_vec(), U)
            .await,
        Ok(true)
    );
    assert_eq!(kv.get("alice", "secret").await, Ok(Some(b"a".to_vec())));
    assert_eq!(kv.get("bob", "secret").await, Ok(Some(b"b".to_vec())));
}

/// Concurrent callers (spread over `stores`, e.g. separate connections): increments are
/// exact, and a key quota admits exactly `max_keys` new keys.
pub async fn concurrency(stores: &[KvStore], tasks: usize, per_task: usize) {
    let quota = Quota {
        max_keys: 50,
        max_bytes: 1 << 20,
    };
    stores[0]
        .set("conc", "counter", b"0".to_vec(), None, quota)
        .await
        .unwrap();
    let mut handles = Vec::new();
    for t in 0..tasks {
        let kv = stores[t % stores.len()].clone();
        handles.push(tokio::spawn(async move {
            let mut admitted = 0;
            for i in 0..per_task {
                kv.increment("conc", "counter", 1, quota).await.unwrap();
                if i < 20 {
                    match kv
                        .set("conc", &format!("k{t}-{i}"), b"v".to_vec(), None, quota)
                        .await
                    {
                        Ok(()) => admitted += 1,
                        Err(KvError::QuotaExceeded(_)) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
            }
            admitted
        }));
    }
    let mut admitted = 0;
    for h in handles {
        admitted += h.await.unwrap();
    }
    let expected = (tasks * per_task) as i64;
    let kv = &stores[0];
    assert_eq!(
        kv.get("conc", "counter").await,
        Ok(Some(expected.to_string().into_bytes()))
    );
    // "counter" is one of the 50 keys.
    assert_eq!(admitted, 49);
    assert_eq!(kv.list_keys("conc", "k", 1000).await.unwrap().len(), 49);
}
