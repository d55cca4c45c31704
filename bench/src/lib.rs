//! extws-bench: the instrument of issues 6 and 15.
//!
//! Layout (each module owns one concern; dependencies point down this list, never up):
//!
//! * [`suite`] — every scenario against every system in one invocation (throughput, idle
//!   connections, cold start, noisy neighbour, and the parts below), then its outputs;
//! * [`soak`] — `make soak`: long mixed load, RSS/fds/p99 sampled, verdicts, soak.png;
//! * [`history`] — `extws-bench history`: push history's cost per push, and a 10,000-user
//!   push storm's footprint in the store;
//! * [`targets`] — the goals of issues 6 and 15 checked against a run;
//! * [`dimension_chart`] — payload.png, connections.png, tenants.png;
//! * [`chart`] — chart.png, and the fonts every chart draws with;
//! * [`report`] — results.json (everything one suite run measured) and results.md;
//! * [`payload`] — throughput by request size (100 B to 1 MiB);
//! * [`connections`] — idle connections to the open-file limit, and a topic push to 10,000;
//! * [`tenants`] — 1 to 1,000 tenants in one server: startup, RSS, spread vs one;
//! * [`ctx`] — what every part of a suite run shares: its inputs and windows, the generated
//!   configs, starting extws-wasm, one measured load run;
//! * [`records`] — the records results.json is made of (systems, runs, cold starts, ...);
//! * [`servers`] — starting and stopping the servers under test;
//! * [`load`] — the load generator (connections × depth, warm-up, HDR latency histogram);
//! * [`procstat`] — a server's CPU time and (peak) RSS from /proc, CPU pinning, fd limits;
//! * [`calc`] — the calc logic compiled into the `native` baseline.
//!
//! The binaries, `main.rs` (the `extws-bench` command line) and `bin/native.rs` (the `native`
//! baseline), are crates of their own on top of this library. `docs/benchmarks.md` explains
//! how to run it and how to read the outputs.

pub mod calc;
pub mod chart;
pub mod connections;
pub mod ctx;
pub mod dimension_chart;
pub mod history;
pub mod load;
pub mod payload;
pub mod procstat;
pub mod records;
pub mod report;
pub mod servers;
pub mod soak;
pub mod suite;
pub mod targets;
pub mod tenants;
