//! The Lua scripts of the Redis key-value backend, one per operation, each prefixed with
//! [`PRELUDE`]. Every script runs atomically in Redis: it reads the namespace's usage, drops
//! expired keys, judges the quota and writes, with no other client in between.
//!
//! Replies are arrays of strings: `{'ok', payload...}`, `{'quota', 'keys'|'bytes'}` or
//! `{'invalid', message}`; `LIST` replies with the key names alone.

/// Shared by every script. `KEYS[1..3]` = usage, index, expiry; `ARGV[1]` = the `…:kv:`
/// prefix.
pub(super) const PRELUDE: &str = r#"
local usage, index, expiry, pfx = KEYS[1], KEYS[2], KEYS[3], ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function drop(k)
  local full = pfx .. k
  local len = redis.call('STRLEN', full)
  local existed = redis.call('DEL', full) == 1
  redis.call('ZREM', index, k)
  redis.call('ZREM', expiry, k)
  if existed then
    redis.call('HINCRBY', usage, 'keys', -1)
    redis.call('HINCRBY', usage, 'bytes', -(#k + len))
  end
  return existed
end
local function purge(max)
  local dead
  if max then
    dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', now, 'LIMIT', 0, max)
  else
    dead = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  end
  for i = 1, #dead do drop(dead[i]) end
end
local function is_expired(k)
  local s = redis.call('ZSCORE', expiry, k)
  return s and tonumber(s) <= now
end
local function drop_if_expired(k)
  if is_expired(k) then drop(k) end
end
local function judge(dk, db, maxk, maxb)
  local k = tonumber(redis.call('HGET', usage, 'keys') or '0')
  local b = tonumber(redis.call('HGET', usage, 'bytes') or '0')
  if dk > 0 and k + dk > maxk then return 'keys' end
  if db > 0 and b + db > maxb then return 'bytes' end
  return nil
end
local function over(dk, db, maxk, maxb)
  if judge(dk, db, maxk, maxb) == nil then return nil end
  purge(nil)
  return judge(dk, db, maxk, maxb)
end
local function account(k, dk, db)
  redis.call('ZADD', index, 0, k)
  if dk ~= 0 then redis.call('HINCRBY', usage, 'keys', dk) end
  if db ~= 0 then redis.call('HINCRBY', usage, 'bytes', db) end
end
purge(100)
"#;

/// `KEYS[4]` = the value's key; `ARGV[2]` = key.
pub(super) const GET: &str = r#"
drop_if_expired(ARGV[2])
local v = redis.call('GET', KEYS[4])
if v then return {'ok', v} end
return {'ok'}
"#;

/// `ARGV[3]` = value, `ARGV[4]` = TTL in ms or '', `ARGV[5..6]` = quota.
pub(super) const SET: &str = r#"
local k, v, data = ARGV[2], ARGV[3], KEYS[4]
drop_if_expired(k)
local dk, db = 1, #k + #v
if redis.call('EXISTS', data) == 1 then dk, db = 0, #v - redis.call('STRLEN', data) end
local o = over(dk, db, tonumber(ARGV[5]), tonumber(ARGV[6]))
if o then return {'quota', o} end
redis.call('SET', data, v)
if ARGV[4] == '' then
  redis.call('ZREM', expiry, k)
else
  redis.call('ZADD', expiry, now + tonumber(ARGV[4]), k)
end
account(k, dk, db)
return {'ok'}
"#;

pub(super) const DELETE: &str = r#"
drop_if_expired(ARGV[2])
if drop(ARGV[2]) then return {'ok', '1'} end
return {'ok', '0'}
"#;

/// `ARGV[3]` = delta, `ARGV[4..5]` = quota. `INCRBY` does the exact i64 arithmetic (Lua numbers
/// are doubles) and rejects what is not a canonical decimal i64, or an overflow.
pub(super) const INCREMENT: &str = r#"
local k, data = ARGV[2], KEYS[4]
drop_if_expired(k)
local old = redis.call('GET', data)
local r = redis.pcall('INCRBY', data, ARGV[3])
if type(r) == 'table' and r.err then return {'invalid', r.err} end
local new = redis.call('GET', data)
local dk, db = 1, #k + #new
if old then dk, db = 0, #new - #old end
local o = over(dk, db, tonumber(ARGV[4]), tonumber(ARGV[5]))
if o then
  if old then redis.call('SET', data, old) else redis.call('DEL', data) end
  return {'quota', o}
end
account(k, dk, db)
return {'ok', new}
"#;

/// `ARGV[3]` = '1' if an expected value is given, `ARGV[4]` = it, `ARGV[5]` = new,
/// `ARGV[6..7]` = quota, `ARGV[8]` = the TTL in ms to set on a match ('': keep the key's).
pub(super) const COMPARE_AND_SWAP: &str = r#"
local k, data, v = ARGV[2], KEYS[4], ARGV[5]
drop_if_expired(k)
local cur = redis.call('GET', data)
if ARGV[3] == '0' then
  if cur then return {'ok', '0'} end
elseif (not cur) or cur ~= ARGV[4] then
  return {'ok', '0'}
end
local dk, db = 1, #k + #v
if cur then dk, db = 0, #v - #cur end
local o = over(dk, db, tonumber(ARGV[6]), tonumber(ARGV[7]))
if o then return {'quota', o} end
redis.call('SET', data, v)
if ARGV[8] ~= '' then redis.call('ZADD', expiry, now + tonumber(ARGV[8]), k) end
account(k, dk, db)
return {'ok', '1'}
"#;

/// `ARGV[2]` = prefix, `ARGV[3]` = limit (≥ 1). Returns the key names, not a status.
pub(super) const LIST: &str = r#"
local prefix, limit = ARGV[2], tonumber(ARGV[3])
local out = {}
local start = '-'
if prefix ~= '' then start = '[' .. prefix end
local off = 0
while true do
  local batch = redis.call('ZRANGEBYLEX', index, start, '+', 'LIMIT', off, limit)
  for i = 1, #batch do
    local m = batch[i]
    if string.sub(m, 1, #prefix) ~= prefix then return out end
    if not is_expired(m) then
      out[#out + 1] = m
      if #out >= limit then return out end
    end
  end
  if #batch < limit then return out end
  off = off + #batch
end
"#;
