//! Guest state: the per-tenant key-value store behind the key-value host import.
//!
//! * [`kv`] — the public contract: [`KvStore`], [`Quota`], [`KvError`] and the limits.
//! * [`embedded`] — the default backend, a durable redb file under `--data-dir`.
//! * [`redis`] — the scale-out backend, shared by every node through one Redis server.

pub mod embedded;
pub mod kv;
pub mod redis;
mod redis_scripts;

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod test_support;

pub use embedded::EmbeddedKv;
pub use kv::{
    KvError, KvStore, MAX_KEY_LEN, MAX_LIST_LIMIT, MAX_NS_LEN, MAX_TTL, MAX_VALUE_LEN, Quota,
};
pub use redis::RedisKv;
