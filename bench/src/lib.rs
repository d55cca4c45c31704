//! extws-bench: the instrument of issues 6 and 15.
//!
//! * [`load`] — the load generator (connections × depth, warm-up, HDR latency histogram);
//! * [`servers`] — starting and stopping the servers under test;
//! * [`procstat`] — a server's CPU time and (peak) RSS from /proc, CPU pinning, fd limits;
//! * [`suite`] — every scenario against every system in one invocation;
//! * [`payload`] — throughput by request size (100 B to 1 MiB);
//! * [`connections`] — idle connections to the open-file limit, and a topic push to 10,000;
//! * [`tenants`] — 1 to 1,000 tenants in one server: startup, RSS, spread vs one;
//! * [`targets`] — the goals of issues 6 and 15 checked against a run;
//! * [`report`] / [`chart`] / [`dimension_chart`] — results.json, results.md, chart.png and
//!   payload.png, connections.png, tenants.png;
//! * [`soak`] / [`soak_chart`] — `make soak`: long mixed load, RSS/fds/p99 sampled, soak.png;
//! * [`calc`] — the calc logic compiled into the `native` baseline;
//! * [`history`] — `extws-bench history`: push history's cost per push, and a 10,000-user
//!   push storm's footprint in the store.
//!
//! `docs/benchmarks.md` explains how to run it and how to read the outputs.

pub mod calc;
pub mod chart;
pub mod connections;
pub mod dimension_chart;
pub mod history;
pub mod load;
pub mod payload;
pub mod procstat;
pub mod report;
pub mod servers;
pub mod soak;
pub mod soak_chart;
pub mod suite;
pub mod targets;
pub mod tenants;
