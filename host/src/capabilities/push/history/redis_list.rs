//! The Redis push history, shared by every node (see [`super`] for the contract).
//!
//! Keys of (tenant `ns`, user `id`), in the tenant's hash-tag slot like its key-value keys:
//!
//! * `extws:{ns}:pseq:ID` — the user's latest `Seq` (a string `INCR` counts up).
//! * `extws:{ns}:plog:ID` — a list of the kept pushes, oldest first, each `SEQ:MS:ENVELOPE`
//!   (`MS`: Unix ms by Redis's own clock); trimmed to `size` by `LTRIM` and by age on every
//!   append. A list, not a stream: a stream costs ~4.7 KB for two entries (it preallocates a
//!   4 KB node), a list ~0.4 KB, which is what 10,000 barely-used histories are made of.
//!
//! The tenant's bytes, for its quota (`history_max_bytes`): `extws:{ns}:pbytes` (a hash, user
//! → bytes of its list), `extws:{ns}:pexp` (a sorted set, user → when its keys expire) and
//! `extws:{ns}:ptotal` (their sum). An append gives back the bytes of users whose keys Redis
//! has expired (a few per append), counts what it adds and trims, and is refused, changing
//! nothing, when the tenant would be over its quota.
//!
//! Every key gets `PEXPIRE ttl` on every append, so 10,000 idle users leave nothing behind once
//! the TTL has passed. One script assigns the `Seq`, stores the entry and `PUBLISH`es it: Redis
//! runs it atomically, so `Seq`s are unique across nodes and every node's subscriber receives
//! a user's pushes in `Seq` order.

use std::sync::Arc;

use redis::Script;

use super::{HistoryPolicy, HistoryRead};
use crate::capabilities::push::{PushError, sequenced_channel};
use crate::state::RedisKv;
use crate::state::redis_link::Link;

