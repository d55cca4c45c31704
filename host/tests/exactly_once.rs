//! Every bot update runs exactly once, whatever Redis does meanwhile: a claim stalled in a
//! frozen Redis and applied after the thaw still lets the update run (it is a lease that
//! expires, not a "seen" mark), and random interleavings of Redis freezes, kills and restarts
//! with Telegram's webhook retries and a poller lose no update and run none twice.

mod common;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use common::fake_telegram::{FakeTelegram, message, post_update, shop_tenant, update, webhook_at};
use common::*;
use extws_wasm::Config;
use extws_wasm::config::updates::Updates;
use extws_wasm::config::{StateConfig, TenantConfig};
use rand::{Rng, SeedableRng, rngs::StdRng};

const TOKEN: &str = "777000:shop-token-never-shown";
const SECRET: &str = "webhook-secret_42";
const HOOK: &str = "/telegram/webhook";

fn on_redis(tenant: TenantConfig, redis: &RedisServer) -> Config {
    let mut config = Config::new(vec![tenant]);
    config.state = StateConfig {
        data_dir: None,
        redis: Some(redis.url()),
    };
    config
}

fn webhook_shop(telegram: &FakeTelegram) -> TenantConfig {
    shop_tenant(telegram, TOKEN, &["sendMessage"], webhook_at(HOOK, SECRET))
}

/// How many greetings each chat got (the shop greets `/start` with one `sendMessage`).
fn greetings(telegram: &FakeTelegram) -> BTreeMap<i64, usize> {
    let mut seen = BTreeMap::new();
    for call in telegram.calls_of("sendMessage") {
        *seen
            .entry(call.json()["chat_id"].as_i64().unwrap())
            .or_default() += 1;
    }
    seen
}

/// Telegram posting update `id` until it gets a 200, retrying as it does after a 5xx (panics
/// after 90 s).
async fn deliver_until_acknowledged(addr: std::net::SocketAddr, id: i64) {
    let body = update(id, "message", message(id, "/start"));
    let until = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let status = post_update(addr, HOOK, Some(SECRET), &body).await;
        if status == 200 {
            return;
        }
        assert!(
            std::time::Instant::now() < until,
            "update {id} not acknowledged within 90 s (last status {status})"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_claimed_while_redis_was_frozen_runs_once_after_the_thaw() {
    let redis = RedisServer::start();
    let telegram = FakeTelegram::start().await;
    let server = start(on_redis(webhook_shop(&telegram), &redis)).await;
    // An update before: Redis knows the claim's script (a claim it could not run would
    // hide the defect this test is about).
    deliver_until_acknowledged(server.addr, 6).await;
    let body = update(7, "message", message(7, "/start"));

    // Frozen: the claim cannot be answered, so Telegram is told to come again. Redis queues
    // the claim and applies it once it thaws, after the server stopped waiting for it.
    redis.freeze();
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &body).await,
        503
    );
    redis.thaw();

    // Telegram keeps retrying: the update runs exactly once (once the stale claim expired).
    deliver_until_acknowledged(server.addr, 7).await;
    assert_eq!(greetings(&telegram), BTreeMap::from([(6, 1), (7, 1)]));
    // Retries after that are duplicates.
    assert_eq!(
        post_update(server.addr, HOOK, Some(SECRET), &body).await,
        200
    );
    assert_eq!(greetings(&telegram), BTreeMap::from([(6, 1), (7, 1)]));
    server.shutdown().await.unwrap();
}

/// One step of the property test.
#[derive(Debug)]
enum Step {
    /// Telegram starts posting webhook update N (and retries it until it gets a 200).
    Post,
    /// Telegram queues update N for `getUpdates`.
    Queue,
    /// Redis stops answering for a while.
    Freeze(Duration),
    /// Redis is killed and started again (its data kept: `appendfsync always`).
    Restart(Duration),
    /// Nothing happens for a while.
    Pause(Duration),
}

