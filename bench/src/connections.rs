//! Connections to the limit: as many authenticated idle connections to one server as the
//! open-file limit allows (quick: 2,000), opened in four steps with the server's RSS and the
//! kernel's slab memory read after each, so the cost per connection is a slope rather than one
//! difference. Then part of them (full: 10,000) subscribe to a topic and receive pushes: the
//! time until the last subscriber has each push, and the server's CPU per delivered message.
//!
//! The server has two tenants: `/` serves calc (the idle connections), `/push` the counter
//! example, whose `IncrementRequest` publishes `CounterChanged` to topic `counter` (its
//! embedded store lives under the output directory). Every client socket is read by a task
//! of its own, so pings are answered and the server sees live clients.

mod clients;

use std::fmt::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};
use tokio::task::JoinHandle;

use crate::ctx::{Ctx, tenant_toml};
use crate::load;
use crate::procstat;
use clients::{Counters, pushes, read};

/// The server's memory after some number of connections.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Step {
    pub connections: usize,
    /// Subscribed to the topic (the last step).
    pub subscribers: usize,
    pub rss_kib: u64,
    /// The whole machine's kernel slab (`Slab:` of /proc/meminfo): both ends of every
    /// loopback connection are in it.
    pub kernel_slab_kib: u64,
}

/// One push to every subscriber.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Push {
    pub delivered: usize,
    /// From sending the request that publishes to the first and the last delivery.
    pub first_ms: f64,
    pub last_ms: f64,
    pub server_cpu_ms: f64,
    pub cpu_us_per_delivered: f64,
}

/// What the connections run measured.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConnectionScale {
    /// Open at the end (idle + subscribers).
    pub connections: usize,
    pub subscribers: usize,
    /// The open-file limit each process had.
    pub open_file_limit: u64,
    /// Before the first connection (RSS) and after each step.
    pub steps: Vec<Step>,
    /// Least-squares slope of RSS over the idle steps.
    pub per_connection_kib: f64,
    /// Slope of the kernel slab over the idle steps (both ends of the connection).
    pub kernel_kib_per_connection: f64,
    /// What subscribing added per subscriber, beyond an idle connection.
    pub per_subscriber_kib: f64,
    /// Time to open the idle connections.
    pub connect_s: f64,
    /// Server CPU over an idle window with every connection open.
    pub idle_window_s: f64,
    pub idle_cpu_ms: f64,
    /// Server CPU over the same window before the first connection.
    #[serde(default)]
    pub no_connection_cpu_ms: f64,
    /// The difference as % of one core, per 10,000 connections.
    pub idle_cpu_pct_per_10k: f64,
    pub pushes: Vec<Push>,
}

/// How big the run is.
pub(crate) struct Size {
    pub(crate) connections: usize,
    pub(crate) subscribers: usize,
    pub(crate) idle_window: Duration,
    pub(crate) pushes: usize,
}

