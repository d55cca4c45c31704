//! Leases: a claim on one piece of work (an update, a schedule's firing) that has an owner and
//! an expiry, taken in one atomic step, and that becomes "done" only once the work finished.
//!
//! * [`acquire`] stores `lease:<random owner>` with the lease's TTL in one compare-and-swap
//!   (absent → leased): a claim whose reply was lost (a Redis stall that applied it later, a
//!   node that died mid-work) still expires, and the work is then claimable again.
//! * While the owner works, the lease is renewed every third of its TTL, so work that takes
//!   longer than the TTL (a queue wait, then a deadline) keeps it.
//! * [`Lease::complete`] replaces it with `done`, remembered for as long as the caller says
//!   (retries of finished work are then duplicates); [`Lease::release`] gives it up (the work
//!   did not run), but only if this owner still holds it.
//!
//! Anyone who finds a lease held by another owner is told [`Claimed::Busy`]: the work is in
//! progress *or* its owner vanished, so it must come again later — never "already done".

use std::time::Duration;

use tokio::task::JoinHandle;
use tracing::warn;

use super::{KvError, KvStore, Quota};

/// The value of finished work.
const DONE: &[u8] = b"done";
/// The prefix of a held lease's value (the rest names its owner).
const LEASED: &[u8] = b"lease:";
/// The value of a lease given up (it expires at once).
const RELEASED: &[u8] = b"released";
/// How many times [`Lease::complete`] tries to record the work as done.
const COMPLETE_ATTEMPTS: u32 = 3;

/// What [`acquire`] found.
pub enum Claimed {
    /// This caller holds the lease now and must do the work.
    Acquired(Lease),
    /// Another owner holds it (working, or gone without finishing: it expires): try later.
    Busy,
    /// The work was done before.
    Done,
}

/// A held lease; renewed in the background until completed, released or dropped (dropping
/// stops renewing, and the lease then expires by itself).
pub struct Lease {
    store: KvStore,
    ns: String,
    key: String,
    owner: Vec<u8>,
    renewer: JoinHandle<()>,
}

/// Tries to take the lease on `key` in `ns` for `ttl`. Host bookkeeping: `ns` must be a
/// namespace no tenant can name, and it counts against no quota.
pub async fn acquire(
    store: &KvStore,
    ns: &str,
    key: &str,
    ttl: Duration,
) -> Result<Claimed, KvError> {
    let mut owner = LEASED.to_vec();
    owner.extend(unique_owner().bytes());
    let taken = store
        .compare_and_swap_expiring(ns, key, None, owner.clone(), ttl, Quota::UNLIMITED)
        .await?;
    if !taken {
        // `done`, or `1`: a claim of the versions before leases. Anything else (a lease, one
        // just released, one that expired since) is someone else's to settle.
        return Ok(match store.get(ns, key).await? {
            Some(v) if v == DONE || v == b"1" => Claimed::Done,
            _ => Claimed::Busy,
        });
    }
    let renewer = tokio::spawn(renew(
        store.clone(),
        ns.to_owned(),
        key.to_owned(),
        owner.clone(),
        ttl,
    ));
    Ok(Claimed::Acquired(Lease {
        store: store.clone(),
        ns: ns.to_owned(),
        key: key.to_owned(),
        owner,
        renewer,
    }))
}

/// A name no other lease holder has, in this process or another: a per-process random seed
/// (the standard library's hasher keys come from the OS) and a counter.
fn unique_owner() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    format!("{:016x}-{n}", hasher.finish())
}

/// Extends the lease every third of `ttl` for as long as `owner` holds it.
async fn renew(store: KvStore, ns: String, key: String, owner: Vec<u8>, ttl: Duration) {
    loop {
        tokio::time::sleep(ttl / 3).await;
        let extended = store
            .compare_and_swap_expiring(
                &ns,
                &key,
                Some(owner.clone()),
                owner.clone(),
                ttl,
                Quota::UNLIMITED,
            )
            .await;
        match extended {
            Ok(true) => {}
            Ok(false) => {
                warn!(%key, "lost the lease: another owner may run this work too");
                return;
            }
            Err(e) => warn!(%key, error = %e, "could not renew the lease (it may expire)"),
        }
    }
}

impl Lease {
    /// Records the work as done, remembered for `remember` (`Err` if the store refused every
    /// attempt: the lease then expires, and a retry of the work would run it again).
    pub async fn complete(self, remember: Duration) -> Result<(), KvError> {
        self.renewer.abort();
        let mut last = None;
        for _ in 0..COMPLETE_ATTEMPTS {
            let done = DONE.to_vec();
            let set = self
                .store
                .set(&self.ns, &self.key, done, Some(remember), Quota::UNLIMITED);
            match set.await {
                Ok(()) => return Ok(()),
                Err(e) => last = Some(e),
            }
        }
        Err(last.expect("at least one attempt"))
    }

    /// Gives the lease up (the work did not run), if this owner still holds it: the work is
    /// claimable again at once.
    pub async fn release(self) {
        self.renewer.abort();
        // Swapping to a value that expires in a millisecond is a delete-if-still-mine.
        let released = self
            .store
            .compare_and_swap_expiring(
                &self.ns,
                &self.key,
                Some(self.owner.clone()),
                RELEASED.to_vec(),
                Duration::from_millis(1),
                Quota::UNLIMITED,
            )
            .await;
        if let Err(e) = released {
            warn!(key = %self.key, error = %e, "could not release the lease: it expires by itself");
        }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.renewer.abort();
    }
}

#[cfg(test)]
#[path = "lease_tests.rs"]
mod tests;
