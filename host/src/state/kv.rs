//! The key-value API that guests reach through the host import: one [`KvStore`] per server,
//! namespaced per tenant, with per-tenant [`Quota`]s, backed by redb or Redis.
//!
//! # Contract (the same for both backends)
//!
//! * **Namespaces.** `ns` is the tenant name. Every key lives in exactly one namespace; no
//!   operation reads, lists, counts or changes a key of another namespace, so a tenant can never
//!   see another's keys. A namespace is 1..=[`MAX_NS_LEN`] bytes without `{` or `}`.
//! * **Keys** are 1..=[`MAX_KEY_LEN`] bytes of UTF-8, any characters (`*`, `?`, `[`, `:`, … are
//!   plain characters). **Values** are at most [`MAX_VALUE_LEN`] bytes. Anything else is
//!   [`KvError::Invalid`].
//! * **TTL.** `set` with a TTL makes the key disappear once the TTL has passed; `set` without one
//!   makes it permanent (a new `set` replaces value *and* TTL). `increment` and
//!   `compare_and_swap` keep the remaining TTL of the key they change; a key they create has
//!   none. No operation ever returns, lists, compares against or increments an expired value.
//!   A TTL is 1 ms..=[`MAX_TTL`] (rounded up to whole milliseconds).
//! * **Quotas.** A namespace uses one key per live key and `key.len() + value.len()` bytes for
//!   each. A write that would take the namespace above `max_keys` or `max_bytes` fails with
//!   [`KvError::QuotaExceeded`] and changes nothing; a write that does not grow the usage that is
//!   over (e.g. shrinking a value after a quota was lowered) is allowed. Overwriting frees the
//!   bytes of the value it replaces; deleting frees the key and its bytes. Expired keys are
//!   reclaimed by the next write to their namespace and never count when a write is judged:
//!   before denying a write for quota, the store drops every expired key of the namespace.
//!   Usage is exact under any number of concurrent callers (and, for Redis, of servers): each
//!   operation checks and updates it atomically.
//! * **Durability.** With the embedded store an acknowledged write (`Ok` from `set`, `delete`,
//!   `increment`, `compare_and_swap`) is on disk: a crash or `kill -9` right after cannot lose
//!   it. With Redis it is whatever the Redis server's persistence settings give.
//! * **Availability.** A Redis operation that cannot complete within [`crate::state::redis`]'s
//!   timeout (1 s) fails with [`KvError::Unavailable`] instead of hanging; operations succeed
//!   again once Redis is back, without restarting the server.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::embedded::EmbeddedKv;
use super::redis::RedisKv;
use super::types::check_ns;
pub use super::types::{
    KvError, MAX_KEY_LEN, MAX_LIST_LIMIT, MAX_NS_LEN, MAX_TTL, MAX_VALUE_LEN, Quota,
};

/// The key-value store of a server: embedded (redb file) or shared (Redis). Cheap to clone.
#[derive(Clone)]
pub enum KvStore {
    /// A redb file on local disk; only this process uses it.
    Embedded(Arc<EmbeddedKv>),
    /// A Redis server shared by every node.
    Redis(RedisKv),
}

impl std::fmt::Debug for KvStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KvStore::Embedded(_) => f.write_str("KvStore::Embedded"),
            KvStore::Redis(_) => f.write_str("KvStore::Redis"),
        }
    }
}

impl KvStore {
    /// Opens (creating `dir` and the file if needed) the embedded store `dir/kv.redb`.
    pub fn open_embedded(dir: &Path) -> anyhow::Result<Self> {
        Ok(KvStore::Embedded(Arc::new(EmbeddedKv::open(dir)?)))
    }

    /// Connects to Redis at `url` (`redis://host:port[/db]`); fails if it is unreachable now.
    /// Later outages are survived: the connection reconnects by itself.
    pub async fn connect_redis(url: &str) -> anyhow::Result<Self> {
        Ok(KvStore::Redis(RedisKv::connect(url).await?))
    }

