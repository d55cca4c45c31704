//! The `kv` import: the tenant's namespace of the server's key-value store, within its quota.
//! Denied (as `unavailable`) when the server has no state store.

use std::time::Duration;

use super::super::bindings::extws::handler::kv;
use super::HostState;
use crate::state::KvError;

fn to_wit(e: KvError) -> kv::KvError {
    match e {
        KvError::QuotaExceeded(m) => kv::KvError::QuotaExceeded(m),
        KvError::Unavailable(m) => kv::KvError::Unavailable(m),
        KvError::Invalid(m) => kv::KvError::Invalid(m),
    }
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        s.kv.get(&ns, &key).await.map_err(to_wit)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        let ttl = ttl_ms.map(Duration::from_millis);
        s.kv.set(&ns, &key, value, ttl, s.quota)
            .await
            .map_err(to_wit)
    }

    async fn delete(&mut self, key: String) -> Result<bool, kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        s.kv.delete(&ns, &key).await.map_err(to_wit)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        s.kv.increment(&ns, &key, delta, s.quota)
            .await
            .map_err(to_wit)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> Result<bool, kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        s.kv.compare_and_swap(&ns, &key, expected, new, s.quota)
            .await
            .map_err(to_wit)
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, kv::KvError> {
        let (s, ns) = self.state(kv::KvError::Unavailable)?;
        s.kv.list_keys(&ns, &prefix, limit).await.map_err(to_wit)
    }
}
