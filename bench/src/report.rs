//! The results document (`results.json`) and its markdown rendering (`results.md`).

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::records::{ColdStart, IdleRun, Micro, Noisy, SystemInfo, Target, ThroughputRun, ms};

/// The throughput scenarios: (name, connections, depth).
pub const SCENARIOS: [(&str, usize, usize); 4] = [
    ("c1d1", 1, 1),
    ("c16d1", 16, 1),
    ("c256d1", 256, 1),
    ("c64d16", 64, 16),
];

/// Everything one suite run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Results {
    /// `quick` or `full`.
    pub mode: String,
    /// Unix time the run started.
    pub started_unix: u64,
    /// Commit of the repository, when known.
    pub git_commit: Option<String>,
    /// CPU, cores, memory, kernel.
    pub machine: serde_json::Value,
    /// Where the client and the servers ran.
    pub placement: String,
    /// Warm-up and window of each throughput run.
    pub warmup_s: f64,
    pub window_s: f64,
    /// The servers measured.
    pub systems: Vec<SystemInfo>,
    pub throughput: Vec<ThroughputRun>,
    pub idle: Vec<IdleRun>,
    pub cold_start: Vec<ColdStart>,
    pub noisy: Option<Noisy>,
    pub micro: Vec<Micro>,
    /// Throughput by request size (scenario names from [`crate::payload::SIZES`]).
    #[serde(default)]
    pub payload: Vec<ThroughputRun>,
    /// Many idle connections on one server, then a topic push to part of them.
    #[serde(default)]
    pub connections: Option<crate::connections::ConnectionScale>,
    /// Many tenants in one server.
    #[serde(default)]
    pub tenants: Option<crate::tenants::TenantScale>,
    pub targets: Vec<Target>,
    /// Things skipped or worth knowing about this run.
    pub notes: Vec<String>,
}

impl Results {
    /// A throughput run by system and scenario.
    pub fn run(&self, system: &str, scenario: &str) -> Option<&ThroughputRun> {
        self.throughput
            .iter()
            .find(|r| r.system == system && r.scenario == scenario)
    }

