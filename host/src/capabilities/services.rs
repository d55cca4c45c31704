//! The backends of kv and push, opened once at startup and shared by every tenant: Redis for
//! both when `--redis` is set, else the embedded store under `--data-dir` with in-process
//! push; none when neither is given (kv and push are then `unavailable`).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;

use super::push::history::HistoryStore;
use super::push::{Bus, Hub};
use crate::state::{EmbeddedKv, KvStore, RedisKv};

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
        let hub = Arc::new(Hub::default());
        let history = HistoryStore::embedded(&embedded, hub.clone())?;
        Ok(Some(Self {
            kv: KvStore::Embedded(embedded),
            bus: Bus::Local(hub),
            history,
        }))
    }

    /// The Redis connection, when the state lives in Redis (the Bot API's flood limits are then
    /// kept there too, for every node of a bot).
    pub fn redis(&self) -> Option<redis::aio::ConnectionManager> {
        match &self.kv {
            KvStore::Redis(redis) => Some(redis.link().connection()),
            KvStore::Embedded(_) => None,
        }
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
