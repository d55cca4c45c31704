//! The embedded key-value backend: one redb file, `DATA_DIR/kv.redb`, used by this process only.
//!
//! Every write is one redb write transaction (redb allows one at a time) that reads the
//! namespace's usage row, drops expired keys, checks the quota, changes the key and the usage
//! row, and commits with redb's default immediate durability (fsync) before returning. So
//! usage is exact under concurrency and an acknowledged write survives `kill -9`.
//!
//! Tables: `kv` maps (namespace, key) to an 8-byte little-endian expiry (Unix ms, 0 = none)
//! followed by the value; `kv_expiry` indexes (namespace, expiry, key) for the keys that have a
//! TTL, so a write finds the expired keys of its namespace without a scan; `kv_usage` maps a
//! namespace to its (keys, bytes). Expiry is lazy: reads skip expired keys, writes delete them.
//! All methods block: [`super::KvStore`] runs them on tokio's blocking pool.
//!
//! After an I/O error (a full disk, above all) redb refuses every later operation until the
//! database is reopened; so the handle is dropped and the next operation reopens the file (at
//! most every [`super::reopen::REOPEN_BACKOFF`]; redb repairs it if needed). Until then operations fail with
//! [`KvError::Unavailable`]; a write that failed was not committed, the ones before it are
//! intact, and writes work again without a restart once the disk has room.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use redb::{Database, ReadableDatabase, ReadableTable, Table, TableDefinition, WriteTransaction};

use super::reopen::{Failure, Reopening, storage};
use super::types::{KvError, Quota, check_quota, parse_counter};

const KV: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("kv");
const EXPIRY: TableDefinition<(&str, u64, &str), ()> = TableDefinition::new("kv_expiry");
const USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("kv_usage");

/// Expired keys a write drops before its own change (all of them when it would be denied).
const PURGE_BATCH: usize = 100;

/// The redb-backed store; see the module docs for the layout.
pub struct EmbeddedKv {
    db: Reopening,
}

