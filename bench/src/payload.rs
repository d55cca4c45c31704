//! How request size costs: the calc request with `Data` of about 100 B, 10 KiB, 100 KiB and
//! 1 MiB (`{"numbers":[1,1,...]}`, so the guest parses and sums every item) at 16 connections,
//! one in flight each, against native, node and Rust calc fresh and pooled. The rows go into
//! results.md and payload.png.

use std::fmt::Write as _;

use crate::ctx::{Ctx, System};
use crate::load::LoadSpec;
use crate::records::{ThroughputRun, ms};

/// The sizes measured: (scenario name, bytes of `Data`).
pub const SIZES: [(&str, usize); 4] = [
    ("100 B", 100),
    ("10 KiB", 10 << 10),
    ("100 KiB", 100 << 10),
    ("1 MiB", 1 << 20),
];

/// The systems measured, when the run has them.
pub const SYSTEMS: [&str; 4] = ["native", "node", "extws rust/fresh", "extws rust/pooled"];

/// Connections of each payload run (one request in flight each).
pub const CONNECTIONS: usize = 16;

/// A calc `Data` of `bytes` bytes (within one): as many `1`s as fit.
pub fn data(bytes: usize) -> String {
    let prefix = r#"{"numbers":["#;
    let n = (bytes.saturating_sub(prefix.len() + 1) / 2).max(1);
    let mut s = String::with_capacity(prefix.len() + 2 * n + 2);
    s.push_str(prefix);
    for i in 0..n {
        if i > 0 {
            s.push(',');
        }
        s.push('1');
    }
    s.push_str("]}");
    s
}

/// Every size against every system of [`SYSTEMS`] among `systems`.
pub(crate) fn run(
    ctx: &Ctx<'_>,
    systems: &[System],
    notes: &mut Vec<String>,
) -> Vec<ThroughputRun> {
    let mut out = Vec::new();
    for system in systems
        .iter()
        .filter(|s| SYSTEMS.contains(&s.info.name.as_str()))
    {
        // The sizes measured before a failure stay in the table.
        let sized = |url: &str| {
            SIZES
                .iter()
                .map(|&(name, bytes)| {
                    let spec = LoadSpec {
                        data: data(bytes),
                        ..LoadSpec::calc(url, CONNECTIONS, 1)
                    };
                    (name, spec)
                })
                .collect()
        };
        if let Err(e) = ctx.runs(system, &mut out, sized) {
            notes.push(format!("{}: payload runs failed: {e:#}", system.info.name));
        }
    }
    out
}

/// The payload table of results.md (nothing when no payload run was made).
pub fn markdown(payload: &[ThroughputRun], md: &mut String) {
    if payload.is_empty() {
        return;
    }
    let _ = writeln!(
        md,
        "## Payload: calc `Data` of 100 B to 1 MiB ({CONNECTIONS} connections, 1 in flight each)\n"
    );
    md.push_str(
        "| system | Data | msgs/s | × native | MB/s in | p50 ms | p99 ms | server CPU µs/msg | peak RSS MiB | errors |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for (name, bytes) in SIZES {
        let native = payload
            .iter()
            .find(|p| p.system == "native" && p.scenario == name)
            .map(|p| p.load.msgs_per_s)
            .filter(|n| *n > 0.0);
        for p in payload.iter().filter(|p| p.scenario == name) {
            let l = &p.load;
            let _ = writeln!(
                md,
                "| {} | {name} | {:.0} | {} | {:.1} | {} | {} | {:.1} | {:.1} | {} |",
                p.system,
                l.msgs_per_s,
                native.map_or("–".into(), |n| format!("{:.2}", l.msgs_per_s / n)),
                l.msgs_per_s * bytes as f64 / 1e6,
                ms(l.latency.p50_us),
                ms(l.latency.p99_us),
                p.cpu_us_per_msg,
                p.peak_rss_kib as f64 / 1024.0,
                l.errors
            );
        }
    }
    md.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_json_of_about_the_size_asked() {
        for (_, bytes) in SIZES {
            let d = data(bytes);
            assert!(d.len().abs_diff(bytes) <= 1, "{bytes}: {}", d.len());
            let v: serde_json::Value = serde_json::from_str(&d).expect("JSON");
            assert!(v["numbers"].as_array().is_some_and(|a| !a.is_empty()));
        }
    }
}
