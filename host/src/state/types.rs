//! The shared vocabulary of the key-value store and its backends: [`Quota`], [`KvError`], the
//! size limits, and the checks every backend applies the same way.

use std::time::Duration;

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

/// Checks a namespace: 1..=[`MAX_NS_LEN`] bytes, no `{` or `}` (they delimit it in Redis).
pub(crate) fn check_ns(ns: &str) -> Result<(), KvError> {
    if ns.is_empty() || ns.len() > MAX_NS_LEN || ns.contains(['{', '}']) {
        return Err(KvError::Invalid(format!(
            "namespace must be 1..={MAX_NS_LEN} bytes without braces"
        )));
    }
    Ok(())
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
