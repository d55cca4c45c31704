//! Guest state: the server's [`Services`] (key-value store, push bus and push history), opened
//! once and shared by every tenant, each reaching only its own namespace.
//!
//! * [`kv`] — the public contract: [`KvStore`] and its operations.
//! * [`types`] — [`Quota`], [`KvError`], the limits and the checks both backends share.
//! * [`embedded`] — the default backend, a durable redb file under `--data-dir`, reopened
//!   after an I/O error (`reopen`).
//! * [`redis`] — the scale-out backend, shared by every node through one Redis server.
//! * [`history`] — push history: per-user `Seq`s and the recent pushes, for session resume;
//!   in the embedded file or in Redis.

pub mod embedded;
pub mod history;
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
pub use history::{HistoryPolicy, HistoryRead, HistoryStore};
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
    /// Push history (used by tenants whose `history_size` is not 0).
    pub history: HistoryStore,
}

impl Services {
    /// Opens the configured backends: Redis for both when `redis` (a URL) is set, else the
    /// embedded store under `data_dir` with in-process push; none when neither is given.
    pub async fn open(
        redis: Option<&str>,
        data_dir: Option<&std::path::Path>,
    ) -> anyhow::Result<Option<Self>> {
        if let Some(url) = redis {
            let redis = RedisKv::connect(url)
                .await
                .with_context(|| format!("connecting to Redis at {url}"))?;
            let bus = Bus::redis(url).await?;
            let history = HistoryStore::redis(&redis);
            let kv = KvStore::Redis(redis);
            tracing::info!("state and push: Redis");
            return Ok(Some(Self { kv, bus, history }));
        }
        let Some(dir) = data_dir else {
            return Ok(None);
        };
        let embedded = Arc::new(
            EmbeddedKv::open(dir)
                .with_context(|| format!("opening the state store in {}", dir.display()))?,
        );
        tracing::info!(dir = %dir.display(), "state: embedded store; push: in-process");
        let hub = Arc::new(crate::push::Hub::default());
        let history = HistoryStore::embedded(&embedded, hub.clone())?;
        Ok(Some(Self {
            kv: KvStore::Embedded(embedded),
            bus: Bus::Local(hub),
            history,
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
