//! The embedded push history, in the embedded store's redb file (see [`super`] for the
//! contract).
//!
//! Tables: `push_users` maps (tenant, user) to (latest `Seq`, oldest kept `Seq`, expiry in Unix
//! ms); `push_log` maps (tenant, user, `Seq`) to an 8-byte little-endian timestamp (Unix ms)
//! followed by the envelope; `push_expiry` indexes (expiry, tenant, user), so an append finds
//! the forgotten users without a scan. A user's kept entries are the consecutive `Seq`s from
//! the oldest kept to the latest.
//!
//! One writer thread does every append (group commit): it takes all the appends waiting, runs
//! them in one write transaction, commits it durably, then delivers each envelope to the hub
//! in `Seq` order and answers the callers. One fsync then covers a burst of pushes, and
//! deliveries can never overtake each other. When no append comes for a second, the writer
//! sweeps forgotten users itself, so 10,000 users pushed to once do not stay in the file until
//! the next pushes.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use redb::{
    ReadableDatabase, ReadableTable, ReadableTableMetadata, Table, TableDefinition,
    WriteTransaction,
};
use tokio::sync::oneshot;

use super::{HistoryPolicy, HistoryRead, fresh_start, now_ms, sequenced};
use crate::capabilities::push::{Hub, PushError, Target};
use crate::state::EmbeddedKv;
use crate::state::reopen::{Failure, storage};

const USERS: TableDefinition<(&str, i64), (u64, u64, u64)> = TableDefinition::new("push_users");
const LOG: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("push_log");
const EXPIRY: TableDefinition<(u64, &str, i64), ()> = TableDefinition::new("push_expiry");

/// Appends one write transaction takes at most.
const BATCH: usize = 256;
/// Forgotten users an appending transaction drops (their whole history).
const PURGE_USERS: usize = 16;
/// How long the writer waits for an append before it sweeps forgotten users on its own.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// Forgotten users one sweep drops.
const SWEEP_USERS: usize = 2000;

/// One push waiting for the writer.
struct Append {
    tenant: String,
    user: i64,
    head: String,
    policy: HistoryPolicy,
    reply: oneshot::Sender<Result<u64, PushError>>,
}

