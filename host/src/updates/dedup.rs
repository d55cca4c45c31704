//! Exactly once per tenant: before an update runs, its `update_id` is leased in the state store
//! ([`crate::state::lease`]); once its handlers have run, the lease becomes "done" and is
//! remembered for a day. Telegram retries a webhook that did not get a 2xx and a poller that
//! restarts sees unconfirmed updates again; two nodes on one Redis may both receive the same
//! update. Whoever takes the lease runs it; a retry while it runs (or after its owner vanished,
//! until the lease expires) must come again later; a retry after it ran is a duplicate.
//!
//! Leases live in a namespace of their own (`telegram-updates:<tenant>`, which no tenant name
//! can be), so guests never see them and they do not count against the tenant's quota.

use std::time::Duration;

use tracing::warn;

use crate::state::lease::{self, Claimed, Lease};
use crate::state::{KvError, KvStore};

/// How long a finished update is remembered: Telegram gives up on an update well within a day.
pub const REMEMBER: Duration = Duration::from_secs(24 * 3600);

/// How long a lease outlives its owner's last renewal: an update whose claim was lost (a
/// stalled store that applied it late, a node that died while running it) runs on a retry
/// that comes after this.
pub const LEASE: Duration = Duration::from_secs(15);

/// The namespace holding a tenant's claims.
fn namespace(tenant: &str) -> String {
    format!("telegram-updates:{tenant}")
}

/// What claiming an update found.
pub enum Claim {
    /// This caller runs it, then [`Run::done`] (or [`Run::release`] if it did not run).
    Run(Run),
    /// It is running elsewhere, or its claim has not expired yet: it must come again.
    Busy,
    /// It ran before: not run again.
    Duplicate,
}

/// The right to run one update.
pub struct Run {
    lease: Option<Lease>,
}

/// Claims update `id` of `tenant`. Without a state store there is nothing to remember with:
/// every update runs (`serve` warns about this at startup).
pub async fn claim(store: Option<&KvStore>, tenant: &str, id: i64) -> Result<Claim, KvError> {
    let Some(store) = store else {
        return Ok(Claim::Run(Run { lease: None }));
    };
    Ok(
        match lease::acquire(store, &namespace(tenant), &id.to_string(), LEASE).await? {
            Claimed::Acquired(lease) => Claim::Run(Run { lease: Some(lease) }),
            Claimed::Busy => Claim::Busy,
            Claimed::Done => Claim::Duplicate,
        },
    )
}

impl Run {
    /// The update ran: a retry of it is a duplicate from now on.
    pub async fn done(self) {
        if let Some(lease) = self.lease
            && let Err(e) = lease.complete(REMEMBER).await
        {
            warn!(error = %e, "could not record the update as done: a retry after its lease expires would run it again");
        }
    }

    /// The update did not run: it runs when it comes again.
    pub async fn release(self) {
        if let Some(lease) = self.lease {
            lease.release().await;
        }
    }
}
