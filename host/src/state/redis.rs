//! The Redis key-value backend, shared by every node: each operation is one Lua script, so the
//! quota check and the usage update are atomic across tasks and servers.
//!
//! # Keys of a namespace `ns`
//!
//! The braces are literal: they are a Redis Cluster hash tag, so a namespace's keys share a
//! slot and one script may touch them all (namespaces cannot contain braces).
//!
//! * `extws:{ns}:kv:KEY` — a plain string holding the value. Keys are never matched as
//!   patterns (no `KEYS`/`SCAN MATCH`), so `*`, `?`, `[`, `:` in `KEY` need no escaping.
//! * `extws:{ns}:usage` — hash `keys`, `bytes`: the namespace's usage.
//! * `extws:{ns}:index` — sorted set of the key names (all score 0), for `list_keys` by
//!   `ZRANGEBYLEX`: sorted, bounded, and only this namespace's keys.
//! * `extws:{ns}:expiry` — sorted set of the key names that have a TTL, scored by their expiry
//!   (Unix ms, from Redis's own `TIME`, so the nodes' clocks do not matter).
//!
//! # TTL
//!
//! Redis's own key expiry is not used: it would drop a value without updating the usage hash.
//! Instead the expiry lives in `extws:{ns}:expiry` and every script, before anything else,
//! deletes up to 100 expired keys of its namespace and gives back their usage; the key the
//! script works on is checked on its own too, so no script ever returns, lists, compares or
//! increments an expired value; and before a write is denied for quota, the script drops *all*
//! expired keys of the namespace and judges again. The cost: an expired value stays in Redis's
//! memory until the next operation on its namespace.
//!
//! # Availability
//!
//! The connection reconnects by itself and bounds every operation ([`Link`]): a dead Redis
//! yields [`KvError::Unavailable`] instead of a hang, and operations succeed again as soon as
//! it is back. Scripts are sent by `EVALSHA` and reloaded when Redis lost them (a
//! restart).

use std::sync::Arc;

use redis::{FromRedisValue, Script};

use super::redis_link::Link;

use super::redis_scripts::{COMPARE_AND_SWAP, DELETE, GET, INCREMENT, LIST, PRELUDE, SET};
use super::types::{KvError, Quota, quota_exceeded};

pub use super::redis_link::OP_TIMEOUT;

/// The scripts, hashed once.
struct Scripts {
    get: Script,
    set: Script,
    delete: Script,
    increment: Script,
    compare_and_swap: Script,
    list: Script,
}

impl Scripts {
    fn new() -> Self {
        let script = |body: &str| Script::new(&format!("{PRELUDE}{body}"));
        Scripts {
            get: script(GET),
            set: script(SET),
            delete: script(DELETE),
            increment: script(INCREMENT),
            compare_and_swap: script(COMPARE_AND_SWAP),
            list: script(LIST),
        }
    }
}

/// The Redis-backed store; cheap to clone (one shared, self-reconnecting connection).
#[derive(Clone)]
pub struct RedisKv {
    link: Link,
    scripts: Arc<Scripts>,
}