/// `KEYS[1]` = seq, `KEYS[2]` = log, `KEYS[3..5]` = the tenant's pbytes, pexp, ptotal;
/// `ARGV[1]` = size, `ARGV[2]` = TTL (ms), `ARGV[3]` = the envelope without its closing brace,
/// `ARGV[4]` = the channel, `ARGV[5]` = the quota (bytes), `ARGV[6]` = the user. Returns the
/// `Seq`, or `Q:HELD:NEEDED` when the quota refuses (nothing changed).
const APPEND: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local size, ttl, user = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[6]
local total = tonumber(redis.call('GET', KEYS[5]) or '0')
local function bytes_of(u) return tonumber(redis.call('HGET', KEYS[3], u) or '0') end
for _, u in ipairs(redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', '(' .. string.format('%.0f', now), 'LIMIT', 0, 16)) do
  if u ~= user then
    total = total - bytes_of(u)
    redis.call('HDEL', KEYS[3], u)
    redis.call('ZREM', KEYS[4], u)
  end
end
local function lengths(from, to)
  local n = 0
  for _, e in ipairs(redis.call('LRANGE', KEYS[2], from, to)) do n = n + #e end
  return n
end
local exists = redis.call('EXISTS', KEYS[1]) == 1
local freed = bytes_of(user)
if exists then
  local over = redis.call('LLEN', KEYS[2]) + 1 - size
  freed = over > 0 and lengths(0, over - 1) or 0
end
local needed = #ARGV[3] + 64
local held = math.max(total - freed, 0)
if held + needed > tonumber(ARGV[5]) then
  redis.call('SET', KEYS[5], string.format('%.0f', math.max(total, 0)), 'KEEPTTL')
  return 'Q:' .. string.format('%.0f', held) .. ':' .. needed
end
local seq
local mine = bytes_of(user)
if exists then
  seq = redis.call('INCR', KEYS[1])
else
  redis.call('DEL', KEYS[2])
  total = total - mine
  mine = 0
  seq = now * 1000
  redis.call('SET', KEYS[1], string.format('%.0f', seq))
end
local s = string.format('%.0f', seq)
local env = ARGV[3] .. ',"Seq":' .. s .. '}'
local entry = s .. ':' .. string.format('%.0f', now) .. ':' .. env
redis.call('RPUSH', KEYS[2], entry)
local dropped = 0
local over = redis.call('LLEN', KEYS[2]) - size
if over > 0 then
  dropped = lengths(0, over - 1)
  redis.call('LTRIM', KEYS[2], -size, -1)
end
while true do
  local first = redis.call('LINDEX', KEYS[2], 0)
  if tonumber(string.match(first, '^%d+:(%d+):')) + ttl > now then break end
  dropped = dropped + #redis.call('LPOP', KEYS[2])
end
mine = mine + #entry - dropped
total = math.max(total + #entry - dropped, 0)
redis.call('HSET', KEYS[3], user, string.format('%.0f', mine))
redis.call('ZADD', KEYS[4], now + ttl, user)
redis.call('SET', KEYS[5], string.format('%.0f', total))
for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
redis.call('PUBLISH', ARGV[4], s .. ':' .. env)
return s
"#;

/// `KEYS` as [`APPEND`]; `ARGV[1]` = the first `Seq` wanted, `ARGV[2]` = TTL (ms). Returns
/// `{now, latest or nothing, seq1, envelope1, ...}`.
const READ: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {string.format('%.0f', now)}
local latest = redis.call('GET', KEYS[1])
if not latest then return out end
out[2] = latest
local ttl, from = tonumber(ARGV[2]), tonumber(ARGV[1])
for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local seq, ts, env = string.match(e, '^(%d+):(%d+):(.*)$')
  if tonumber(seq) >= from and tonumber(ts) + ttl > now then
    out[#out + 1] = seq
    out[#out + 1] = env
  end
end
return out
"#;

/// The Redis history; cheap to clone.
#[derive(Clone)]
pub struct RedisHistory {
    link: Link,
    scripts: Arc<(Script, Script)>,
}

impl RedisHistory {
    /// Over `kv`'s connection.
    pub fn new(kv: &RedisKv) -> Self {
        Self {
            link: kv.link().clone(),
            scripts: Arc::new((Script::new(APPEND), Script::new(READ))),
        }
    }

    /// See [`super::HistoryStore::append`].
    pub async fn append(
        &self,
        tenant: &str,
        user: i64,
        head: &str,
        policy: HistoryPolicy,
    ) -> Result<u64, PushError> {
        let mut inv = self.scripts.0.prepare_invoke();
        keys(&mut inv, tenant, user);
        for key in ["pbytes", "pexp", "ptotal"] {
            inv.key(format!("extws:{{{tenant}}}:{key}"));
        }
        inv.arg(policy.size)
            .arg(policy.ttl_ms())
            .arg(head)
            .arg(sequenced_channel(tenant, user))
            .arg(policy.max_bytes)
            .arg(user);
        let seq: String = self.run(inv).await?;
        if let Some(refused) = seq.strip_prefix("Q:") {
            let (held, needed) = refused.split_once(':').unwrap_or((refused, "?"));
            return Err(PushError::Invalid(format!(
                "push history quota exceeded: the tenant's history holds {held} bytes, this \
                 push needs {needed} and the limit is {} (history_max_bytes); older pushes \
                 expire after history_ttl",
                policy.max_bytes
            )));
        }
        seq.parse()
            .map_err(|_| PushError::Unavailable(format!("redis: bad Seq {seq:?}")))
    }

    /// See [`super::HistoryStore::read`].
    pub async fn read(
        &self,
        tenant: &str,
        user: i64,
        after: u64,
        policy: HistoryPolicy,
    ) -> Result<HistoryRead, PushError> {
        let mut inv = self.scripts.1.prepare_invoke();
        keys(&mut inv, tenant, user);
        inv.arg(after.saturating_add(1).to_string())
            .arg(policy.ttl_ms());
        let reply: Vec<String> = self.run(inv).await?;
        let bad = || PushError::Unavailable("redis: malformed history reply".into());
        let number = |s: &String| s.parse::<u64>().map_err(|_| bad());
        let mut items = reply.iter();
        let now_ms = number(items.next().ok_or_else(bad)?)?;
        let latest = items.next().map(number).transpose()?;
        let mut entries = Vec::new();
        while let (Some(seq), Some(envelope)) = (items.next(), items.next()) {
            entries.push((number(seq)?, envelope.clone()));
        }
        Ok(HistoryRead {
            now_ms,
            latest,
            entries,
        })
    }

    /// Users with a history and entries kept, over every tenant (a `SCAN`: for tools and
    /// benchmarks, not for serving).
    pub async fn usage(&self) -> Result<(u64, u64), PushError> {
        let unavailable = PushError::Unavailable;
        let mut conn = self.link.connection();
        let (mut cursor, mut users, mut entries) = (0u64, 0u64, 0u64);
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg("extws:*:plog:*")
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self
                .link
                .bounded(scan.query_async(&mut conn))
                .await
                .map_err(unavailable)?;
            for key in keys {
                let mut llen = redis::cmd("LLEN");
                llen.arg(&key);
                let len: u64 = self
                    .link
                    .bounded(llen.query_async(&mut conn))
                    .await
                    .map_err(unavailable)?;
                users += 1;
                entries += len;
            }
            if next == 0 {
                return Ok((users, entries));
            }
            cursor = next;
        }
    }

    async fn run<T: redis::FromRedisValue>(
        &self,
        inv: redis::ScriptInvocation<'_>,
    ) -> Result<T, PushError> {
        let mut conn = self.link.connection();
        let run = inv.invoke_async(&mut conn);
        self.link.bounded(run).await.map_err(PushError::Unavailable)
    }
}

/// `extws:{ns}:pseq:ID` and `extws:{ns}:plog:ID`.
fn keys(inv: &mut redis::ScriptInvocation<'_>, tenant: &str, user: i64) {
    inv.key(format!("extws:{{{tenant}}}:pseq:{user}"))
        .key(format!("extws:{{{tenant}}}:plog:{user}"));
}
