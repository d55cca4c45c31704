//! The key-value store's backends (embedded redb, Redis), shared by every tenant, each
//! reaching only its own namespace; [`crate::capabilities::services`] opens them.
//!
//! * [`kv`] — the public contract: [`KvStore`] and its operations.
//! * [`types`] — [`Quota`], [`KvError`], the limits and the checks both backends share.
//! * [`embedded`] — the default backend, a durable redb file under `--data-dir`, reopened
//!   after an I/O error (`reopen`).
//! * [`redis`] — the scale-out backend, shared by every node through one Redis server.
//! * [`redis_link`] — every connection to Redis: reconnecting at once, bounded.
//! * [`lease`] — claims with an owner and an expiry on either backend (exactly-once work).

pub mod embedded;
pub mod kv;
pub mod lease;
pub mod redis;
pub mod redis_link;
mod redis_scripts;
pub(crate) mod reopen;
pub mod types;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
pub(crate) mod test_support;

pub use embedded::EmbeddedKv;
pub use kv::{
    KvError, KvStore, MAX_KEY_LEN, MAX_LIST_LIMIT, MAX_NS_LEN, MAX_TTL, MAX_VALUE_LEN, Quota,
};
pub use redis::RedisKv;
