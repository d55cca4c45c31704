//! `updates = "polling"`: one task per tenant long-polls `getUpdates` at the tenant's
//! `api_url`, delivers each update in order, and moves `offset` past an update only once it
//! is done with (handled, duplicate or unclaimed), so an update that could not run is asked
//! for again. Errors back off from 0.5 s to 30 s; the offset is not stored: after a restart
//! Telegram sends the unconfirmed updates again and [`super::dedup`] skips those already run.

use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{Instrument as _, info, info_span, warn};

use super::{Outcome, Update, allowed_updates, deliver};
use crate::capabilities::telegram::TelegramError;
use crate::config::updates::Updates;
use crate::tenants::{Tenant, Tenants};

/// First wait after a failed `getUpdates`; it doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest wait between failed `getUpdates`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How much longer than the long-poll timeout a `getUpdates` may take before it is abandoned.
const SLACK: Duration = Duration::from_secs(10);

/// The polling tasks of a set of tenants.
#[derive(Default)]
pub struct Pollers {
    running: Vec<(Arc<str>, watch::Sender<bool>, JoinHandle<()>)>,
}

impl Pollers {
    /// Starts a poller for every tenant with `updates = "polling"`.
    pub fn start(tenants: &Tenants) -> Self {
        let mut running = Vec::new();
        for tenant in tenants.iter() {
            if let Some(Updates::Polling { timeout }) = tenant.updates {
                let (stop, stopped) = watch::channel(false);
                let span = info_span!("poller", tenant = %tenant.name);
                let task = tokio::spawn(poll(tenant.clone(), timeout, stopped).instrument(span));
                running.push((tenant.name.clone(), stop, task));
            }
        }
        Self { running }
    }

    /// Stops every poller: each finishes the update it is running (at most `bound`), then
    /// ends; a long poll in flight is abandoned (nothing of it has run).
    pub async fn stop(self, bound: Duration) {
        for (_, stop, _) in &self.running {
            let _ = stop.send(true);
        }
        for (name, _, mut task) in self.running {
            if tokio::time::timeout(bound, &mut task).await.is_err() {
                warn!(tenant = %name, "poller did not stop in time: aborted");
                task.abort();
            }
        }
    }
}

async fn poll(tenant: Arc<Tenant>, timeout: Duration, mut stopped: watch::Receiver<bool>) {
    let Some(bot) = tenant.bot_api().cloned() else {
        warn!("no Bot API access: not polling");
        return;
    };
    info!(?timeout, "polling getUpdates");
    let mut offset: Option<i64> = None;
    let mut backoff = MIN_BACKOFF;
    while !*stopped.borrow() {
        let mut params = serde_json::json!({
            "timeout": timeout.as_secs(),
            "allowed_updates": allowed_updates(&tenant.handlers()),
        });
        if let Some(offset) = offset {
            params["offset"] = offset.into();
        }
        let answer = tokio::select! {
            answer = bot.call_as_host("getUpdates", &params, timeout + SLACK) => answer,
            _ = stopped.changed() => return,
        };
        tenant.metrics.poll(&tenant.name, answer.is_ok());
        let failed = match answer {
            Ok(result) => match serde_json::from_str::<Vec<Box<RawValue>>>(&result) {
                Ok(batch) => {
                    let done = run_batch(&tenant, &batch, &mut offset, &stopped).await;
                    (!done).then(|| "an update could not run; asking for it again".to_string())
                }
                Err(e) => Some(format!(
                    "getUpdates answered something else than updates: {e}"
                )),
            },
            Err(e) => Some(explain(&e)),
        };
        match failed {
            None => backoff = MIN_BACKOFF,
            Some(why) => {
                warn!(%why, retry_in = ?backoff, "polling");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    _ = stopped.changed() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Delivers a batch in order, moving `offset` past each update done with. `false` when one
/// must be asked for again (the rest of the batch waits for it).
async fn run_batch(
    tenant: &Arc<Tenant>,
    batch: &[Box<RawValue>],
    offset: &mut Option<i64>,
    stopped: &watch::Receiver<bool>,
) -> bool {
    for raw in batch {
        if *stopped.borrow() {
            return true;
        }
        let update = match Update::parse(raw.get()) {
            Ok(update) => update,
            Err(why) => {
                // Skip it, if it has an id to skip past; without one, nothing can be done.
                warn!(%why, "getUpdates returned something that is not an update: skipped");
                tenant.metrics.update(&tenant.name, "other", "invalid");
                if let Some(id) = serde_json::from_str::<serde_json::Value>(raw.get())
                    .ok()
                    .and_then(|v| v["update_id"].as_i64())
                {
                    *offset = Some(id.saturating_add(1));
                }
                continue;
            }
        };
        if deliver(tenant, &update).await == Outcome::Retry {
            return false;
        }
        *offset = Some(offset.unwrap_or(i64::MIN).max(update.id.saturating_add(1)));
    }
    true
}

/// What a failed `getUpdates` means for the operator.
fn explain(e: &TelegramError) -> String {
    match e {
        TelegramError::Api {
            code: 409,
            description,
            ..
        } => format!(
            "Telegram refused getUpdates ({description}): a webhook is set for this bot \
             (remove it with `extws-wasm telegram delete-webhook`) or another process polls it"
        ),
        TelegramError::Api { code: 401, .. } | TelegramError::Api { code: 404, .. } => {
            format!("{e}: is the bot token right?")
        }
        e => format!("getUpdates failed: {e}"),
    }
}