impl EmbeddedKv {
    /// Opens `dir/kv.redb`, creating the directory, the file and the tables if needed. A file
    /// left by a crash is repaired by redb on open.
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("kv.redb");
        let db = Reopening::open(path.clone(), open_db)
            .with_context(|| format!("opening key-value store {}", path.display()))?;
        Ok(EmbeddedKv { db })
    }

    /// The database (the push history keeps its tables in the same file).
    pub(crate) fn db(&self) -> &Reopening {
        &self.db
    }

    /// See [`super::KvStore::get`].
    pub fn get(&self, ns: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.db.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let kv = txn.open_table(KV).map_err(storage)?;
            let Some(row) = kv.get((ns, key)).map_err(storage)? else {
                return Ok(None);
            };
            let (expiry, value) = decode(row.value());
            Ok((!expired(expiry, now_ms())).then(|| value.to_vec()))
        })
    }

    /// See [`super::KvStore::list_keys`].
    pub fn list_keys(&self, ns: &str, prefix: &str, limit: usize) -> Result<Vec<String>, KvError> {
        self.db.with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let kv = txn.open_table(KV).map_err(storage)?;
            let now = now_ms();
            let mut keys = Vec::new();
            for row in kv.range((ns, prefix)..).map_err(storage)? {
                let (k, v) = row.map_err(storage)?;
                let (row_ns, key) = k.value();
                if row_ns != ns || !key.starts_with(prefix) || keys.len() >= limit {
                    break;
                }
                if !expired(decode(v.value()).0, now) {
                    keys.push(key.to_owned());
                }
            }
            Ok(keys)
        })
    }

    /// See [`super::KvStore::set`]; `ttl_ms` is already checked.
    pub fn set(
        &self,
        ns: &str,
        key: &str,
        value: &[u8],
        ttl_ms: Option<u64>,
        quota: Quota,
    ) -> Result<(), KvError> {
        self.write(ns, |w| {
            w.drop_if_expired(key)?;
            let expiry = ttl_ms.map_or(0, |ttl| w.now.saturating_add(ttl));
            w.put(key, value, expiry, quota)
        })
    }

    /// See [`super::KvStore::delete`].
    pub fn delete(&self, ns: &str, key: &str) -> Result<bool, KvError> {
        self.write(ns, |w| {
            w.drop_if_expired(key)?;
            w.remove(key)
        })
    }

    /// See [`super::KvStore::increment`].
    pub fn increment(&self, ns: &str, key: &str, delta: i64, quota: Quota) -> Result<i64, KvError> {
        self.write(ns, |w| {
            w.drop_if_expired(key)?;
            let (expiry, current) = match w.read(key)? {
                Some((expiry, value)) => (expiry, parse_counter(&value)?),
                None => (0, 0),
            };
            let next = current
                .checked_add(delta)
                .ok_or_else(|| KvError::Invalid("increment would overflow i64".into()))?;
            w.put(key, next.to_string().as_bytes(), expiry, quota)?;
            Ok(next)
        })
    }

    /// See [`super::KvStore::compare_and_swap`].
    pub fn compare_and_swap(
        &self,
        ns: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        quota: Quota,
    ) -> Result<bool, KvError> {
        self.compare_and_swap_ttl(ns, key, expected, new, None, quota)
    }

    /// [`Self::compare_and_swap`] that, on a match, also sets the TTL to `ttl_ms` (already
    /// checked) in the same transaction; `None` keeps the key's TTL.
    pub fn compare_and_swap_ttl(
        &self,
        ns: &str,
        key: &str,
        expected: Option<&[u8]>,
        new: &[u8],
        ttl_ms: Option<u64>,
        quota: Quota,
    ) -> Result<bool, KvError> {
        self.write(ns, |w| {
            w.drop_if_expired(key)?;
            let current = w.read(key)?;
            let expiry = match (current, expected) {
                (None, None) => 0,
                (Some((expiry, value)), Some(expected)) if value == expected => expiry,
                _ => return Ok(false),
            };
            let expiry = ttl_ms.map_or(expiry, |ttl| w.now.saturating_add(ttl));
            w.put(key, new, expiry, quota)?;
            Ok(true)
        })
    }

    /// Runs `op` in one write transaction on namespace `ns` and commits it durably. A quota
    /// denial still commits the expired keys dropped on the way (nothing visible changes); any
    /// other error aborts the transaction (dropping it uncommitted).
    fn write<T>(
        &self,
        ns: &str,
        op: impl FnOnce(&mut Writer<'_>) -> Result<T, Failure>,
    ) -> Result<T, KvError> {
        self.db.with_db(|db| {
            let txn = db.begin_write().map_err(storage)?;
            let result = {
                let mut w = Writer::new(&txn, ns)?;
                w.purge(PURGE_BATCH)?;
                let result = op(&mut w);
                match result {
                    Ok(_) | Err(Failure::Kv(KvError::QuotaExceeded(_))) => w.save_usage()?,
                    Err(_) => return result,
                }
                result
            };
            txn.commit().map_err(storage)?;
            result
        })
    }
}

/// The tables of one write transaction on one namespace, with its usage kept in memory.
struct Writer<'t> {
    kv: Table<'t, (&'static str, &'static str), &'static [u8]>,
    exp: Table<'t, (&'static str, u64, &'static str), ()>,
    usage: Table<'t, &'static str, (u64, u64)>,
    ns: &'t str,
    now: u64,
    keys: u64,
    bytes: u64,
}

impl<'t> Writer<'t> {
    fn new(txn: &'t WriteTransaction, ns: &'t str) -> Result<Self, Failure> {
        let usage = txn.open_table(USAGE).map_err(storage)?;
        let (keys, bytes) = usage
            .get(ns)
            .map_err(storage)?
            .map_or((0, 0), |g| g.value());
        Ok(Writer {
            kv: txn.open_table(KV).map_err(storage)?,
            exp: txn.open_table(EXPIRY).map_err(storage)?,
            usage,
            ns,
            now: now_ms(),
            keys,
            bytes,
        })
    }

    /// The live value of `key` with its expiry, if any.
    fn read(&self, key: &str) -> Result<Option<(u64, Vec<u8>)>, Failure> {
        let row = self.kv.get((self.ns, key)).map_err(storage)?;
        Ok(row.map(|row| {
            let (expiry, value) = decode(row.value());
            (expiry, value.to_vec())
        }))
    }