/// The embedded history: reads on tokio's blocking pool, appends through the writer thread.
pub struct EmbeddedHistory {
    kv: Arc<EmbeddedKv>,
    /// `None` only while dropping.
    writer: Option<std_mpsc::Sender<Append>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for EmbeddedHistory {
    /// Stops the writer and waits for it: it holds the database, and a server started again
    /// on the same directory must be able to open it.
    fn drop(&mut self) {
        drop(self.writer.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl EmbeddedHistory {
    /// Starts the writer thread (it ends when this is dropped). The tables are created by the
    /// first append: a server whose tenants never push to users keeps the file as it was.
    pub fn new(kv: Arc<EmbeddedKv>, hub: Arc<Hub>) -> anyhow::Result<Self> {
        let (writer, appends) = std_mpsc::channel();
        let db = kv.clone();
        let thread = std::thread::Builder::new()
            .name("extws-history".into())
            .spawn(move || write_forever(&db, &hub, &appends))
            .map_err(|e| anyhow::anyhow!("starting the push history writer: {e}"))?;
        Ok(Self {
            kv,
            writer: Some(writer),
            thread: Some(thread),
        })
    }

    /// See [`super::HistoryStore::append`].
    pub async fn append(
        &self,
        tenant: &str,
        user: i64,
        head: String,
        policy: HistoryPolicy,
    ) -> Result<u64, PushError> {
        let (reply, answer) = oneshot::channel();
        let append = Append {
            tenant: tenant.to_owned(),
            user,
            head,
            policy,
            reply,
        };
        let gone = || PushError::Unavailable("the history writer stopped".into());
        let writer = self.writer.as_ref().ok_or_else(gone)?;
        writer.send(append).map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    /// Users with a history and entries kept, over every tenant (for tools and benchmarks).
    pub fn usage(&self) -> Result<(u64, u64), crate::state::KvError> {
        self.kv.db().with_db(|db| {
            let txn = db.begin_read().map_err(storage)?;
            let (Some(users), Some(log)) = (readable(&txn, USERS)?, readable(&txn, LOG)?) else {
                return Ok((0, 0));
            };
            Ok((users.len().map_err(storage)?, log.len().map_err(storage)?))
        })
    }

    /// See [`super::HistoryStore::read`].
    pub async fn read(
        &self,
        tenant: &str,
        user: i64,
        after: u64,
        policy: HistoryPolicy,
    ) -> Result<HistoryRead, PushError> {
        let kv = self.kv.clone();
        let tenant = tenant.to_owned();
        let read = move || {
            kv.db().with_db(|db| {
                let txn = db.begin_read().map_err(storage)?;
                let now = now_ms();
                let mut out = HistoryRead {
                    now_ms: now,
                    latest: None,
                    entries: Vec::new(),
                };
                let (Some(users), Some(log)) = (readable(&txn, USERS)?, readable(&txn, LOG)?)
                else {
                    return Ok(out);
                };
                let row = users.get((tenant.as_str(), user)).map_err(storage)?;
                let Some((latest, _, expires)) = row.map(|g| g.value()) else {
                    return Ok(out);
                };
                if expires <= now {
                    return Ok(out);
                }
                out.latest = Some(latest);
                let from = (tenant.as_str(), user, after.saturating_add(1));
                let to = (tenant.as_str(), user, latest);
                if from.2 <= latest {
                    for row in log.range(from..=to).map_err(storage)? {
                        let (k, v) = row.map_err(storage)?;
                        let (ts, envelope) = decode(v.value());
                        if ts.saturating_add(policy.ttl_ms()) > now {
                            out.entries.push((k.value().2, envelope.to_owned()));
                        }
                    }
                }
                Ok(out)
            })
        };
        tokio::task::spawn_blocking(read)
            .await
            .map_err(|e| PushError::Unavailable(format!("history task failed: {e}")))?
            .map_err(|e| PushError::Unavailable(e.to_string()))
    }
}

/// The writer thread: batches, commits, delivers, answers; sweeps when idle; until every
/// sender is gone.
fn write_forever(kv: &EmbeddedKv, hub: &Hub, appends: &std_mpsc::Receiver<Append>) {
    loop {
        let first = match appends.recv_timeout(SWEEP_EVERY) {
            Ok(first) => first,
            Err(std_mpsc::RecvTimeoutError::Timeout) => {
                if let Err(e) = sweep(kv) {
                    tracing::debug!(error = %e, "push history: sweep failed");
                }
                continue;
            }
            Err(std_mpsc::RecvTimeoutError::Disconnected) => return,
        };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match appends.try_recv() {
                Ok(a) => batch.push(a),
                Err(_) => break,
            }
        }
        let committed = kv.db().with_db(|db| {
            let txn = db.begin_write().map_err(storage)?;
            let mut envelopes = Vec::with_capacity(batch.len());
            {
                let mut tables = Tables::open(&txn)?;
                let now = now_ms();
                for a in &batch {
                    envelopes.push(tables.append(&a.tenant, a.user, &a.head, a.policy, now)?);
                }
                tables.purge_forgotten(now, PURGE_USERS)?;
            }
            txn.commit().map_err(storage)?;
            Ok(envelopes)
        });
        match committed {
            Ok(envelopes) => {
                for (a, (seq, envelope)) in batch.into_iter().zip(envelopes) {
                    hub.deliver(&a.tenant, &Target::User(a.user), Some(seq), &envelope);
                    let _ = a.reply.send(Ok(seq));
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "push history: append failed");
                for a in batch {
                    let _ = a.reply.send(Err(PushError::Unavailable(e.to_string())));
                }
            }
        }
    }
}

/// The history's tables in one write transaction.
struct Tables<'t> {
    users: Table<'t, (&'static str, i64), (u64, u64, u64)>,
    log: Table<'t, (&'static str, i64, u64), &'static [u8]>,
    expiry: Table<'t, (u64, &'static str, i64), ()>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, Failure> {
        Ok(Self {
            users: txn.open_table(USERS).map_err(storage)?,
            log: txn.open_table(LOG).map_err(storage)?,
            expiry: txn.open_table(EXPIRY).map_err(storage)?,
        })
    }

    /// Drops up to `max` users whose history has expired, entries and all.
    fn purge_forgotten(&mut self, now: u64, max: usize) -> Result<(), Failure> {
        let mut dead = Vec::new();
        let range = (0, "", i64::MIN)..(now.saturating_add(1), "", i64::MIN);
        for row in self.expiry.range(range).map_err(storage)?.take(max) {
            let (k, _) = row.map_err(storage)?;
            let (expires, tenant, user) = k.value();
            dead.push((expires, tenant.to_owned(), user));
        }
        for (expires, tenant, user) in dead {
            self.expiry
                .remove((expires, tenant.as_str(), user))
                .map_err(storage)?;
            self.users
                .remove((tenant.as_str(), user))
                .map_err(storage)?;
            self.drop_entries(&tenant, user, 0, u64::MAX)?;
        }
        Ok(())
    }

