//! The bot's [`flood`](super::flood) limits kept in Redis, for every node serving the bot: one
//! Lua script reserves a slot atomically against the messages every node has reserved, on
//! Redis's own clock (so the nodes' clocks do not matter).
//!
//! # Keys of a bot
//!
//! `BOT` is the bot's id (the token's part before `:`, public: it is the bot's user id), or a
//! hash of the token when it has no such part; never the token. The braces are a Redis Cluster
//! hash tag, so one script may touch all the keys of a bot.
//!
//! * `extws:telegram:{BOT}:sent` — sorted set of the reserved send times (µs, Redis `TIME`),
//!   from a [`WINDOW`] ago on; expires a window after its last slot.
//! * `extws:telegram:{BOT}:blocked` — until when a 429's `retry_after` holds every call.
//! * `extws:telegram:{BOT}:chat:CHAT` — when the next message to `CHAT` may go; expires then.
//!
//! # When Redis does not answer
//!
//! Then nobody knows how many messages the bot's other nodes are sending, so nothing is sent:
//! the call is `unavailable` ("not sent") within [`REDIS_TIMEOUT`] or its own deadline,
//! whichever comes first.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use redis::Script;
use redis::aio::ConnectionManager;
use sha2::Digest as _;

use super::flood::{BURST, Chat, WINDOW, seconds_until};

/// Longest a reservation may take in Redis before the call is refused.
pub const REDIS_TIMEOUT: Duration = Duration::from_millis(500);

/// `KEYS`: sent, blocked, [chat]. `ARGV`: `reserve`, message (0/1), can wait (µs), burst,
/// window (µs), chat spacing (µs), a member name unique to this reservation; or `block`,
/// seconds. Replies `{1, wait µs}` (reserved) or `{0, wait µs}` (too far off: nothing kept).
const SCRIPT: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%d', x) end
local function ms(us) return int(math.ceil(us / 1000) + 1) end
if ARGV[1] == 'block' then
  local hold = tonumber(ARGV[2]) * 1000000
  local until_ = now + hold
  if until_ > tonumber(redis.call('GET', KEYS[2]) or '0') then
    redis.call('SET', KEYS[2], int(until_), 'PX', ms(hold))
  end
  return {1, 0}
end
local message = ARGV[2] == '1'
local can_wait = tonumber(ARGV[3])
local burst = tonumber(ARGV[4])
local window = tonumber(ARGV[5])
local spacing = tonumber(ARGV[6])
local at = math.max(now, tonumber(redis.call('GET', KEYS[2]) or '0'))
if message and KEYS[3] then
  at = math.max(at, tonumber(redis.call('GET', KEYS[3]) or '0'))
end
if message then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - window))
  local sent = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. int(at - window), '+inf', 'WITHSCORES')
  local times = {}
  for i = 2, #sent, 2 do times[#times + 1] = tonumber(sent[i]) end
  local function room(x)
    local n = 0
    for _, e in ipairs(times) do
      if e > x - window and e < x + window then n = n + 1 end
    end
    return n < burst
  end
  if not room(at) then
    -- The count only drops when an earlier message leaves the window (times are sorted).
    for _, e in ipairs(times) do
      if e + window > at and room(e + window) then at = e + window; break end
    end
  end
end
if at - now > can_wait then return {0, at - now} end
if message then
  redis.call('ZADD', KEYS[1], int(at), ARGV[7])
  redis.call('PEXPIRE', KEYS[1], ms(at - now + window))
  if KEYS[3] then redis.call('SET', KEYS[3], int(at + spacing), 'PX', ms(at - now + spacing)) end
end
return {1, at - now}
";

/// Why a shared reservation gave no slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The slot is further off than the call can wait: whole seconds to wait.
    Wait(u32),
    /// Redis did not answer in time, or failed: nothing may be sent.
    Unavailable(String),
}

/// One bot's limits in Redis. Cheap to share: one self-reconnecting connection.
pub struct SharedFlood {
    conn: ConnectionManager,
    script: Arc<Script>,
    prefix: String,
    /// Makes reservation names unique across nodes and calls.
    node: u64,
    next: AtomicU64,
}