impl RedisKv {
    /// Connects to `url` and checks Redis answers; an error if it does not within a few seconds.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(RedisKv {
            link: Link::connect(url).await?,
            scripts: Arc::new(Scripts::new()),
        })
    }

    /// The shared connection (the push history uses it too).
    pub(crate) fn link(&self) -> &Link {
        &self.link
    }

    /// Whether Redis answers a PING (readiness).
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.link.connection();
        let ping = redis::cmd("PING");
        let ping = ping.query_async::<()>(&mut conn);
        self.link.bounded(ping).await.map_err(KvError::Unavailable)
    }

    /// See [`super::KvStore::get`].
    pub async fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let reply = self
            .status(&self.scripts.get, ns, Some(key), &[key.as_bytes()])
            .await?;
        Ok(reply.into_iter().next())
    }

    /// See [`super::KvStore::set`]; `ttl_ms` is already checked.
    pub async fn set(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        quota: Quota,
    ) -> Result<(), KvError> {
        let ttl = ttl_ms.map(|ms| ms.to_string()).unwrap_or_default();
        let (max_k, max_b) = quota_args(quota);
        let args: [&[u8]; 5] = [key.as_bytes(), value, ttl.as_bytes(), &max_k, &max_b];
        self.with_quota(&self.scripts.set, ns, key, &args, quota)
            .await?;
        Ok(())
    }

    /// See [`super::KvStore::delete`].
    pub async fn delete(&self, ns: &str, key: &str) -> Result<bool, KvError> {
        let reply = self
            .status(&self.scripts.delete, ns, Some(key), &[key.as_bytes()])
            .await?;
        Ok(flag(&reply))
    }

    /// See [`super::KvStore::increment`].
    pub async fn increment(
        &self,
        ns: &str,
        key: &str,
        delta: i64,
        quota: Quota,
    ) -> Result<i64, KvError> {
        let delta = delta.to_string();
        let (max_k, max_b) = quota_args(quota);
        let args: [&[u8]; 4] = [key.as_bytes(), delta.as_bytes(), &max_k, &max_b];
        let reply = self
            .with_quota(&self.scripts.increment, ns, key, &args, quota)
            .await?;
        reply
            .first()
            .and_then(|v| std::str::from_utf8(v).ok()?.parse().ok())
            .ok_or_else(|| KvError::Unavailable("redis: malformed increment reply".into()))
    }

    /// See [`super::KvStore::compare_and_swap`].
    /// `ttl_ms` (already checked), if any, replaces the key's TTL on a match.
    pub async fn compare_and_swap(
        &self,
        ns: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: Option<u64>,
        quota: Quota,
    ) -> Result<bool, KvError> {
        let has = if expected.is_some() { b"1" } else { b"0" };
        let (max_k, max_b) = quota_args(quota);
        let ttl = ttl_ms.map(|ms| ms.to_string()).unwrap_or_default();
        let args: [&[u8]; 7] = [
            key.as_bytes(),
            has,
            expected.unwrap_or_default(),
            new,
            &max_k,
            &max_b,
            ttl.as_bytes(),
        ];
        let reply = self
            .with_quota(&self.scripts.compare_and_swap, ns, key, &args, quota)
            .await?;
        Ok(flag(&reply))
    }

    /// See [`super::KvStore::list_keys`]; `limit` is already capped and ≥ 1.
    pub async fn list_keys(
        &self,
        ns: &str,
        prefix: &str,
        limit: usize,
    ) -> Result<Vec<String>, KvError> {
        let limit = limit.to_string();
        let args: [&[u8]; 2] = [prefix.as_bytes(), limit.as_bytes()];
        let names: Vec<Vec<u8>> = self.eval(&self.scripts.list, ns, None, &args).await?;
        names
            .into_iter()
            .map(|n| {
                String::from_utf8(n)
                    .map_err(|_| KvError::Unavailable("redis: key name is not UTF-8".into()))
            })
            .collect()
    }

    /// Runs a write script whose status may be `quota` (→ [`KvError::QuotaExceeded`]).
    async fn with_quota(
        &self,
        script: &Script,
        ns: &str,
        key: &str,
        args: &[&[u8]],
        quota: Quota,
    ) -> Result<Vec<Vec<u8>>, KvError> {
        match self.status(script, ns, Some(key), args).await {
            Err(KvError::QuotaExceeded(which)) => Err(quota_exceeded(which == "keys", quota)),
            other => other,
        }
    }

    /// Runs a script replying `{status, payload...}`; `ok` gives the payload, `quota` and
    /// `invalid` the matching error with the payload as its message.
    async fn status(
        &self,
        script: &Script,
        ns: &str,
        key: Option<&str>,
        args: &[&[u8]],
    ) -> Result<Vec<Vec<u8>>, KvError> {
        let mut reply: Vec<Vec<u8>> = self.eval(script, ns, key, args).await?;
        if reply.is_empty() {
            return Err(KvError::Unavailable("redis: empty script reply".into()));
        }
        let status = reply.remove(0);
        let detail = || String::from_utf8_lossy(reply.first().map_or(&[][..], |d| d)).into_owned();
        match status.as_slice() {
            b"ok" => Ok(reply),
            b"quota" => Err(KvError::QuotaExceeded(detail())),
            b"invalid" => Err(KvError::Invalid(detail())),
            other => Err(KvError::Unavailable(format!(
                "redis: unexpected script status {:?}",
                String::from_utf8_lossy(other)
            ))),
        }
    }

    /// Runs `script` for namespace `ns` (and `key`'s value key, if any), bounded by [`Link`];
    /// `args` are `ARGV[2..]` (`ARGV[1]` is the namespace's value-key prefix).
    async fn eval<T: FromRedisValue>(
        &self,
        script: &Script,
        ns: &str,
        key: Option<&str>,
        args: &[&[u8]],
    ) -> Result<T, KvError> {
        let prefix = format!("extws:{{{ns}}}:kv:");
        let mut inv = script.prepare_invoke();
        inv.key(format!("extws:{{{ns}}}:usage"))
            .key(format!("extws:{{{ns}}}:index"))
            .key(format!("extws:{{{ns}}}:expiry"));
        if let Some(key) = key {
            inv.key(format!("{prefix}{key}"));
        }
        inv.arg(prefix.as_str());
        for arg in args {
            inv.arg(*arg);
        }
        let mut conn = self.link.connection();
        let run = inv.invoke_async(&mut conn);
        self.link.bounded(run).await.map_err(KvError::Unavailable)
    }
}

/// The quota as script arguments (decimal strings).
fn quota_args(quota: Quota) -> (Vec<u8>, Vec<u8>) {
    (
        quota.max_keys.to_string().into_bytes(),
        quota.max_bytes.to_string().into_bytes(),
    )
}

/// A `{'ok', '1'|'0'}` reply's payload as a bool.
fn flag(payload: &[Vec<u8>]) -> bool {
    payload.first().is_some_and(|v| v == b"1")
}

#[cfg(test)]
#[path = "redis_tests.rs"]
mod tests;
