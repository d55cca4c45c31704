//! The deadline is wall-clock for the whole call, whatever the guest is doing: a guest asleep
//! inside a host call (WASI monotonic-clock pollable) is answered `timeout` at its deadline,
//! not when its sleep ends, and its concurrency slot is free again at once.

mod common;

use std::time::{Duration, Instant};

use common::*;
use extws_wasm::Config;
use extws_wasm::runtime::Lifecycle;

const DEADLINE: Duration = Duration::from_millis(300);
/// Generous: proves the deadline fires at all (the sleep is 30 s); the bench measures it.
const SLACK: Duration = Duration::from_millis(700);

fn config(lifecycle: Lifecycle) -> Config {
    let mut t = tenant("default", &["slow"]);
    t.limits.timeout = DEADLINE;
    t.limits.max_concurrency = 2;
    t.limits.max_queue = 0;
    for c in &mut t.components {
        c.lifecycle = lifecycle;
    }
    Config::new(vec![t])
}

async fn sleepers_time_out_and_free_their_slots(lifecycle: Lifecycle) {
    let server = start(config(lifecycle)).await;
    let (mut a, mut b, mut c) = (
        connect(&server.url("/")).await,
        connect(&server.url("/")).await,
        connect(&server.url("/")).await,
    );
    let started = Instant::now();
    send(&mut a, r#"{"Type":"Sleep","Data":30000,"Id":"a"}"#).await;
    send(&mut b, r#"{"Type":"Sleep","Data":30000,"Id":"b"}"#).await;
    // Both sleepers are admitted once their instances exist (the count is taken after a
    // slot is granted, before instantiation).
    let series = instances_created("default", lifecycle.as_str());
    wait_for_metric(server.addr, &series, 2.0).await;
    // Both slots are taken while they sleep: a third call is refused, not queued.
    let reply = ask_json(&mut c, r#"{"Type":"Slow","Data":1}"#).await;
    assert_eq!(error_code(&reply), "overloaded", "{reply}");
    for ws in [&mut a, &mut b] {
        let reply: serde_json::Value = serde_json::from_str(&recv(ws).await).unwrap();
        let elapsed = started.elapsed();
        assert_eq!(error_code(&reply), "timeout", "{reply}");
        assert!(
            elapsed < DEADLINE + SLACK,
            "timeout came after {elapsed:?}, the deadline is {DEADLINE:?}"
        );
    }
    // The slots are free again: the same tenant answers at once.
    let reply = ask_json(&mut c, r#"{"Type":"Slow","Data":1}"#).await;
    assert_eq!(reply["Type"], "SlowResponse", "{reply}");
    let reply = ask_json(&mut a, r#"{"Type":"Sleep","Data":1}"#).await;
    assert_eq!(reply["Type"], "SleepResponse", "{reply}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_asleep_in_a_host_call_gets_timeout_at_its_deadline_fresh() {
    sleepers_time_out_and_free_their_slots(Lifecycle::Fresh).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_asleep_in_a_host_call_gets_timeout_at_its_deadline_pooled() {
    sleepers_time_out_and_free_their_slots(Lifecycle::Pooled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_guest_asleep_in_a_host_call_gets_timeout_at_its_deadline_per_connection() {
    sleepers_time_out_and_free_their_slots(Lifecycle::Connection).await;
}