fn random_step(rng: &mut StdRng) -> Step {
    let ms = |rng: &mut StdRng, max: u64| Duration::from_millis(rng.gen_range(50..max));
    match rng.gen_range(0..10) {
        0..=2 => Step::Post,
        3..=5 => Step::Queue,
        6 => Step::Freeze(ms(rng, 2500)),
        7 => Step::Restart(ms(rng, 1500)),
        _ => Step::Pause(ms(rng, 400)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_freezes_kills_and_restarts_never_lose_or_repeat_an_update() {
    let seed: u64 = std::env::var("EXTWS_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(rand::random);
    let steps: usize = std::env::var("EXTWS_PROPERTY_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(24);
    eprintln!("seed {seed} ({steps} steps): rerun with EXTWS_PROPERTY_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);

    let mut redis = RedisServer::start_durable();
    let telegram = Arc::new(FakeTelegram::start().await);
    // One node receives the bot's webhook, another polls (as a second bot would): both on
    // the same Redis, their updates numbered apart.
    let hooked = start(on_redis(webhook_shop(&telegram), &redis)).await;
    let polling = Updates::Polling {
        timeout: Duration::from_secs(1),
    };
    let polled = start(on_redis(
        shop_tenant(&telegram, TOKEN, &["sendMessage"], polling),
        &redis,
    ))
    .await;

    let (mut posted, mut queued) = (Vec::new(), Vec::new());
    let mut retries = Vec::new();
    let mut plan = Vec::new();
    for _ in 0..steps {
        let step = random_step(&mut rng);
        plan.push(format!("{step:?}"));
        match step {
            Step::Post => {
                let id = 1_000 + posted.len() as i64;
                posted.push(id);
                retries.push(tokio::spawn(deliver_until_acknowledged(hooked.addr, id)));
            }
            Step::Queue => {
                let id = 5_000 + queued.len() as i64;
                queued.push(id);
                let body = update(id, "message", message(id, "/start"));
                telegram.queue(serde_json::from_str(&body).unwrap());
            }
            Step::Freeze(long) => {
                redis.freeze();
                tokio::time::sleep(long).await;
                redis.thaw();
            }
            Step::Restart(down) => {
                redis.stop();
                tokio::time::sleep(down).await;
                redis.restart();
            }
            Step::Pause(long) => tokio::time::sleep(long).await,
        }
    }
    eprintln!("plan: {plan:?}");
    for retry in retries {
        retry.await.unwrap();
    }
    let wanted: BTreeMap<i64, usize> = posted.iter().chain(&queued).map(|&id| (id, 1)).collect();
    eventually(
        "every update greeted",
        Duration::from_secs(90),
        async || {
            let seen = greetings(&telegram);
            let missing: Vec<_> = wanted.keys().filter(|id| !seen.contains_key(id)).collect();
            if missing.is_empty() {
                Ok(())
            } else {
                Err(format!("missing {missing:?}"))
            }
        },
    )
    .await;
    // Telegram retries once more what it already got a 200 for; the poller confirms the last
    // update. Nothing runs again.
    for &id in &posted {
        let body = update(id, "message", message(id, "/start"));
        assert_eq!(
            post_update(hooked.addr, HOOK, Some(SECRET), &body).await,
            200
        );
    }
    if let Some(last) = queued.last() {
        let polls = || telegram.calls_of("getUpdates");
        eventually(
            "the poller confirmed every update",
            Duration::from_secs(30),
            async || match polls().last().map(|c| c.json()["offset"].as_i64()) {
                Some(Some(offset)) if offset > *last => Ok(()),
                other => Err(format!("last offset asked {other:?}")),
            },
        )
        .await;
    }
    assert_eq!(greetings(&telegram), wanted, "seed {seed}, plan {plan:?}");
    hooked.shutdown().await.unwrap();
    polled.shutdown().await.unwrap();
}