    /// The value of `key` in `ns`, or `None` if it is absent or expired.
    pub async fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        check_ns_key(ns, key)?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| db.get(&ns, &key)
                })
                .await
            }
            KvStore::Redis(r) => r.get(ns, key).await,
        }
    }

    /// Stores `value` under `key`, replacing any value and TTL; with `ttl` the key disappears
    /// after it. Fails with `QuotaExceeded` (changing nothing) if the namespace would exceed
    /// `quota`.
    pub async fn set(
        &self,
        ns: &str,
        key: &str,
        value: Vec<u8>,
        ttl: Option<Duration>,
        quota: Quota,
    ) -> Result<(), KvError> {
        check_ns_key(ns, key)?;
        check_value(&value)?;
        let ttl_ms = ttl.map(ttl_millis).transpose()?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| db.set(&ns, &key, &value, ttl_ms, quota)
                })
                .await
            }
            KvStore::Redis(r) => r.set(ns, key, &value, ttl_ms, quota).await,
        }
    }

    /// Removes `key`; `true` if it existed (and had not expired).
    pub async fn delete(&self, ns: &str, key: &str) -> Result<bool, KvError> {
        check_ns_key(ns, key)?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| db.delete(&ns, &key)
                })
                .await
            }
            KvStore::Redis(r) => r.delete(ns, key).await,
        }
    }

    /// Adds `delta` to the integer stored at `key` (ASCII decimal i64; a missing key counts as 0)
    /// and returns the new value, keeping the key's TTL. A stored value that is not a canonical
    /// decimal i64 (`-?[1-9][0-9]*` or `0`), or an overflow, is `Invalid`.
    pub async fn increment(
        &self,
        ns: &str,
        key: &str,
        delta: i64,
        quota: Quota,
    ) -> Result<i64, KvError> {
        check_ns_key(ns, key)?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| db.increment(&ns, &key, delta, quota)
                })
                .await
            }
            KvStore::Redis(r) => r.increment(ns, key, delta, quota).await,
        }
    }

    /// Stores `new` only if the current value equals `expected` (`None`: only if the key is
    /// absent or expired); `true` if it did. Keeps the key's TTL. A mismatch returns `false`
    /// before the quota is looked at; a match that would exceed the quota is `QuotaExceeded`.
    pub async fn compare_and_swap(
        &self,
        ns: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        quota: Quota,
    ) -> Result<bool, KvError> {
        self.swap(ns, key, expected, new, None, quota).await
    }

    /// [`Self::compare_and_swap`] that, on a match, also sets the key's TTL to `ttl`, in the
    /// same atomic step: the value and its expiry are never apart, even when an operation that
    /// timed out is applied later. The building block of leases ([`crate::state::lease`]).
    pub async fn compare_and_swap_expiring(
        &self,
        ns: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        ttl: Duration,
        quota: Quota,
    ) -> Result<bool, KvError> {
        let ttl_ms = ttl_millis(ttl)?;
        self.swap(ns, key, expected, new, Some(ttl_ms), quota).await
    }

    async fn swap(
        &self,
        ns: &str,
        key: &str,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
        ttl_ms: Option<u64>,
        quota: Quota,
    ) -> Result<bool, KvError> {
        check_ns_key(ns, key)?;
        check_value(&new)?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| {
                        let expected = expected.as_deref();
                        db.compare_and_swap_ttl(&ns, &key, expected, &new, ttl_ms, quota)
                    }
                })
                .await
            }
            KvStore::Redis(r) => {
                r.compare_and_swap(ns, key, expected.as_deref(), &new, ttl_ms, quota)
                    .await
            }
        }
    }

    /// The live keys of `ns` that start with `prefix` (empty: all), in byte order, at most
    /// `limit` of them (capped to [`MAX_LIST_LIMIT`]).
    pub async fn list_keys(
        &self,
        ns: &str,
        prefix: &str,
        limit: u32,
    ) -> Result<Vec<String>, KvError> {
        check_ns(ns)?;
        if prefix.len() > MAX_KEY_LEN {
            return Err(KvError::Invalid(format!(
                "prefix longer than {MAX_KEY_LEN} bytes"
            )));
        }
        let limit = limit.min(MAX_LIST_LIMIT) as usize;
        if limit == 0 {
            return Ok(Vec::new());
        }
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, prefix) = (ns.to_owned(), prefix.to_owned());
                    move |db| db.list_keys(&ns, &prefix, limit)
                })
                .await
            }
            KvStore::Redis(r) => r.list_keys(ns, prefix, limit).await,
        }
    }
}

/// Runs one blocking redb operation on tokio's blocking pool.
async fn blocking<T: Send + 'static>(
    db: &Arc<EmbeddedKv>,
    op: impl FnOnce(&EmbeddedKv) -> Result<T, KvError> + Send + 'static,
) -> Result<T, KvError> {
    let db = Arc::clone(db);
    tokio::task::spawn_blocking(move || op(&db))
        .await
        .map_err(|e| KvError::Unavailable(format!("storage task failed: {e}")))?
}

fn check_ns_key(ns: &str, key: &str) -> Result<(), KvError> {
    check_ns(ns)?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(KvError::Invalid(format!(
            "key must be 1..={MAX_KEY_LEN} bytes, got {}",
            key.len()
        )));
    }
    Ok(())
}

fn check_value(value: &[u8]) -> Result<(), KvError> {
    if value.len() > MAX_VALUE_LEN {
        return Err(KvError::Invalid(format!(
            "value must be at most {MAX_VALUE_LEN} bytes, got {}",
            value.len()
        )));
    }
    Ok(())
}

/// A TTL in whole milliseconds (rounded up), checked against 1 ms..=[`MAX_TTL`].
fn ttl_millis(ttl: Duration) -> Result<u64, KvError> {
    if ttl.is_zero() || ttl > MAX_TTL {
        return Err(KvError::Invalid(format!(
            "ttl must be between 1 ms and {} s",
            MAX_TTL.as_secs()
        )));
    }
    let ms = ttl.as_nanos().div_ceil(1_000_000);
    u64::try_from(ms).map_err(|_| KvError::Invalid("ttl too long".into()))
}

#[cfg(test)]
#[path = "kv_tests.rs"]
mod tests;
