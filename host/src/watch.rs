//! `--watch`: reload a component when its file changes, without dropping connections.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use crate::tenants::{TenantSet, Tenants};

/// What a file looked like when last loaded: a changed stamp means a reload.
type FileStamp = Option<(SystemTime, u64)>;

/// The modification time and size of `path`.
fn stamp(path: &std::path::Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The stamp of every component of every tenant, by (tenant, component) index.
fn stamps(tenants: &Tenants) -> HashMap<(usize, usize), FileStamp> {
    let mut seen = HashMap::new();
    for (t, tenant) in tenants.iter().enumerate() {
        for (c, component) in tenant.handlers().components.iter().enumerate() {
            seen.insert((t, c), stamp(&component.spec.path));
        }
    }
    seen
}

/// How often `--watch` looks at component files.
pub const WATCH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(300);

/// `--watch`: polls every tenant's component files and reloads one when its modification time
/// or size changes (once it has stopped changing). A component that fails to load keeps the
/// old one serving, and the reason is logged. Runs until the task is aborted.
pub async fn watch(set: Arc<TenantSet>) {
    let mut tenants = set.current();
    let mut seen = stamps(&tenants);
    loop {
        tokio::time::sleep(WATCH_INTERVAL).await;
        let current = set.current();
        if !Arc::ptr_eq(&current, &tenants) {
            // The configuration was reloaded: start over with its files.
            tenants = current;
            seen = stamps(&tenants);
        }
        for (t, tenant) in tenants.iter().enumerate() {
            let routing = tenant.handlers();
            for (c, component) in routing.components.iter().enumerate() {
                let path = &component.spec.path;
                let now = stamp(path);
                if now.is_none() || seen.get(&(t, c)) == Some(&now) {
                    continue;
                }
                // Let a writer finish: reload only once the file is stable.
                tokio::time::sleep(WATCH_INTERVAL).await;
                if stamp(path) != now {
                    continue;
                }
                seen.insert((t, c), now);
                match tenant.reload(c).await {
                    Ok(()) => tracing::info!(
                        tenant = &*tenant.name,
                        path = %path.display(),
                        "reloaded component"
                    ),
                    Err(e) => tracing::error!(
                        tenant = &*tenant.name,
                        path = %path.display(),
                        error = %format!("{e:#}"),
                        "reload failed; the previous version keeps serving"
                    ),
                }
            }
        }
    }
}