    /// The markdown report.
    pub fn markdown(&self) -> String {
        let mut md = String::new();
        let m = &self.machine;
        let _ = writeln!(md, "# extws-wasm benchmarks ({} run)\n", self.mode);
        let _ = writeln!(
            md,
            "Machine: {} — {} cores, {} GiB, {} (kernel {}). Commit: {}. Placement: {}. \
             Throughput runs: {:.1} s warm-up, then a window of up to {:.1} s.\n",
            m["cpu"].as_str().unwrap_or("?"),
            m["cores"],
            m["memory_gib"],
            m["os"].as_str().unwrap_or("?"),
            m["kernel"].as_str().unwrap_or("?"),
            self.git_commit.as_deref().unwrap_or("unknown"),
            self.placement,
            self.warmup_s,
            self.window_s,
        );
        if !self.targets.is_empty() {
            md.push_str(
                "## Targets (issues 6 and 15)\n\n| target | goal | measured | met |\n|---|---|---|---|\n",
            );
            for t in &self.targets {
                let met = match t.met {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "n/a",
                };
                let _ = writeln!(md, "| {} | {} | {} | {met} |", t.name, t.goal, t.measured);
            }
            md.push('\n');
        }
        for (scenario, c, d) in SCENARIOS {
            let rows: Vec<&ThroughputRun> = self
                .throughput
                .iter()
                .filter(|r| r.scenario == scenario)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let native = self.run("native", scenario).map(|r| r.load.msgs_per_s);
            let node = self.run("node", scenario).map(|r| r.load.msgs_per_s);
            let _ = writeln!(
                md,
                "## {scenario}: {c} connection{}, {d} in flight each\n",
                if c == 1 { "" } else { "s" }
            );
            md.push_str(
                "| system | msgs/s | × native | × node | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/msg | peak RSS MiB | errors |\n\
                 |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
            );
            for r in rows {
                let l = &r.load;
                let times = |base: Option<f64>| {
                    base.filter(|n| *n > 0.0)
                        .map_or("–".into(), |n| format!("{:.2}", l.msgs_per_s / n))
                };
                let (ratio, to_node) = (times(native), times(node));
                let _ = writeln!(
                    md,
                    "| {} | {:.0} | {ratio} | {to_node} | {} | {} | {} | {} | {:.1} | {:.1} | {} |",
                    r.system,
                    l.msgs_per_s,
                    ms(l.latency.p50_us),
                    ms(l.latency.p90_us),
                    ms(l.latency.p99_us),
                    ms(l.latency.max_us),
                    r.cpu_us_per_msg,
                    r.peak_rss_kib as f64 / 1024.0,
                    l.errors,
                );
            }
            md.push('\n');
        }
        if !self.idle.is_empty() {
            md.push_str("## Idle authenticated connections\n\n| system | connections | RSS before MiB | RSS after MiB | KiB per connection | connect s |\n|---|---:|---:|---:|---:|---:|\n");
            for i in &self.idle {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
                    i.system,
                    i.connections,
                    i.rss_before_kib as f64 / 1024.0,
                    i.rss_after_kib as f64 / 1024.0,
                    i.per_connection_kib,
                    i.connect_s
                );
            }
            md.push('\n');
        }
        if !self.cold_start.is_empty() {
            md.push_str("## Cold start: process start → first reply\n\n| system | compile cache | median ms | to `listening` ms | runs ms |\n|---|---|---:|---:|---|\n");
            for c in &self.cold_start {
                let runs: Vec<String> = c.runs_ms.iter().map(|r| format!("{r:.0}")).collect();
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.1} | {} |",
                    c.system,
                    c.cache,
                    c.median_ms,
                    c.listening_median_ms,
                    runs.join(", ")
                );
            }
            md.push('\n');
        }
        if let Some(n) = &self.noisy {
            let _ = writeln!(md, "## Noisy neighbour\n\n{}\n", n.description);
            md.push_str("| tenant B (calc) | msgs/s | p50 ms | p90 ms | p99 ms | max ms | errors |\n|---|---:|---:|---:|---:|---:|---:|\n");
            for (name, l) in [("alone", &n.quiet), ("A hammering", &n.noisy)] {
                let _ = writeln!(
                    md,
                    "| {name} | {:.0} | {} | {} | {} | {} | {} |",
                    l.msgs_per_s,
                    ms(l.latency.p50_us),
                    ms(l.latency.p90_us),
                    ms(l.latency.p99_us),
                    ms(l.latency.max_us),
                    l.errors
                );
            }
            let _ = writeln!(
                md,
                "\nTenant A received {} replies in the window (all `timeout` by design).\n",
                n.hammer.completed
            );
        }
        if !self.micro.is_empty() {
            md.push_str("## Per language: component size, instantiate+call (fresh) and warm call (criterion)\n\n| language | component KiB | fresh µs (median) | warm µs (median) |\n|---|---:|---:|---:|\n");
            let mut langs: Vec<&str> = self.micro.iter().map(|m| m.language.as_str()).collect();
            langs.dedup();
            for lang in langs {
                let get = |v: &str| {
                    self.micro
                        .iter()
                        .find(|m| m.language == lang && m.variant == v)
                };
                let size = get("fresh")
                    .or(get("warm"))
                    .and_then(|m| m.component_bytes)
                    .map_or("–".into(), |b| format!("{:.0}", b as f64 / 1024.0));
                let us = |v: &str| get(v).map_or("–".into(), |m| format!("{:.1}", m.median_us));
                let _ = writeln!(md, "| {lang} | {size} | {} | {} |", us("fresh"), us("warm"));
            }
            md.push('\n');
        }
        crate::payload::markdown(&self.payload, &mut md);
        if let Some(c) = &self.connections {
            c.markdown(&mut md);
        }
        if let Some(t) = &self.tenants {
            t.markdown(&mut md);
        }
        if !self.notes.is_empty() {
            md.push_str("## Notes\n\n");
            for n in &self.notes {
                let _ = writeln!(md, "- {n}");
            }
        }
        md
    }
}
