//! Tests of the embedded (redb) store: the shared contract checks, durability across reopen and
//! across `kill -9`.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::state::kv::{KvError, KvStore, Quota};
use crate::state::scenarios;
use crate::state::test_support::TempDir;

fn open(dir: &TempDir) -> KvStore {
    KvStore::open_embedded(&dir.path().join("data")).expect("open embedded store")
}

#[tokio::test]
async fn basic_operations() {
    let dir = TempDir::new("kv-basic");
    scenarios::basic(&open(&dir)).await;
    assert!(dir.path().join("data/kv.redb").is_file());
}

#[tokio::test]
async fn increment() {
    let dir = TempDir::new("kv-incr");
    scenarios::increment(&open(&dir)).await;
}

#[tokio::test]
async fn compare_and_swap() {
    let dir = TempDir::new("kv-cas");
    scenarios::compare_and_swap(&open(&dir)).await;
}

#[tokio::test]
async fn ttl() {
    let dir = TempDir::new("kv-ttl");
    scenarios::ttl(&open(&dir)).await;
}

#[tokio::test]
async fn quotas() {
    let dir = TempDir::new("kv-quota");
    scenarios::quotas(&open(&dir)).await;
}

#[tokio::test]
async fn namespace_isolation() {
    let dir = TempDir::new("kv-iso");
    scenarios::isolation(&open(&dir)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_and_quota_are_exact() {
    let dir = TempDir::new("kv-conc");
    scenarios::concurrency(&[open(&dir)], 8, 200).await;
}

#[tokio::test]
async fn survives_reopen() {
    let dir = TempDir::new("kv-reopen");
    let quota = Quota {
        max_keys: 3,
        max_bytes: 1000,
    };
    {
        let kv = open(&dir);
        kv.set("t", "a", b"1".to_vec(), None, quota).await.unwrap();
        kv.set("t", "gone", b"1".to_vec(), None, quota)
            .await
            .unwrap();
        assert_eq!(kv.increment("t", "n", 41, quota).await, Ok(41));
        assert_eq!(kv.delete("t", "gone").await, Ok(true));
        let long = Some(Duration::from_secs(3600));
        kv.set("t", "ttl", b"x".to_vec(), long, quota)
            .await
            .unwrap();
        assert_eq!(
            kv.compare_and_swap("t", "a", Some(b"1".to_vec()), b"2".to_vec(), quota)
                .await,
            Ok(true)
        );
    }
    let kv = open(&dir);
    assert_eq!(kv.get("t", "a").await, Ok(Some(b"2".to_vec())));
    assert_eq!(kv.get("t", "gone").await, Ok(None));
    assert_eq!(kv.get("t", "ttl").await, Ok(Some(b"x".to_vec())));
    assert_eq!(kv.increment("t", "n", 1, quota).await, Ok(42));
    // The usage survived too: three keys, so a fourth is denied.
    assert!(matches!(
        kv.set("t", "d", vec![], None, quota).await,
        Err(KvError::QuotaExceeded(_))
    ));
}

#[tokio::test]
async fn second_open_of_the_same_file_fails_cleanly() {
    let dir = TempDir::new("kv-lock");
    let _kv = open(&dir);
    assert!(KvStore::open_embedded(&dir.path().join("data")).is_err());
}

/// Environment variable that turns [`kill9_child`] on and names its data directory.
const CHILD_DIR: &str = "EXTWS_KV_KILL9_DIR";

/// What every acknowledged write of the child looks like on stdout.
const ACK: &str = "acked ";

/// Writes until killed, printing each acknowledged write. Only run by
/// [`acknowledged_writes_survive_kill_9`], as a child process.
#[test]
#[ignore = "child process of acknowledged_writes_survive_kill_9"]
fn kill9_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let kv = KvStore::open_embedded(std::path::Path::new(&dir)).unwrap();
        let mut out = std::io::stdout();
        for i in 0u64.. {
            let n = kv.increment("t", "n", 1, Quota::UNLIMITED).await.unwrap();
            kv.set(
                "t",
                &format!("k{i}"),
                i.to_string().into_bytes(),
                None,
                Quota::UNLIMITED,
            )
            .await
            .unwrap();
            writeln!(out, "{ACK}{i} {n}").unwrap();
            out.flush().unwrap();
        }
    });
}

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = TempDir::new("kv-kill9");
    let data = dir.path().join("data");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "state::embedded::tests::kill9_child",
            "--ignored",
            "--nocapture",
        ])
        .args(["--test-threads", "1"])
        .env(CHILD_DIR, &data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        if let Some(ack) = line.strip_prefix(ACK) {
            let (i, n) = ack.split_once(' ').unwrap();
            last = Some((i.parse::<u64>().unwrap(), n.parse::<i64>().unwrap()));
            if last.is_some_and(|(i, _)| i >= 40) {
                // SIGKILL right after an acknowledgement, while the next writes are in flight.
                child.kill().unwrap();
                break;
            }
        }
    }
    child.wait().unwrap();
    let (last_i, last_n) = last.expect("the child acknowledged writes");

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let kv = KvStore::open_embedded(&data).unwrap();
        let n = kv.get("t", "n").await.unwrap().expect("counter survives");
        let n: i64 = String::from_utf8(n).unwrap().parse().unwrap();
        assert!(n >= last_n, "acknowledged count {last_n}, found {n}");
        for i in 0..=last_i {
            assert_eq!(
                kv.get("t", &format!("k{i}")).await,
                Ok(Some(i.to_string().into_bytes()))
            );
        }
    });
}
