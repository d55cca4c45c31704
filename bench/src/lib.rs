//! extws-bench: the instrument of issue 6.
//!
//! * [`load`] — the load generator (connections × depth, warm-up, HDR latency histogram);
//! * [`servers`] — starting and stopping the servers under test;
//! * [`procstat`] — a server's CPU time and (peak) RSS from /proc, CPU pinning, fd limits;
//! * [`suite`] — every scenario against every system in one invocation;
//! * [`report`] / [`chart`] — results.json, results.md and chart.png;
//! * [`soak`] / [`soak_chart`] — `make soak`: long mixed load, RSS/fds/p99 sampled, soak.png;
//! * [`calc`] — the calc logic compiled into the `native` baseline;
//! * [`history`] — `extws-bench history`: push history's cost per push, and a 10,000-user
//!   push storm's footprint in the store.
//!
//! `docs/benchmarks.md` explains how to run it and how to read the outputs.

pub mod calc;
pub mod chart;
pub mod history;
pub mod load;
pub mod procstat;
pub mod report;
pub mod servers;
pub mod soak;
pub mod soak_chart;
pub mod suite;