impl std::fmt::Debug for SharedFlood {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFlood")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl SharedFlood {
    /// The limits of the bot whose token is `token`, kept through `conn`.
    pub fn new(conn: ConnectionManager, token: &str) -> Self {
        let bot = match token.split_once(':') {
            Some((id, _)) if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) => {
                id.to_string()
            }
            _ => {
                let digest = sha2::Sha256::digest(token.as_bytes());
                format!("h{}", hex(&digest[..8]))
            }
        };
        let started = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        Self {
            conn,
            script: Arc::new(Script::new(SCRIPT)),
            prefix: format!("extws:telegram:{{{bot}}}"),
            node: started.as_nanos() as u64 ^ (u64::from(std::process::id()) << 40),
            next: AtomicU64::new(0),
        }
    }

    /// Reserves a slot, as [`super::flood::Flood::reserve`] does, for every node of the bot;
    /// gives up on Redis by `by` at the latest.
    pub async fn reserve(
        &self,
        message: bool,
        chat: Option<&Chat>,
        can_wait: Duration,
        by: Instant,
    ) -> Result<Duration, Refused> {
        let mut inv = self.script.prepare_invoke();
        inv.key(format!("{}:sent", self.prefix))
            .key(format!("{}:blocked", self.prefix));
        if let (true, Some(chat)) = (message, chat) {
            let id = match chat {
                Chat::Private(id) => id.to_string(),
                Chat::Group(name) => name.clone(),
            };
            inv.key(format!("{}:chat:{id}", self.prefix));
        }
        let member = format!(
            "{:x}-{}",
            self.node,
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        let spacing = chat.map_or(Duration::ZERO, Chat::spacing);
        inv.arg("reserve")
            .arg(if message { "1" } else { "0" })
            .arg(can_wait.as_micros() as u64)
            .arg(BURST)
            .arg(WINDOW.as_micros() as u64)
            .arg(spacing.as_micros() as u64)
            .arg(member);
        let (reserved, wait): (i64, i64) = self.run(inv, by).await?;
        let wait = Duration::from_micros(wait.max(0) as u64);
        match reserved {
            1 => Ok(wait),
            _ => Err(Refused::Wait(seconds_until(wait))),
        }
    }

    /// Telegram answered 429: every node holds the bot's calls for `seconds`. In the
    /// background: the caller has its answer already; a failure is logged.
    pub fn block_for(&self, seconds: u32) {
        let (script, mut conn) = (self.script.clone(), self.conn.clone());
        let keys = [
            format!("{}:sent", self.prefix),
            format!("{}:blocked", self.prefix),
        ];
        tokio::spawn(async move {
            let mut inv = script.prepare_invoke();
            inv.key(&keys[0]).key(&keys[1]).arg("block").arg(seconds);
            let run = inv.invoke_async::<(i64, i64)>(&mut conn);
            match tokio::time::timeout(REDIS_TIMEOUT * 2, run).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => tracing::warn!("a Bot API 429 was not shared through Redis: {e}"),
                Err(_) => tracing::warn!("a Bot API 429 was not shared: Redis did not answer"),
            }
        });
    }

    async fn run(
        &self,
        inv: redis::ScriptInvocation<'_>,
        by: Instant,
    ) -> Result<(i64, i64), Refused> {
        let by = by.min(Instant::now() + REDIS_TIMEOUT);
        let mut conn = self.conn.clone();
        match tokio::time::timeout_at(by.into(), inv.invoke_async(&mut conn)).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(e)) => Err(Refused::Unavailable(format!(
                "the bot's flood limits are kept in Redis, which failed: {e}"
            ))),
            Err(_) => Err(Refused::Unavailable(
                "the bot's flood limits are kept in Redis, which did not answer in time".into(),
            )),
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where a bot's limits are kept: in this process, or in Redis for every node.
#[derive(Debug)]
pub enum Limiter {
    /// This node's calls only (no Redis configured).
    Local(super::flood::Flood),
    /// Every node's calls, through Redis.
    Shared(SharedFlood),
}

impl Limiter {
    /// A slot for one call: how long to wait before sending it, when that and the request fit
    /// in `can_wait`; gives up on Redis by `by`.
    pub async fn reserve(
        &self,
        message: bool,
        chat: Option<&Chat>,
        can_wait: Duration,
        by: Instant,
    ) -> Result<Duration, Refused> {
        match self {
            Limiter::Local(flood) => flood
                .reserve(message, chat, can_wait)
                .map_err(Refused::Wait),
            Limiter::Shared(shared) => shared.reserve(message, chat, can_wait, by).await,
        }
    }

    /// Telegram answered 429 with `retry_after`: nothing goes out for that long.
    pub fn block_for(&self, seconds: u32) {
        match self {
            Limiter::Local(flood) => flood.block_for(seconds),
            Limiter::Shared(shared) => shared.block_for(seconds),
        }
    }
}
