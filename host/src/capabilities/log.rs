//! The `log` import: guest records become `tracing` events tagged with tenant and component,
//! within the tenant's [`LogBudget`] (shared with its guests' stdout and stderr).

use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{Ctx, truncate};
use crate::wit::extws::handler::log;

/// Longest log record (and guest stdout/stderr line) kept; longer ones are truncated.
pub const MAX_LOG_LINE: usize = 4096;

/// The bytes of log records and stdout/stderr lines a tenant's guests may write per second,
/// on average; above it records are dropped (and counted), never queued.
pub const LOG_BYTES_PER_SECOND: u64 = 64 << 10;
/// The bytes they may write at once, before the average applies.
pub const LOG_BURST_BYTES: u64 = 256 << 10;

/// A tenant's guest log volume: a token bucket of [`LOG_BYTES_PER_SECOND`] with a burst of
/// [`LOG_BURST_BYTES`], shared by every component and instance of the tenant. `log` returns
/// nothing to the guest, so a record over the budget is dropped; the host says how many, at
/// most once a second, in a warning of its own.
#[derive(Debug)]
pub struct LogBudget {
    bucket: Mutex<Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: u64,
    refilled: Instant,
    dropped: u64,
    warned: Option<Instant>,
}

impl Default for LogBudget {
    fn default() -> Self {
        Self {
            bucket: Mutex::new(Bucket {
                tokens: LOG_BURST_BYTES,
                refilled: Instant::now(),
                dropped: 0,
                warned: None,
            }),
        }
    }
}

impl LogBudget {
    /// Whether a record of `bytes` may be written now (it is counted if so); `tenant` names the
    /// tenant in the warning about dropped records.
    pub fn admit(&self, tenant: &str, bytes: usize) -> bool {
        let mut b = self.bucket.lock().expect("log budget lock");
        let now = Instant::now();
        let earned =
            now.duration_since(b.refilled).as_micros() as u64 * LOG_BYTES_PER_SECOND / 1_000_000;
        if earned > 0 {
            b.tokens = (b.tokens + earned).min(LOG_BURST_BYTES);
            b.refilled = now;
        }
        let cost = bytes.max(1) as u64;
        if b.tokens >= cost {
            b.tokens -= cost;
            return true;
        }
        b.dropped += 1;
        if b.warned
            .is_none_or(|at| now.duration_since(at) >= Duration::from_secs(1))
        {
            let dropped = std::mem::take(&mut b.dropped);
            b.warned = Some(now);
            tracing::warn!(
                tenant,
                dropped,
                "guest log records dropped: over the tenant's log budget ({LOG_BYTES_PER_SECOND} bytes/s)"
            );
        }
        false
    }
}

impl log::Host for Ctx<'_, LogBudget> {
    fn log(&mut self, level: log::Level, message: String) {
        let message = truncate(&message, MAX_LOG_LINE);
        let (tenant, component) = (&*self.caller.tenant, &*self.caller.component);
        if !self
            .grant
            .is_some_and(|budget| budget.admit(tenant, message.len()))
        {
            return;
        }
        match level {
            log::Level::Trace => tracing::trace!(target: "guest", tenant, component, "{message}"),
            log::Level::Debug => tracing::debug!(target: "guest", tenant, component, "{message}"),
            log::Level::Info => tracing::info!(target: "guest", tenant, component, "{message}"),
            log::Level::Warn => tracing::warn!(target: "guest", tenant, component, "{message}"),
            log::Level::Error => tracing::error!(target: "guest", tenant, component, "{message}"),
        }
    }
}
