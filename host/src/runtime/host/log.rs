//! The `log` import: guest records become `tracing` events tagged with tenant and component.

use super::super::bindings::extws::handler::log;
use super::wasi::MAX_LOG_LINE;
use super::{HostState, truncate};

impl log::Host for HostState {
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