    fn drop_entries(&mut self, tenant: &str, user: i64, from: u64, to: u64) -> Result<(), Failure> {
        self.log
            .retain_in((tenant, user, from)..=(tenant, user, to), |_, _| false)
            .map_err(storage)
    }

    /// Assigns the next `Seq`, stores the envelope, trims by size and age; returns both.
    fn append(
        &mut self,
        tenant: &str,
        user: i64,
        head: &str,
        policy: HistoryPolicy,
        now: u64,
    ) -> Result<(u64, String), Failure> {
        let row = self
            .users
            .get((tenant, user))
            .map_err(storage)?
            .map(|g| g.value());
        let (seq, mut oldest) = match row {
            Some((latest, oldest, expires)) => {
                self.expiry
                    .remove((expires, tenant, user))
                    .map_err(storage)?;
                if expires > now {
                    (latest + 1, oldest)
                } else {
                    // Forgotten: a fresh history, still above every earlier Seq.
                    self.drop_entries(tenant, user, 0, u64::MAX)?;
                    let seq = fresh_start(now).max(latest + 1);
                    (seq, seq)
                }
            }
            None => (fresh_start(now), fresh_start(now)),
        };
        let envelope = sequenced(head, seq);
        let mut value = Vec::with_capacity(8 + envelope.len());
        value.extend_from_slice(&now.to_le_bytes());
        value.extend_from_slice(envelope.as_bytes());
        self.log
            .insert((tenant, user, seq), value.as_slice())
            .map_err(storage)?;
        // By size: keep the newest `size`.
        let keep_from = seq.saturating_sub(u64::from(policy.size) - 1).max(oldest);
        if keep_from > oldest {
            self.drop_entries(tenant, user, oldest, keep_from - 1)?;
            oldest = keep_from;
        }
        // By age: drop the oldest while they are older than the TTL.
        while oldest < seq {
            let ts = self
                .log
                .get((tenant, user, oldest))
                .map_err(storage)?
                .map(|g| decode(g.value()).0);
            if ts.is_some_and(|ts| ts.saturating_add(policy.ttl_ms()) > now) {
                break;
            }
            self.log.remove((tenant, user, oldest)).map_err(storage)?;
            oldest += 1;
        }
        let expires = now.saturating_add(policy.ttl_ms());
        self.users
            .insert((tenant, user), (seq, oldest, expires))
            .map_err(storage)?;
        self.expiry
            .insert((expires, tenant, user), ())
            .map_err(storage)?;
        Ok((seq, envelope))
    }
}

/// Drops forgotten users when there are any (a read first: an idle store writes nothing).
fn sweep(kv: &EmbeddedKv) -> Result<(), crate::state::KvError> {
    kv.db().with_db(|db| {
        let now = now_ms();
        let range = (0, "", i64::MIN)..(now.saturating_add(1), "", i64::MIN);
        let due = {
            let txn = db.begin_read().map_err(storage)?;
            match readable(&txn, EXPIRY)? {
                Some(expiry) => expiry.range(range).map_err(storage)?.next().is_some(),
                None => false,
            }
        };
        if due {
            let txn = db.begin_write().map_err(storage)?;
            Tables::open(&txn)?.purge_forgotten(now, SWEEP_USERS)?;
            txn.commit().map_err(storage)?;
        }
        Ok(())
    })
}

/// A table for reading; `None` before the first append has created it.
fn readable<K: redb::Key + 'static, V: redb::Value + 'static>(
    txn: &redb::ReadTransaction,
    table: TableDefinition<K, V>,
) -> Result<Option<redb::ReadOnlyTable<K, V>>, Failure> {
    match txn.open_table(table) {
        Ok(t) => Ok(Some(t)),
        Err(redb::TableError::TableDoesNotExist(_)) => Ok(None),
        Err(e) => Err(storage(e)),
    }
}

/// Splits a log value into its timestamp and envelope.
fn decode(value: &[u8]) -> (u64, &str) {
    match value.split_first_chunk::<8>() {
        Some((ts, rest)) => (
            u64::from_le_bytes(*ts),
            std::str::from_utf8(rest).unwrap_or(""),
        ),
        None => (0, ""),
    }
}
