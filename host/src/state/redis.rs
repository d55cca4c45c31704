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
//! A [`ConnectionManager`] reconnects by itself ([`manager`]); every operation is bounded by [`OP_TIMEOUT`],
//! so a dead Redis yields [`KvError::Unavailable`] instead of a hang, and operations succeed
//! again once it is back. Scripts are sent by `EVALSHA` and reloaded when Redis lost them (a
//! restart).

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{FromRedisValue, IntoConnectionInfo as _, ProtocolVersion, Script};

use super::redis_scripts::{COMPARE_AND_SWAP, DELETE, GET, INCREMENT, LIST, PRELUDE, SET};
use super::types::{KvError, Quota, quota_exceeded};

/// Longest any one operation may take, connecting included.
pub const OP_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest the first connection at startup may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest pause between two attempts to reconnect to a Redis that went away.
const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(500);

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
    conn: ConnectionManager,
    scripts: Arc<Scripts>,
}

impl RedisKv {
    /// Connects to `url` and checks Redis answers; an error if it does not within a few seconds.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Ok(RedisKv {
            conn: manager(url).await?,
            scripts: Arc::new(Scripts::new()),
        })
    }

    /// The shared connection (the push history uses it too).
    pub(crate) fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Whether Redis answers a PING (readiness).
    pub async fn ping(&self) -> Result<(), KvError> {
        let mut conn = self.conn.clone();
        redis::cmd("PING")
            .query_async::<()>(&mut conn)
            .await
            .map_err(|e| KvError::Unavailable(e.to_string()))
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

    /// Runs `script` for namespace `ns` (and `key`'s value key, if any) within [`OP_TIMEOUT`];
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
        let mut conn = self.conn.clone();
        match tokio::time::timeout(OP_TIMEOUT, inv.invoke_async(&mut conn)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(KvError::Unavailable(format!("redis: {e}"))),
            Err(_) => Err(KvError::Unavailable(format!(
                "redis did not answer within {OP_TIMEOUT:?}"
            ))),
        }
    }
}

/// A connection to `url` that reconnects by itself the moment Redis drops it (RESP3: the
/// connection is told of the disconnect, instead of learning it from the next request, which
/// would fail), retrying without end at most [`RECONNECT_MAX_DELAY`] apart, so the first
/// request after Redis comes back succeeds. A request made while Redis is away waits for the
/// reconnection within its own timeout. Checks Redis answers now; an error if it does not
/// within a few seconds. Every Redis client of the server is made here (needs Redis ≥ 6).
pub(crate) async fn manager(url: &str) -> anyhow::Result<ConnectionManager> {
    let info = url
        .into_connection_info()
        .with_context(|| format!("bad Redis URL {url}"))?;
    let resp3 = info
        .redis_settings()
        .clone()
        .set_protocol(ProtocolVersion::RESP3);
    let client = redis::Client::open(info.set_redis_settings(resp3))
        .with_context(|| format!("bad Redis URL {url}"))?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(OP_TIMEOUT))
        .set_response_timeout(Some(OP_TIMEOUT))
        .set_number_of_retries(usize::MAX)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(RECONNECT_MAX_DELAY);
    let connect = async {
        let mut conn = ConnectionManager::new_with_config(client, config).await?;
        redis::cmd("PING").query_async::<()>(&mut conn).await?;
        Ok::<_, redis::RedisError>(conn)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| anyhow::anyhow!("Redis at {url} did not answer within {CONNECT_TIMEOUT:?}"))?
        .with_context(|| format!("connecting to Redis at {url}"))
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
