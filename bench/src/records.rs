//! The records results.json is made of, one per measurement: the systems, throughput runs,
//! idle connections, cold starts, the noisy neighbour, criterion's numbers and the goals; and
//! how numbers are summarised in them (median, milliseconds).

use serde::{Deserialize, Serialize};

use crate::load::LoadResult;

/// One server configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SystemInfo {
    /// e.g. `native`, `predecessor`, `extws rust/fresh`.
    pub name: String,
    /// `native`, `predecessor` or `extws-wasm`.
    pub kind: String,
    /// Guest language (extws-wasm only).
    pub language: Option<String>,
    /// Lifecycle (extws-wasm only).
    pub lifecycle: Option<String>,
    /// Size of the component file (extws-wasm only).
    pub component_bytes: Option<u64>,
}

/// One throughput scenario against one system.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ThroughputRun {
    pub system: String,
    pub scenario: String,
    pub load: LoadResult,
    /// Server CPU time (all threads) during the window.
    pub server_cpu_s: f64,
    /// Server CPU time per reply, in microseconds.
    pub cpu_us_per_msg: f64,
    /// Peak RSS of the server during the scenario.
    pub peak_rss_kib: u64,
}

/// Idle authenticated connections held open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct IdleRun {
    pub system: String,
    pub connections: usize,
    pub rss_before_kib: u64,
    pub rss_after_kib: u64,
    pub peak_kib: u64,
    /// `(after - before) / connections`.
    pub per_connection_kib: f64,
    /// Time to open them all.
    pub connect_s: f64,
}

/// Process start to first reply.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ColdStart {
    pub system: String,
    /// `warm`, `off` (compile cache) or `n/a`.
    pub cache: String,
    pub runs_ms: Vec<f64>,
    pub median_ms: f64,
    /// Median process start to `listening on`.
    pub listening_median_ms: f64,
}

/// Tenant B's latency alone and while tenant A runs loop-forever.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Noisy {
    pub quiet: LoadResult,
    pub noisy: LoadResult,
    /// A's hammer (its replies are `timeout` errors by design).
    pub hammer: LoadResult,
    pub description: String,
}

/// A criterion measurement.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Micro {
    pub language: String,
    /// `fresh` (instantiate + call) or `warm` (call on a pooled instance).
    pub variant: String,
    pub mean_us: f64,
    pub median_us: f64,
    pub component_bytes: Option<u64>,
}

/// A goal (issues 6 and 15) and where this run stands.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    pub goal: String,
    pub measured: String,
    /// `None` when it could not be measured in this run.
    pub met: Option<bool>,
}

/// Microseconds as milliseconds, two decimals below 10 ms.
pub(crate) fn ms(us: f64) -> String {
    if us < 10_000.0 {
        format!("{:.2}", us / 1000.0)
    } else {
        format!("{:.1}", us / 1000.0)
    }
}

/// The median of `v` (0 when empty).
pub fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}