/// Runs it. `size.connections` should leave room under the open-file limit.
pub(crate) fn run(ctx: &Ctx<'_>, size: &Size) -> anyhow::Result<ConnectionScale> {
    let calc = ctx.component("rust").context("calc-rust.wasm")?;
    let counter = ctx.args.guests.join("counter.wasm");
    if !counter.is_file() {
        bail!("{} is missing (make guests)", counter.display());
    }
    let subscribers = size
        .subscribers
        .min(size.connections.saturating_sub(size.connections / 4));
    let idle = size.connections - subscribers;
    let data = ctx.args.out.join("connections-data");
    let _ = std::fs::remove_dir_all(&data);
    let text = config(&calc, &counter, &data, size.connections + 100);
    let server = ctx
        .extws_cmd(&ctx.write_config("connections", &text)?, None)
        .spawn(Duration::from_secs(300))?;
    let url = server.url(&ctx.query);
    let push_url = server.url(&format!("/push{}", &ctx.query[1..]));
    ctx.rt.block_on(load::one_request(&url))?;
    std::thread::sleep(Duration::from_millis(300));
    // What the server spends with no connection at all (its timers, the store): subtracted.
    let cpu0 = procstat::cpu_time(server.pid)?;
    std::thread::sleep(size.idle_window);
    let base_cpu = procstat::cpu_time(server.pid)?.saturating_sub(cpu0);
    let mut steps = vec![step(server.pid, 0, 0)?];
    let counters = Arc::new(Counters::default());
    let base = Instant::now();
    let mut readers: Vec<JoinHandle<()>> = Vec::with_capacity(size.connections);
    let started = Instant::now();
    for k in 1..=4 {
        let n = idle * k / 4 - idle * (k - 1) / 4;
        let sockets = ctx.rt.block_on(load::connect_all(&url, n, 128))?;
        for ws in sockets {
            readers.push(ctx.rt.spawn(read(ws, false, counters.clone(), base)));
        }
        std::thread::sleep(Duration::from_millis(1000));
        steps.push(step(server.pid, idle * k / 4, 0)?);
    }
    let connect_s = started.elapsed().as_secs_f64() - 4.0;
    let sockets = ctx
        .rt
        .block_on(load::connect_all(&push_url, subscribers, 128))?;
    for ws in sockets {
        readers.push(ctx.rt.spawn(read(ws, true, counters.clone(), base)));
    }
    wait_for(Duration::from_secs(120), || {
        counters.subscribed.load(Ordering::Acquire) >= subscribers
    })
    .context("subscribing")?;
    std::thread::sleep(Duration::from_millis(1000));
    steps.push(step(server.pid, size.connections, subscribers)?);

    let cpu0 = procstat::cpu_time(server.pid)?;
    std::thread::sleep(size.idle_window);
    let idle_cpu = procstat::cpu_time(server.pid)?.saturating_sub(cpu0);
    // The server still answers with everything open?
    ctx.rt.block_on(load::one_request(&url))?;

    let pushes = ctx.rt.block_on(pushes(
        &push_url,
        size.pushes,
        subscribers,
        &counters,
        base,
        server.pid,
    ))?;
    for r in &readers {
        r.abort();
    }
    drop(readers);
    server.stop();
    let _ = std::fs::remove_dir_all(&data);

    let idle_steps = &steps[..steps.len() - 1];
    let per_connection_kib = slope(idle_steps, |s| s.rss_kib as f64);
    let last = &steps[steps.len() - 1];
    let before = &steps[steps.len() - 2];
    let cpu_ms = idle_cpu.as_secs_f64() * 1000.0;
    let base_cpu_ms = base_cpu.as_secs_f64() * 1000.0;
    let out = ConnectionScale {
        connections: size.connections,
        subscribers,
        open_file_limit: ctx.nofile,
        per_connection_kib: round2(per_connection_kib),
        kernel_kib_per_connection: round2(slope(idle_steps, |s| s.kernel_slab_kib as f64)),
        per_subscriber_kib: round2(
            (last.rss_kib as f64 - before.rss_kib as f64) / subscribers.max(1) as f64
                - per_connection_kib,
        ),
        connect_s: round2(connect_s),
        idle_window_s: size.idle_window.as_secs_f64(),
        idle_cpu_ms: round2(cpu_ms),
        no_connection_cpu_ms: round2(base_cpu_ms),
        idle_cpu_pct_per_10k: round2(
            (cpu_ms - base_cpu_ms).max(0.0)
                / 10.0
                / size.idle_window.as_secs_f64()
                / size.connections as f64
                * 10_000.0,
        ),
        steps,
        pushes,
    };
    eprintln!(
        "  connections x{}: {:.1} KiB each (kernel {:.1} KiB, both ends), idle CPU {:.2} % of a \
         core per 10k; push to {subscribers}: {}",
        out.connections,
        out.per_connection_kib,
        out.kernel_kib_per_connection,
        out.idle_cpu_pct_per_10k,
        out.pushes
            .iter()
            .map(|p| format!("{:.1} ms", p.last_ms))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(out)
}

fn config(calc: &Path, counter: &Path, data: &Path, max_connections: usize) -> String {
    format!(
        "# Generated by extws-bench: idle connections on `/` (calc), topic subscribers on \
         `/push` (counter).\ndata_dir = \"{}\"\n\n{}\n{}",
        data.display(),
        tenant_toml("idle", "/", calc, "fresh", max_connections),
        tenant_toml("push", "/push", counter, "fresh", max_connections)
    )
}

fn step(pid: u32, connections: usize, subscribers: usize) -> anyhow::Result<Step> {
    Ok(Step {
        connections,
        subscribers,
        rss_kib: procstat::memory(pid)?.rss_kib,
        kernel_slab_kib: slab_kib(),
    })
}

/// `Slab:` of /proc/meminfo, in KiB (0 when unreadable).
fn slab_kib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("Slab:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0)
}

/// Least-squares slope of `y` over the steps' connections.
fn slope(steps: &[Step], y: impl Fn(&Step) -> f64) -> f64 {
    let n = steps.len() as f64;
    let mx = steps.iter().map(|s| s.connections as f64).sum::<f64>() / n;
    let my = steps.iter().map(&y).sum::<f64>() / n;
    let (mut cov, mut var) = (0.0, 0.0);
    for s in steps {
        let dx = s.connections as f64 - mx;
        cov += dx * (y(s) - my);
        var += dx * dx;
    }
    if var > 0.0 { cov / var } else { 0.0 }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

fn wait_for(timeout: Duration, done: impl Fn() -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    while !done() {
        if Instant::now() > deadline {
            bail!("not done within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

impl ConnectionScale {
    /// The connections section of results.md, with the extrapolation to 100k and 1M.
    pub fn markdown(&self, md: &mut String) {
        let _ = writeln!(
            md,
            "## Connections: {} authenticated idle connections to one server, {} of them \
             subscribed to a topic\n",
            self.connections, self.subscribers
        );
        md.push_str(
            "| connections | subscribed | server RSS MiB | kernel slab MiB (machine) |\n|---:|---:|---:|---:|\n",
        );
        for s in &self.steps {
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} | {:.1} |",
                s.connections,
                s.subscribers,
                s.rss_kib as f64 / 1024.0,
                s.kernel_slab_kib as f64 / 1024.0
            );
        }
        let base = self.steps.first().map_or(0.0, |s| s.rss_kib as f64);
        let _ = writeln!(
            md,
            "\nPer idle connection (slope over the steps): **{:.1} KiB** of server RSS and {:.1} \
             KiB of kernel slab for both ends of the loopback connection; a subscription adds \
             {:.1} KiB. Opening them took {:.2} s. Idle, with every connection open, the server \
             used {:.0} ms of CPU in {:.0} s ({:.0} ms with none open): **{:.2} % of a core per \
             10,000 connections**{}. Open-file limit: {}.\n",
            self.per_connection_kib,
            self.kernel_kib_per_connection,
            self.per_subscriber_kib,
            self.connect_s,
            self.idle_cpu_ms,
            self.idle_window_s,
            self.no_connection_cpu_ms,
            self.idle_cpu_pct_per_10k,
            if self.idle_window_s >= 30.0 {
                " (the window covers the first 30-s ping of every connection)"
            } else {
                " (shorter than the 30-s ping interval: no pings in it)"
            },
            self.open_file_limit,
        );
        md.push_str(
            "| extrapolated | server RSS | kernel slab (server side, ~half) | idle CPU |\n|---|---:|---:|---:|\n",
        );
        for n in [100_000.0, 1_000_000.0] {
            let _ = writeln!(
                md,
                "| {:.0}k connections | {:.0} MiB | {:.0} MiB | {:.1} % of a core |",
                n / 1000.0,
                (base + self.per_connection_kib * n) / 1024.0,
                self.kernel_kib_per_connection / 2.0 * n / 1024.0,
                self.idle_cpu_pct_per_10k * n / 10_000.0
            );
        }
        md.push('\n');
        if !self.pushes.is_empty() {
            let _ = writeln!(
                md,
                "Topic push to {} subscribers (counter's `IncrementRequest` publishes \
                 `CounterChanged`), one push after the other:\n",
                self.subscribers
            );
            md.push_str("| push | delivered | first ms | last ms | server CPU ms | CPU µs per delivered |\n|---:|---:|---:|---:|---:|---:|\n");
            for (i, p) in self.pushes.iter().enumerate() {
                let _ = writeln!(
                    md,
                    "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} |",
                    i + 1,
                    p.delivered,
                    p.first_ms,
                    p.last_ms,
                    p.server_cpu_ms,
                    p.cpu_us_per_delivered
                );
            }
            md.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_line_is_its_gradient() {
        let steps: Vec<Step> = (0..5)
            .map(|i| Step {
                connections: i * 1000,
                rss_kib: 5000 + 7 * (i * 1000) as u64,
                ..Default::default()
            })
            .collect();
        assert!((slope(&steps, |s| s.rss_kib as f64) - 7.0).abs() < 1e-9);
    }
}
