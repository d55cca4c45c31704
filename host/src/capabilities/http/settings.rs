//! The `http` capability's settings: the origins a tenant allows (`[tenant.capabilities]
//! http`, `--allow-http`), resolved into an [`HttpGrant`].

use std::sync::Arc;

use super::HttpGrant;
use super::allow::AllowList;

/// Outbound HTTP from the allowed origins: none when empty. At most `max_concurrent` requests
/// in flight for the tenant (its `max_concurrency`), response bodies of at most
/// `max_body_bytes` (its `max_message_bytes`).
pub fn grant(
    origins: &[String],
    max_concurrent: usize,
    max_body_bytes: usize,
) -> anyhow::Result<Option<Arc<HttpGrant>>> {
    let allow = AllowList::parse(origins).map_err(|e| anyhow::anyhow!("capabilities.http: {e}"))?;
    if allow.is_empty() {
        return Ok(None);
    }
    Ok(Some(Arc::new(HttpGrant::new(
        allow,
        max_concurrent,
        max_body_bytes,
    ))))
}
