//! The `log` import: guest records become `tracing` events tagged with tenant and component.

use super::{Always, Ctx, truncate};
use crate::wit::extws::handler::log;

/// Longest log record (and guest stdout/stderr line) kept; longer ones are truncated.
pub const MAX_LOG_LINE: usize = 4096;

impl log::Host for Ctx<'_, Always> {
    fn log(&mut self, level: log::Level, message: String) {
        let message = truncate(&message, MAX_LOG_LINE);
        let (tenant, component) = (&*self.caller.tenant, &*self.caller.component);
        match level {
            log::Level::Trace => tracing::trace!(target: "guest", tenant, component, "{message}"),
            log::Level::Debug => tracing::debug!(target: "guest", tenant, component, "{message}"),
            log::Level::Info => tracing::info!(target: "guest", tenant, component, "{message}"),
            log::Level::Warn => tracing::warn!(target: "guest", tenant, component, "{message}"),
            log::Level::Error => tracing::error!(target: "guest", tenant, component, "{message}"),
        }
    }
}
