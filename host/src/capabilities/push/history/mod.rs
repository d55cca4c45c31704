//! Push history: a `Seq` for every push a tenant sends to a user, and a bounded log of the
//! recent ones, so that a client that reconnects can get what it missed (see
//! [`crate::capabilities::push::resume`]). One [`HistoryStore`] per server, namespaced by tenant like the
//! key-value store: tenant A's user 42 and tenant B's user 42 have separate sequences.
//!
//! # Contract (the same for both backends)
//!
//! * **Sequence.** [`HistoryStore::append`] assigns the next `Seq` of (tenant, user) and stores
//!   the envelope atomically, then delivers it to the user's connections on every server, in
//!   `Seq` order. A `Seq` is strictly greater than every earlier one of the same (tenant,
//!   user), across nodes and across the history expiring: a fresh history (none yet, or
//!   forgotten after `ttl` without pushes) starts at [`fresh_start`] of the current time,
//!   milliseconds × 1000, which is above any `Seq` of an earlier history as long as no user
//!   gets more than 1000 pushes per millisecond on average. So a stale `Seq` is always
//!   recognisably old (a gap), and a `Seq` above the latest is recognisably bogus.
//! * **Bounds.** At most `size` entries per user (the oldest go first) and none older than
//!   `ttl`; a user's whole history, sequence included, is forgotten `ttl` after its last
//!   push. The embedded store drops forgotten users lazily, a few per append; Redis expires
//!   the keys itself (`PEXPIRE`).
//! * **Durability.** Embedded: an appended entry is committed (fsync) before it is delivered,
//!   so a `Seq` a client saw survives `kill -9`. Redis: what its persistence gives.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod embedded;
pub mod redis_list;

use crate::capabilities::push::{Hub, PushError};
use embedded::EmbeddedHistory;
use redis_list::RedisHistory;

/// How much push history a tenant keeps (`[tenant.push]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    /// Most entries kept per user; 0 turns history off (pushes are best-effort, no `Seq`).
    pub size: u32,
    /// Age after which an entry is dropped; the whole history of a user is forgotten this long
    /// after its last push.
    pub ttl: Duration,
    /// Bytes the tenant's history may hold over all its users (each entry as stored, its
    /// envelope and bookkeeping); an append past it is refused, "quota exceeded".
    pub max_bytes: u64,
}

impl HistoryPolicy {
    /// No history: user pushes are best-effort and carry no `Seq`.
    pub const OFF: HistoryPolicy = HistoryPolicy {
        size: 0,
        ttl: Duration::from_secs(300),
        max_bytes: 0,
    };

    /// Whether history is kept.
    pub fn enabled(&self) -> bool {
        self.size > 0
    }

    pub(super) fn ttl_ms(&self) -> u64 {
        u64::try_from(self.ttl.as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// The default: enough for a phone switching apps (100 messages, 5 minutes).
pub const DEFAULT_HISTORY: HistoryPolicy = HistoryPolicy {
    size: 100,
    ttl: Duration::from_secs(300),
    max_bytes: crate::capabilities::ledger::DEFAULT_HISTORY_MAX_BYTES,
};
/// Largest `history_size`.
pub const MAX_HISTORY_SIZE: u32 = 10_000;
/// Longest `history_ttl` (one day).
pub const MAX_HISTORY_TTL: Duration = Duration::from_secs(24 * 3600);

/// What the history holds for a user after a given `Seq`, read in one consistent snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryRead {
    /// The store's clock (Unix ms) at the read.
    pub now_ms: u64,
    /// The user's latest `Seq`, or `None` when the user has no history (never, or forgotten).
    pub latest: Option<u64>,
    /// The entries after the requested `Seq` still kept, oldest first: (`Seq`, envelope).
    pub entries: Vec<(u64, String)>,
}

/// The first `Seq` of a history started at `now_ms`.
pub fn fresh_start(now_ms: u64) -> u64 {
    now_ms.saturating_mul(1000)
}

/// The envelope `{"Type":..,"Data":..,"Seq":seq}` from its `head` (the envelope without its
/// closing brace).
pub fn sequenced(head: &str, seq: u64) -> String {
    format!(r#"{head},"Seq":{seq}}}"#)
}

/// The push history of a server: embedded (redb, delivering to this server's hub) or Redis
/// (publishing to every server). Cheap to clone.
#[derive(Clone)]
pub enum HistoryStore {
    /// In the embedded store's redb file.
    Embedded(Arc<EmbeddedHistory>),
    /// In Redis, shared by every node.
    Redis(RedisHistory),
}

impl HistoryStore {
    /// Appends the push `head` (an envelope without its closing brace) to `tenant`'s `user`,
    /// delivers it with its new `Seq` and returns the `Seq`.
    pub async fn append(
        &self,
        tenant: &str,
        user: i64,
        head: String,
        policy: HistoryPolicy,
    ) -> Result<u64, PushError> {
        if !policy.enabled() {
            return Err(PushError::Invalid(
                "push history is off for this tenant".into(),
            ));
        }
        match self {
            Self::Embedded(h) => h.append(tenant, user, head, policy).await,
            Self::Redis(h) => h.append(tenant, user, &head, policy).await,
        }
    }

    /// What `tenant`'s `user` has after `after`, within `policy`'s bounds.
    pub async fn read(
        &self,
        tenant: &str,
        user: i64,
        after: u64,
        policy: HistoryPolicy,
    ) -> Result<HistoryRead, PushError> {
        match self {
            Self::Embedded(h) => h.read(tenant, user, after, policy).await,
            Self::Redis(h) => h.read(tenant, user, after, policy).await,
        }
    }

    /// (users with a history, entries kept) over every tenant: for tools and benchmarks.
    pub async fn usage(&self) -> Result<(u64, u64), PushError> {
        match self {
            Self::Embedded(h) => {
                let h = h.clone();
                tokio::task::spawn_blocking(move || h.usage())
                    .await
                    .map_err(|e| PushError::Unavailable(e.to_string()))?
                    .map_err(|e| PushError::Unavailable(e.to_string()))
            }
            Self::Redis(h) => h.usage().await,
        }
    }

    /// The embedded history in `kv`'s database, delivering to `hub`.
    pub fn embedded(kv: &Arc<crate::state::EmbeddedKv>, hub: Arc<Hub>) -> anyhow::Result<Self> {
        Ok(Self::Embedded(Arc::new(EmbeddedHistory::new(
            kv.clone(),
            hub,
        )?)))
    }

    /// The Redis history over `kv`'s connection.
    pub fn redis(kv: &crate::state::RedisKv) -> Self {
        Self::Redis(RedisHistory::new(kv))
    }
}

/// Unix time in ms.
pub(super) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequenced_envelopes_end_with_their_seq() {
        let head = crate::envelope::reply("Notice", r#"{"a":1}"#, None);
        let head = head.strip_suffix('}').unwrap();
        assert_eq!(
            sequenced(head, 42),
            r#"{"Type":"Notice","Data":{"a":1},"Seq":42}"#
        );
        assert!(fresh_start(now_ms()) < 9_007_199_254_740_992, "JS-safe");
    }
}

#[cfg(test)]
mod backend_tests;
