//! The tenant's key-value store (`kv` import) with JSON values. Keys are the tenant's own;
//! other tenants never see them.

use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Result;
use crate::bindings::extws::handler::kv;

/// The value at `key` as `T`, or `None` when absent (or expired).
pub fn get<T: DeserializeOwned>(key: &str) -> Result<Option<T>> {
    match kv::get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// Stores `value` as JSON at `key`; with `ttl` it disappears after that long.
pub fn set<T: Serialize + ?Sized>(key: &str, value: &T, ttl: Option<Duration>) -> Result<()> {
    let bytes = serde_json::to_vec(value)?;
    let ttl_ms = ttl.map(|t| t.as_millis().clamp(1, u64::MAX.into()) as u64);
    Ok(kv::set(key, &bytes, ttl_ms)?)
}

/// Removes `key`; `true` if it was there.
pub fn delete(key: &str) -> Result<bool> {
    Ok(kv::delete(key)?)
}

/// Adds `delta` to the counter at `key` (absent counts as 0) and returns the new value.
pub fn increment(key: &str, delta: i64) -> Result<i64> {
    Ok(kv::increment(key, delta)?)
}

/// Stores `new` at `key` only if its value is `expected` (`None`: only if absent), compared as
/// JSON text; `true` if it did. Read `expected` with [`get_raw`] to compare exactly.
pub fn compare_and_swap<T: Serialize + ?Sized>(
    key: &str,
    expected: Option<&[u8]>,
    new: &T,
) -> Result<bool> {
    let bytes = serde_json::to_vec(new)?;
    Ok(kv::compare_and_swap(key, expected, &bytes)?)
}

/// The stored bytes at `key` (for [`compare_and_swap`]).
pub fn get_raw(key: &str) -> Result<Option<Vec<u8>>> {
    Ok(kv::get(key)?)
}

/// Up to `limit` keys starting with `prefix`, in byte order.
pub fn list_keys(prefix: &str, limit: u32) -> Result<Vec<String>> {
    Ok(kv::list_keys(prefix, limit)?)
}