    /// Drops `key` if it has expired.
    fn drop_if_expired(&mut self, key: &str) -> Result<(), Failure> {
        let expiry = self
            .kv
            .get((self.ns, key))
            .map_err(storage)?
            .map(|row| decode(row.value()).0);
        if expiry.is_some_and(|e| expired(e, self.now)) {
            self.remove(key)?;
        }
        Ok(())
    }

    /// Drops up to `max` expired keys of the namespace; how many it dropped.
    fn purge(&mut self, max: usize) -> Result<usize, Failure> {
        let mut dead = Vec::new();
        let range = (self.ns, 1u64, "")..(self.ns, self.now.saturating_add(1), "");
        for row in self.exp.range(range).map_err(storage)?.take(max) {
            let (k, _) = row.map_err(storage)?;
            dead.push(k.value().2.to_owned());
        }
        for key in &dead {
            self.remove(key)?;
        }
        Ok(dead.len())
    }

    /// Removes `key` (and its expiry entry), freeing its usage; whether it existed.
    fn remove(&mut self, key: &str) -> Result<bool, Failure> {
        let old = self.kv.remove((self.ns, key)).map_err(storage)?.map(|row| {
            let (expiry, value) = decode(row.value());
            (expiry, value.len())
        });
        let Some((expiry, len)) = old else {
            return Ok(false);
        };
        if expiry != 0 {
            self.exp.remove((self.ns, expiry, key)).map_err(storage)?;
        }
        self.keys = self.keys.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(size(key, len));
        Ok(true)
    }

    /// Stores `value` with `expiry` (0 = none) under `key` if the quota allows it; on a denial
    /// first drops every expired key of the namespace and judges again.
    fn put(&mut self, key: &str, value: &[u8], expiry: u64, quota: Quota) -> Result<(), Failure> {
        let old = self.kv.get((self.ns, key)).map_err(storage)?.map(|row| {
            let (expiry, value) = decode(row.value());
            (expiry, value.len())
        });
        let d_keys = i64::from(old.is_none());
        let d_bytes =
            as_i64(size(key, value.len())) - old.map_or(0, |(_, len)| as_i64(size(key, len)));
        if check_quota(self.keys, self.bytes, d_keys, d_bytes, quota).is_err() {
            self.purge(usize::MAX)?;
            check_quota(self.keys, self.bytes, d_keys, d_bytes, quota)?;
        }
        if let Some((old_expiry, _)) = old
            && old_expiry != 0
            && old_expiry != expiry
        {
            self.exp
                .remove((self.ns, old_expiry, key))
                .map_err(storage)?;
        }
        if expiry != 0 {
            self.exp
                .insert((self.ns, expiry, key), ())
                .map_err(storage)?;
        }
        let mut row = Vec::with_capacity(8 + value.len());
        row.extend_from_slice(&expiry.to_le_bytes());
        row.extend_from_slice(value);
        self.kv
            .insert((self.ns, key), row.as_slice())
            .map_err(storage)?;
        self.keys = self.keys.saturating_add_signed(d_keys);
        self.bytes = self.bytes.saturating_add_signed(d_bytes);
        Ok(())
    }

    fn save_usage(&mut self) -> Result<(), Failure> {
        if self.keys == 0 && self.bytes == 0 {
            self.usage.remove(self.ns).map_err(storage)?;
        } else {
            self.usage
                .insert(self.ns, (self.keys, self.bytes))
                .map_err(storage)?;
        }
        Ok(())
    }
}

/// Splits a stored row into its expiry (Unix ms, 0 = none) and value.
fn decode(row: &[u8]) -> (u64, &[u8]) {
    match row.split_first_chunk::<8>() {
        Some((expiry, value)) => (u64::from_le_bytes(*expiry), value),
        None => (0, row),
    }
}

fn expired(expiry: u64, now: u64) -> bool {
    expiry != 0 && expiry <= now
}

fn size(key: &str, value_len: usize) -> u64 {
    (key.len() + value_len) as u64
}

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Opens (creating if needed) the database at `path` and its tables.
fn open_db(path: &Path) -> Result<Database, redb::Error> {
    let db = Database::create(path)?;
    let txn = db.begin_write()?;
    txn.open_table(KV)?;
    txn.open_table(EXPIRY)?;
    txn.open_table(USAGE)?;
    txn.commit()?;
    Ok(db)
}

#[cfg(test)]
#[path = "embedded_tests.rs"]
mod tests;
