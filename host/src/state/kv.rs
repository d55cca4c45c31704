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

/// Longest key, in bytes.
pub const MAX_KEY_LEN: usize = 512;
/// Largest value, in bytes (1 MiB).
pub const MAX_VALUE_LEN: usize = 1024 * 1024;
/// Most keys one `list_keys` returns; a larger `limit` is capped to this.
pub const MAX_LIST_LIMIT: u32 = 1000;
/// Longest TTL (10 years).
pub const MAX_TTL: Duration = Duration::from_secs(10 * 365 * 24 * 3600);
/// Longest namespace (tenant name), in bytes.
pub const MAX_NS_LEN: usize = 128;

/// Per-tenant quotas.
///
/// `max_keys` bounds the number of live keys of the namespace, `max_bytes` the sum of
/// `key.len() + value.len()` over them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Most live keys the namespace may hold.
    pub max_keys: u64,
    /// Most bytes (keys plus values) the namespace may hold.
    pub max_bytes: u64,
}

impl Quota {
    /// No limit at all (tests and tools).
    pub const UNLIMITED: Quota = Quota {
        max_keys: u64::MAX,
        max_bytes: u64::MAX,
    };
}

/// Why a key-value operation failed; each maps to a WIT error, never a trap.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KvError {
    /// The write would take the namespace over its key or byte quota; nothing was changed.
    #[error("quota exceeded: {0}")]
    QuotaExceeded(String),
    /// The storage could not be reached or failed (Redis down or slow, disk error). For a write
    /// that timed out the outcome is unknown: Redis may still have applied it.
    #[error("key-value store unavailable: {0}")]
    Unavailable(String),
    /// A bad argument (key, value, TTL, namespace) or a stored value `increment` cannot use.
    #[error("invalid key-value request: {0}")]
    Invalid(String),
}

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
        check_ns_key(ns, key)?;
        check_value(&new)?;
        match self {
            KvStore::Embedded(db) => {
                blocking(db, {
                    let (ns, key) = (ns.to_owned(), key.to_owned());
                    move |db| db.compare_and_swap(&ns, &key, expected.as_deref(), &new, quota)
                })
                .await
            }
            KvStore::Redis(r) => {
                r.compare_and_swap(ns, key, expected.as_deref(), &new, quota)
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

/// Checks a namespace: 1..=[`MAX_NS_LEN`] bytes, no `{` or `}` (they delimit it in Redis).
pub(crate) fn check_ns(ns: &str) -> Result<(), KvError> {
    if ns.is_empty() || ns.len() > MAX_NS_LEN || ns.contains(['{', '}']) {
        return Err(KvError::Invalid(format!(
            "namespace must be 1..={MAX_NS_LEN} bytes without braces"
        )));
    }
    Ok(())
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

/// Parses a stored counter: canonical ASCII decimal i64 only (what Redis `INCRBY` accepts).
pub(crate) fn parse_counter(bytes: &[u8]) -> Result<i64, KvError> {
    let not_int = || KvError::Invalid("value is not a decimal 64-bit integer".into());
    let text = std::str::from_utf8(bytes).map_err(|_| not_int())?;
    let n: i64 = text.parse().map_err(|_| not_int())?;
    if n.to_string() != text {
        return Err(not_int());
    }
    Ok(n)
}

/// Whether a change of `d_keys` keys and `d_bytes` bytes to a namespace using `keys` and
/// `bytes` is allowed by `quota`; `Err` names the quota it would exceed. Only growth is judged.
pub(crate) fn check_quota(
    keys: u64,
    bytes: u64,
    d_keys: i64,
    d_bytes: i64,
    quota: Quota,
) -> Result<(), KvError> {
    let after = |cur: u64, d: i64| (i128::from(cur) + i128::from(d)).max(0);
    if d_keys > 0 && after(keys, d_keys) > i128::from(quota.max_keys) {
        return Err(quota_exceeded(true, quota));
    }
    if d_bytes > 0 && after(bytes, d_bytes) > i128::from(quota.max_bytes) {
        return Err(quota_exceeded(false, quota));
    }
    Ok(())
}

/// The error for a write denied by the key quota (`keys`) or the byte quota.
pub(crate) fn quota_exceeded(keys: bool, quota: Quota) -> KvError {
    KvError::QuotaExceeded(if keys {
        format!("namespace would hold more than {} keys", quota.max_keys)
    } else {
        format!("namespace would hold more than {} bytes", quota.max_bytes)
    })
}

#[cfg(test)]
#[path = "kv_tests.rs"]
mod tests;
