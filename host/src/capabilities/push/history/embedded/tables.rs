//! The embedded push history's tables in one write transaction (see [`super`] for what each
//! holds): appending with the tenant's byte count and quota, trimming, forgetting.

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};

use crate::capabilities::ledger::SEQ_BYTES;
use crate::capabilities::push::PushError;
use crate::capabilities::push::history::{HistoryPolicy, fresh_start, sequenced};
use crate::state::reopen::{Failure, storage};

pub(super) const USERS: TableDefinition<(&str, i64), (u64, u64, u64)> =
    TableDefinition::new("push_users");
pub(super) const LOG: TableDefinition<(&str, i64, u64), &[u8]> = TableDefinition::new("push_log");
pub(super) const EXPIRY: TableDefinition<(u64, &str, i64), ()> =
    TableDefinition::new("push_expiry");
pub(super) const BYTES: TableDefinition<&str, u64> = TableDefinition::new("push_bytes");

/// The history's tables in one write transaction.
pub(super) struct Tables<'t> {
    users: Table<'t, (&'static str, i64), (u64, u64, u64)>,
    log: Table<'t, (&'static str, i64, u64), &'static [u8]>,
    expiry: Table<'t, (u64, &'static str, i64), ()>,
    bytes: Table<'t, &'static str, u64>,
}

impl<'t> Tables<'t> {
    pub(super) fn open(txn: &'t WriteTransaction) -> Result<Self, Failure> {
        Ok(Self {
            users: txn.open_table(USERS).map_err(storage)?,
            log: txn.open_table(LOG).map_err(storage)?,
            expiry: txn.open_table(EXPIRY).map_err(storage)?,
            bytes: txn.open_table(BYTES).map_err(storage)?,
        })
    }

    /// The bytes `tenant`'s entries take (entries stored before this was counted are not).
    fn tenant_bytes(&self, tenant: &str) -> Result<u64, Failure> {
        let row = self.bytes.get(tenant).map_err(storage)?;
        Ok(row.map_or(0, |g| g.value()))
    }

    /// Counts `added` more bytes and `freed` fewer for `tenant`.
    fn count(&mut self, tenant: &str, added: u64, freed: u64) -> Result<(), Failure> {
        if added == freed {
            return Ok(());
        }
        let total = self.tenant_bytes(tenant)?.saturating_add(added);
        let total = total.saturating_sub(freed);
        if total == 0 {
            self.bytes.remove(tenant).map_err(storage)?;
        } else {
            self.bytes.insert(tenant, total).map_err(storage)?;
        }
        Ok(())
    }

    /// The bytes of `user`'s entries from `from` to `to`.
    fn bytes_of(&self, tenant: &str, user: i64, from: u64, to: u64) -> Result<u64, Failure> {
        let mut sum = 0u64;
        if from <= to {
            for row in self
                .log
                .range((tenant, user, from)..=(tenant, user, to))
                .map_err(storage)?
            {
                sum += row.map_err(storage)?.1.value().len() as u64;
            }
        }
        Ok(sum)
    }

    /// Drops up to `max` users whose history has expired, entries and all.
    pub(super) fn purge_forgotten(&mut self, now: u64, max: usize) -> Result<(), Failure> {
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

    /// Drops `user`'s entries from `from` to `to`, uncounting their bytes.
    fn drop_entries(&mut self, tenant: &str, user: i64, from: u64, to: u64) -> Result<(), Failure> {
        let mut freed = 0u64;
        self.log
            .retain_in((tenant, user, from)..=(tenant, user, to), |_, v| {
                freed += v.len() as u64;
                false
            })
            .map_err(storage)?;
        self.count(tenant, 0, freed)
    }

    /// Assigns the next `Seq`, stores the envelope, trims by size and age; returns both. Or,
    /// changing nothing, the quota's refusal when the tenant's history would be over
    /// `policy.max_bytes` after the trim by size.
    pub(super) fn append(
        &mut self,
        tenant: &str,
        user: i64,
        head: &str,
        policy: HistoryPolicy,
        now: u64,
    ) -> Result<Result<(u64, String), PushError>, Failure> {
        let row = self
            .users
            .get((tenant, user))
            .map_err(storage)?
            .map(|g| g.value());
        if let Err(refused) = self.check_quota(tenant, user, head, policy, row, now)? {
            return Ok(Err(refused));
        }
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
        self.count(tenant, value.len() as u64, 0)?;
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
            self.drop_entries(tenant, user, oldest, oldest)?;
            oldest += 1;
        }
        let expires = now.saturating_add(policy.ttl_ms());
        self.users
            .insert((tenant, user), (seq, oldest, expires))
            .map_err(storage)?;
        self.expiry
            .insert((expires, tenant, user), ())
            .map_err(storage)?;
        Ok(Ok((seq, envelope)))
    }

    /// Whether `tenant`'s history stays within `policy.max_bytes` with this push (the largest
    /// `Seq` counted) once `user`'s entries that go anyway are gone: all of a forgotten user's,
    /// or the oldest beyond `size`. `row` is the user's (latest, oldest, expiry).
    fn check_quota(
        &self,
        tenant: &str,
        user: i64,
        head: &str,
        policy: HistoryPolicy,
        row: Option<(u64, u64, u64)>,
        now: u64,
    ) -> Result<Result<(), PushError>, Failure> {
        let needed = (8 + head.len() + SEQ_BYTES + 1) as u64; // the closing brace too
        let freed = match row {
            Some((latest, oldest, expires)) if expires > now => {
                let keep_from = (latest + 1).saturating_sub(u64::from(policy.size) - 1);
                self.bytes_of(tenant, user, oldest, keep_from.saturating_sub(1))?
            }
            Some(_) => self.bytes_of(tenant, user, 0, u64::MAX)?,
            None => 0,
        };
        let held = self.tenant_bytes(tenant)?.saturating_sub(freed);
        if held.saturating_add(needed) <= policy.max_bytes {
            return Ok(Ok(()));
        }
        Ok(Err(PushError::Invalid(format!(
            "push history quota exceeded: the tenant's history holds {held} bytes, this push \
             needs {needed} and the limit is {} (history_max_bytes); older pushes expire after \
             history_ttl",
            policy.max_bytes
        ))))
    }
}

/// A table for reading; `None` before the first append has created it.
pub(super) fn readable<K: redb::Key + 'static, V: redb::Value + 'static>(
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
pub(super) fn decode(value: &[u8]) -> (u64, &str) {
    match value.split_first_chunk::<8>() {
        Some((ts, rest)) => (
            u64::from_le_bytes(*ts),
            std::str::from_utf8(rest).unwrap_or(""),
        ),
        None => (0, ""),
    }
}
