//! The embedded push history, in the embedded store's redb file (see [`super`] for the
//! contract).
//!
//! Tables: `push_users` maps (tenant, user) to (latest `Seq`, oldest kept `Seq`, expiry in Unix
//! ms); `push_log` maps (tenant, user, `Seq`) to an 8-byte little-endian timestamp (Unix ms)
//! followed by the envelope; `push_expiry` indexes (expiry, tenant, user), so an append finds
//! the forgotten users without a scan; `push_bytes` maps a tenant to the bytes of its
//! `push_log` values (its quota, `history_max_bytes`, is checked against it before an append
//! changes anything). A user's kept entries are the consecutive `Seq`s from the oldest kept to
//! the latest.
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

use redb::{ReadableDatabase, ReadableTableMetadata};
use tokio::sync::oneshot;

use super::{HistoryPolicy, HistoryRead, now_ms};
use crate::capabilities::push::{Hub, PushError, Target};
use crate::state::EmbeddedKv;
use crate::state::reopen::storage;

mod tables;
use tables::{EXPIRY, LOG, Tables, USERS, decode, readable};

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
                // First, so that their bytes are back before the quota is checked.
                tables.purge_forgotten(now, PURGE_USERS)?;
                for a in &batch {
                    envelopes.push(tables.append(&a.tenant, a.user, &a.head, a.policy, now)?);
                }
            }
            txn.commit().map_err(storage)?;
            Ok(envelopes)
        });
        match committed {
            Ok(envelopes) => {
                for (a, appended) in batch.into_iter().zip(envelopes) {
                    let answer = appended.map(|(seq, envelope)| {
                        hub.deliver(&a.tenant, &Target::User(a.user), Some(seq), &envelope);
                        seq
                    });
                    let _ = a.reply.send(answer);
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
