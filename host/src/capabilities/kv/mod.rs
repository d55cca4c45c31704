//! The `kv` capability: the tenant's namespace of the server's key-value store, within its
//! [`Quota`]. Granted when the server has a state store (`--data-dir` or `--redis`); without
//! one every call is `unavailable`. The store itself (embedded redb or Redis) is
//! [`crate::state`]'s.

use std::time::Duration;

use super::{Ctx, NO_STATE_STORE};
use crate::state::{KvError, KvStore, Quota};
use crate::wit::extws::handler::kv;

/// A tenant's key-value grant: the shared store and its quota.
#[derive(Clone)]
pub struct KvGrant {
    /// The store (namespaced by tenant inside).
    pub store: KvStore,
    /// The tenant's quota (`[tenant.state]`, `--kv-max-keys`, `--kv-max-bytes`).
    pub quota: Quota,
}

impl std::fmt::Debug for KvGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KvGrant")
            .field("quota", &self.quota)
            .finish_non_exhaustive()
    }
}

fn to_wit(e: KvError) -> kv::KvError {
    match e {
        KvError::QuotaExceeded(m) => kv::KvError::QuotaExceeded(m),
        KvError::Unavailable(m) => kv::KvError::Unavailable(m),
        KvError::Invalid(m) => kv::KvError::Invalid(m),
    }
}

impl Ctx<'_, KvGrant> {
    /// The grant and the namespace, or `unavailable` when the server has no store.
    fn grant(&self) -> Result<(&KvGrant, &str), kv::KvError> {
        self.granted(|| kv::KvError::Unavailable(NO_STATE_STORE.into()))
    }
}

impl kv::Host for Ctx<'_, KvGrant> {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::KvError> {
        let (g, ns) = self.grant()?;
        g.store.get(ns, &key).await.map_err(to_wit)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), kv::KvError> {
        let (g, ns) = self.grant()?;
        let ttl = ttl_ms.map(Duration::from_millis);
        g.store
            .set(ns, &key, value, ttl, g.quota)
            .await
            .map_err(to_wit)
    }

    async fn delete(&mut self, key: String) -> Result<bool, kv::KvError> {
        let (g, ns) = self.grant()?;
        g.store.delete(ns, &key).await.map_err(to_wit)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, kv::KvError> {
        let (g, ns) = self.grant()?;
        g.store
            .increment(ns, &key, delta, g.quota)
            .await
            .map_err(to_wit)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> Result<bool, kv::KvError> {
        let (g, ns) = self.grant()?;
        g.store
            .compare_and_swap(ns, &key, expected, new, g.quota)
            .await
            .map_err(to_wit)
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, kv::KvError> {
        let (g, ns) = self.grant()?;
        g.store.list_keys(ns, &prefix, limit).await.map_err(to_wit)
    }
}
