//! The whole benchmark in one invocation, so every ratio compares systems measured on the same
//! machine state: throughput scenarios against every system, idle connections, cold start,
//! noisy neighbour, the parts by dimension (payload, connections, tenants), and the criterion
//! micro-benchmark's results (run before by `run.sh`).
//!
//! The systems under test are made in `suite/systems.rs`; the scenarios of this file's own
//! each have a file beside it: `throughput.rs`, `idle.rs`, `cold.rs` and `noisy.rs`.

mod cold;
mod idle;
mod noisy;
mod systems;
mod throughput;

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::ctx::{Ctx, Mode, SuiteArgs, init_data};
use crate::procstat;
use crate::records::Micro;
use crate::report::Results;

/// Guest languages, in report order; `calc-<lang>.wasm` in the guests directory.
pub const LANGUAGES: [&str; 6] = ["rust", "c", "go", "tinygo", "js", "python"];

/// Instance lifecycles of extws-wasm.
pub const LIFECYCLES: [&str; 3] = ["fresh", "pooled", "connection"];

/// Runs everything and writes results.json, results.md and chart.png into `args.out`.
pub fn run(args: &SuiteArgs) -> anyhow::Result<Results> {
    std::fs::create_dir_all(args.out.join("configs"))?;
    let nofile = procstat::raise_nofile();
    let allowed = procstat::allowed_cpus();
    let (client_cpus, server_cpus) = if args.pin && allowed.len() >= 2 {
        let half = allowed.len() / 2;
        (allowed[..half].to_vec(), Some(allowed[half..].to_vec()))
    } else {
        (allowed.clone(), None)
    };
    if server_cpus.is_some() {
        procstat::pin_current(&client_cpus);
    }
    let placement = match &server_cpus {
        Some(s) => format!(
            "load generator on CPU {client_cpus:?}, server on CPU {s:?} (throughput and noisy \
             neighbour); unpinned for idle and cold start"
        ),
        None => "unpinned: load generator and server share every CPU".to_string(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(client_cpus.len().max(1))
        .enable_all()
        .build()?;
    let params = args.mode.params();
    let mut results = Results {
        mode: match args.mode {
            Mode::Quick => "quick".into(),
            Mode::Full => "full".into(),
        },
        started_unix: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs()),
        git_commit: git_commit(&args.repo),
        machine: procstat::machine(),
        placement,
        warmup_s: params.warmup.as_secs_f64(),
        window_s: params.window.as_secs_f64(),
        ..Default::default()
    };
    if nofile < params.idle_connections as u64 + 200 {
        results.notes.push(format!(
            "open-file limit is {nofile}: idle connections reduced to fit (raise `ulimit -Hn`)"
        ));
    }
    let ctx = Ctx {
        args,
        params,
        rt,
        server_cpus,
        query: format!("/?{}", init_data()),
        nofile,
    };
    let systems = ctx.systems(&mut results.notes)?;
    results.systems = systems.iter().map(|s| s.info.clone()).collect();
    let skip = |part: &str| args.skip.iter().any(|s| s == part);

    if !skip("throughput") {
        for system in &systems {
            match ctx.throughput(system) {
                Ok(runs) => results.throughput.extend(runs),
                Err(e) => {
                    eprintln!("  {}: FAILED: {e:#}", system.info.name);
                    results
                        .notes
                        .push(format!("{}: throughput failed: {e:#}", system.info.name));
                }
            }
        }
    }
    if !skip("idle") {
        let n = ctx
            .params
            .idle_connections
            .min(nofile.saturating_sub(200) as usize);
        for system in systems.iter().filter(|s| {
            matches!(s.info.kind.as_str(), "native" | "node" | "predecessor")
                || s.info.name == "extws rust/fresh"
        }) {
            match ctx.idle(system, n) {
                Ok(run) => results.idle.push(run),
                Err(e) => results
                    .notes
                    .push(format!("{}: idle failed: {e:#}", system.info.name)),
            }
        }
    }
    if !skip("cold") {
        ctx.cold_starts(&systems, &mut results);
    }
    if !skip("noisy") {
        match ctx.noisy() {
            Ok(n) => results.noisy = Some(n),
            Err(e) => results.notes.push(format!("noisy neighbour failed: {e:#}")),
        }
    }
    if !skip("payload") {
        results.payload = crate::payload::run(&ctx, &systems, &mut results.notes);
    }
    if !skip("connections") {
        // Room under the open-file limit for the server's own files and the bench's sockets.
        let size = match ctx.args.mode {
            Mode::Quick => crate::connections::Size {
                connections: 2_000,
                subscribers: 1_000,
                idle_window: Duration::from_secs(3),
                pushes: 3,
            },
            Mode::Full => crate::connections::Size {
                connections: 19_000,
                subscribers: 10_000,
                idle_window: Duration::from_secs(35),
                pushes: 5,
            },
        };
        let fit = (nofile.saturating_sub(400) as usize).min(size.connections);
        if fit < size.connections {
            results.notes.push(format!(
                "open-file limit is {nofile}: the connections run opened {fit} instead of {}",
                size.connections
            ));
        }
        let size = crate::connections::Size {
            connections: fit,
            ..size
        };
        match crate::connections::run(&ctx, &size) {
            Ok(c) => results.connections = Some(c),
            Err(e) => results.notes.push(format!("connections run failed: {e:#}")),
        }
    }
    if !skip("tenants") {
        match crate::tenants::run(&ctx, ctx.params.cold_runs.min(5)) {
            Ok(t) => results.tenants = Some(t),
            Err(e) => results.notes.push(format!("tenants run failed: {e:#}")),
        }
    }
    if let Some(dir) = &args.criterion {
        results.micro = read_criterion(dir, &args.guests);
        if results.micro.is_empty() {
            results.notes.push(format!(
                "no criterion results in {} (run `cargo bench -p extws-bench`)",
                dir.display()
            ));
        }
    }
    results.targets = crate::targets::all(&results);
    write_outputs(&results, &args.out)?;
    Ok(results)
}

/// Writes results.json, results.md, chart.png and the charts per dimension.
pub fn write_outputs(results: &Results, out: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(out)?;
    std::fs::write(
        out.join("results.json"),
        serde_json::to_string_pretty(results)?,
    )?;
    std::fs::write(out.join("results.md"), results.markdown())?;
    crate::chart::draw(results, &out.join("chart.png"))?;
    crate::dimension_chart::draw_all(results, out)?;
    Ok(())
}

fn git_commit(repo: &Path) -> Option<String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()?;
    let commit = String::from_utf8(out.stdout).ok()?.trim().to_string();
    let dirty = std::process::Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| !o.stdout.is_empty());
    (!commit.is_empty()).then(|| {
        if dirty {
            format!("{commit} (modified)")
        } else {
            commit
        }
    })
}

/// Criterion's `calc/<lang>-<variant>` estimates.
fn read_criterion(dir: &Path, guests: &Path) -> Vec<Micro> {
    let mut out = Vec::new();
    for lang in LANGUAGES {
        for variant in ["fresh", "warm"] {
            let file = dir.join(format!("{lang}-{variant}/new/estimates.json"));
            let Ok(text) = std::fs::read_to_string(&file) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            let us = |k: &str| {
                (v[k]["point_estimate"].as_f64().unwrap_or(0.0) / 1000.0 * 100.0).round() / 100.0
            };
            let bytes = std::fs::metadata(guests.join(format!("calc-{lang}.wasm")))
                .map(|m| m.len())
                .ok();
            out.push(Micro {
                language: lang.into(),
                variant: variant.into(),
                mean_us: us("mean"),
                median_us: us("median"),
                component_bytes: bytes,
            });
        }
    }
    out
}
