//! At most once per tenant: an update's `update_id` is claimed in the state store before the
//! update runs, and the claim is kept for a day. Telegram retries a webhook that did not get a
//! 2xx and a poller that restarts sees unconfirmed updates again; two nodes on one Redis may
//! both receive the same update. Whoever claims first runs it; everyone else sees a duplicate.
//!
//! Claims live in a namespace of their own (`telegram-updates:<tenant>`, which no tenant name
//! can be), so guests never see them and they do not count against the tenant's quota.

use std::time::Duration;

use tracing::warn;

use crate::state::{KvError, KvStore, Quota};

/// How long an update is remembered: Telegram gives up on an update well within a day.
pub const REMEMBER: Duration = Duration::from_secs(24 * 3600);

/// The namespace holding a tenant's claims.
fn namespace(tenant: &str) -> String {
    format!("telegram-updates:{tenant}")
}

/// A claimed update: [`Claim::release`] gives it up again (it did not run).
pub struct Claim {
    held: Option<(KvStore, String, String)>,
}

/// Claims update `id` of `tenant`: `Some` if this caller is the first, `None` if it was
/// claimed before. Without a state store there is nothing to remember with: every update is
/// claimable (`serve` warns about this at startup).
pub async fn claim(
    store: Option<&KvStore>,
    tenant: &str,
    id: i64,
) -> Result<Option<Claim>, KvError> {
    let Some(store) = store else {
        return Ok(Some(Claim { held: None }));
    };
    let (ns, key) = (namespace(tenant), id.to_string());
    // The compare-and-swap is the claim (atomic on both backends, across nodes on Redis); the
    // `set` then only adds the TTL to the key this caller owns.
    let first = store
        .compare_and_swap(&ns, &key, None, b"1".to_vec(), Quota::UNLIMITED)
        .await?;
    if !first {
        return Ok(None);
    }
    if let Err(e) = store
        .set(&ns, &key, b"1".to_vec(), Some(REMEMBER), Quota::UNLIMITED)
        .await
    {
        warn!(error = %e, "the update's claim has no expiry (it stays until deleted)");
    }
    Ok(Some(Claim {
        held: Some((store.clone(), ns, key)),
    }))
}

impl Claim {
    /// Forgets the claim, so the update runs when it comes again.
    pub async fn release(self) {
        if let Some((kv, ns, key)) = self.held
            && let Err(e) = kv.delete(&ns, &key).await
        {
            warn!(error = %e, "could not release the update's claim: a retry will be skipped");
        }
    }
}
