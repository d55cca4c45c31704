//! What a server's `/metrics` says, and waiting for a series to get somewhere.

use std::time::Duration;

use super::{TestServer, eventually, http_get};

/// The value of the sample `series` (e.g. `extws_instances_created_total{tenant="t",
/// lifecycle="fresh"}`) in the server's `/metrics`, or 0 when it is not there yet.
pub async fn metric(addr: impl std::fmt::Display, series: &str) -> f64 {
    let (status, body) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200, "/metrics: {body}");
    body.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap())
}

/// Polls `/metrics` until `series` reaches `at_least` (panics after 20 s).
pub async fn wait_for_metric(addr: impl std::fmt::Display, series: &str, at_least: f64) {
    let addr = addr.to_string();
    eventually(
        &format!("{series} reaching {at_least}"),
        Duration::from_secs(20),
        async || match metric(&addr, series).await {
            value if value >= at_least => Ok(()),
            value => Err(format!("it is {value}")),
        },
    )
    .await;
}

/// `extws_connections_open` of the default tenant.
pub async fn open_connections(server: &TestServer) -> i64 {
    metric(server.addr, r#"extws_connections_open{tenant="default"}"#).await as i64
}

/// The series counting `tenant`'s instances of `lifecycle`: it goes up when a call starts.
pub fn instances_created(tenant: &str, lifecycle: &str) -> String {
    format!(r#"extws_instances_created_total{{tenant="{tenant}",lifecycle="{lifecycle}"}}"#)
}
