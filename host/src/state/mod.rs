//! Guest state: the server's [`Services`] (key-value store and push bus), opened once and
//! shared by every tenant, each reaching only its own namespace.
//!
//! * [`kv`] — the public contract: [`KvStore`] and its operations.
//! * [`types`] — [`Quota`], [`KvError`], the limits and the checks both backends share.
//! * [`embedded`] — the default backend, a durable redb file under `--data-dir`, reopened
//!   after an I/O error (`reopen`).
//! * [`redis`] — the scale-out backend, shared by every node through one Redis server.

pub mod embedded;
pub mod kv;
pub mod redis;
mod redis_scripts;
mod reopen;
pub mod types;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod test_support;

pub use embedded::EmbeddedKv;
pub use kv::{
    KvError, KvStore, MAX_KEY_LEN, MAX_LIST_LIMIT, MAX_NS_LEN, MAX_TTL, MAX_VALUE_LEN, Quota,
};
pub use redis::RedisKv;

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use crate::push::Bus;

/// The state store and push bus shared by all tenants (each reaches only its namespace).
#[derive(Clone)]
pub struct Services {
    /// Key-value store.
    pub kv: KvStore,
    /// Push bus.
    pub bus: Bus,
}

impl Services {
    /// Opens the configured backends: Redis for both when `redis` (a URL) is set, else the
    /// embedded store under `data_dir` with in-process push; none when neither is given.
    pub async fn open(
        redis: Option<&str>,
        data_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Option<Self>> {
        if let Some(url) = redis {
            let kv = KvStore::connect_redis(url)
                .await
                .with_context(|| format!("connecting to Redis at {url}"))?;
            let bus = Bus::redis(url).await?;
            tracing::info!("state and push: Redis");
            return Ok(Some(Self { kv, bus }));
        }
        let Some(dir) = data_dir else {
            return Ok(None);
        };
        let kv = KvStore::open_embedded(dir)
            .with_context(|| format!("opening the state store in {}", dir.display()))?;
        tracing::info!(dir = %dir.display(), "state: embedded store; push: in-process");
        Ok(Some(Self {
            kv,
            bus: Bus::Local(Arc::default()),
        }))
    }

    /// Whether the backends answer now: `Err` says which does not. The embedded store is
    /// always ready once open; Redis must answer a PING within `timeout`.
    pub async fn ready(&self, timeout: Duration) -> Result<(), String> {
        match &self.kv {
            KvStore::Embedded(_) => Ok(()),
            KvStore::Redis(redis) => match tokio::time::timeout(timeout, redis.ping()).await {
                Ok(Ok(())) => Ok(()),
                Ok(Err(e)) => Err(format!("Redis is unreachable: {e}")),
                Err(_) => Err(format!("Redis did not answer within {timeout:?}")),
            },
        }
    }
}
