//! `extws-bench`: the benchmark suite (`suite`), one ad-hoc load run (`load`), push history's
//! cost and footprint (`history`), and re-rendering of a results.json (`report`). See
//! docs/benchmarks.md.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use clap::{Parser, Subcommand, ValueEnum};
use extws_bench::ctx::{self, Mode, SuiteArgs};
use extws_bench::load::{self, LoadSpec};
use extws_bench::procstat;
use extws_bench::report::Results;
use extws_bench::soak;
use extws_bench::suite;

/// Benchmarks of extws-wasm against a native and a predecessor baseline.
#[derive(Debug, Parser)]
#[command(name = "extws-bench")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ModeArg {
    Quick,
    Full,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant, reason = "parsed once per run")]
enum Command {
    /// Run every scenario against every system; write results.json, results.md, chart.png.
    Suite {
        /// quick (< ~3 minutes) or full.
        #[arg(long, value_enum, default_value = "quick")]
        mode: ModeArg,
        /// Output directory.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
        /// Repository root.
        #[arg(long, default_value = ".")]
        repo: PathBuf,
        /// extws-wasm binary (default: next to this one).
        #[arg(long)]
        extws: Option<PathBuf>,
        /// Native baseline binary (default: next to this one).
        #[arg(long)]
        native: Option<PathBuf>,
        /// Python interpreter with websockets and pydantic, for the predecessor.
        #[arg(long)]
        python: Option<PathBuf>,
        /// The predecessor server script.
        #[arg(long, default_value = "bench/predecessor/server.py")]
        predecessor: PathBuf,
        /// Node.js, for the `node` baseline (the npm `ws` package, handler in-process).
        #[arg(long)]
        node: Option<PathBuf>,
        /// The `node` baseline's server script, in a directory whose node_modules has `ws`
        /// (bench/run.sh installs bench/node there).
        #[arg(long)]
        node_server: Option<PathBuf>,
        /// Directory of the built components.
        #[arg(long, default_value = "target/guests")]
        guests: PathBuf,
        /// Criterion's output for the `calc` group (e.g. $CARGO_TARGET_DIR/criterion/calc).
        #[arg(long)]
        criterion: Option<PathBuf>,
        /// extws-wasm compile cache used for every run with a warm cache.
        #[arg(long, default_value = "target/bench/compile-cache")]
        compile_cache: PathBuf,
        /// Let the load generator and the server share every CPU instead of pinning them.
        #[arg(long)]
        no_pin: bool,
        /// Skip parts (comma-separated): throughput, idle, cold, noisy, payload, connections,
        /// tenants.
        #[arg(long, value_delimiter = ',')]
        skip: Vec<String>,
        /// Only systems whose name contains one of these (comma-separated), e.g. native,rust/fresh.
        #[arg(long, value_delimiter = ',')]
        only: Vec<String>,
    },
    /// One load run against a running server; prints the result as JSON.
    Load {
        /// ws://HOST:PORT/PATH?QUERY. `{initData}` in it is replaced by signed initData for
        /// the bench bot token, `{conn}` by each connection's index (0, 1, ...): `/t{conn}`
        /// spreads the connections over tenants t0, t1, ...
        #[arg(long)]
        url: String,
        /// Connections.
        #[arg(short = 'c', long, default_value_t = 16)]
        connections: usize,
        /// Measured messages per connection.
        #[arg(short = 'm', long, default_value_t = 10_000)]
        messages: u64,
        /// Requests in flight per connection.
        #[arg(short = 'd', long, default_value_t = 1)]
        depth: usize,
        /// Warm-up in milliseconds.
        #[arg(long, default_value_t = 500)]
        warmup_ms: u64,
        /// Longest measured window in milliseconds.
        #[arg(long, default_value_t = 10_000)]
        duration_ms: u64,
        /// Server process id: adds its CPU time per message and peak RSS.
        #[arg(long)]
        pid: Option<u32>,
    },
    /// `make soak`: a long steady mixed load against a release server, sampled every 10 s;
    /// writes soak.json, soak.csv, soak.png and exits 1 if a pass criterion failed.
    Soak {
        /// Length of the mixed phase, in seconds.
        #[arg(long, default_value_t = 600)]
        seconds: u64,
        /// Clean traffic alone before it (the p99 baseline), in seconds.
        #[arg(long, default_value_t = 30)]
        baseline_seconds: u64,
        /// Bound on the clean tenant's p99 over the mixed phase, in milliseconds.
        #[arg(long, default_value_t = 50)]
        p99_bound_ms: u64,
        /// extws-wasm binary (default: next to this one).
        #[arg(long)]
        extws: Option<PathBuf>,
        /// Directory of the built components.
        #[arg(long, default_value = "target/guests")]
        guests: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "target/soak")]
        out: PathBuf,
    },
    /// Push history: cost per push on vs off (embedded and Redis) and a push storm to 10,000
    /// users nobody is connected as; writes history.json and history.md.
    History {
        /// quick (~1 minute) or full.
        #[arg(long, value_enum, default_value = "quick")]
        mode: ModeArg,
        /// Output directory.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
    },
    /// Re-render results.md and chart.png from a results.json.
    Report {
        /// The results.json.
        #[arg(long, default_value = "target/bench/results.json")]
        input: PathBuf,
        /// Output directory.
        #[arg(long, default_value = "target/bench")]
        out: PathBuf,
    },
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Suite {
            mode,
            out,
            repo,
            extws,
            native,
            python,
            predecessor,
            node,
            node_server,
            guests,
            criterion,
            compile_cache,
            no_pin,
            skip,
            only,
        } => {
            let here = binary_dir()?;
            let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
            let args = SuiteArgs {
                mode: match mode {
                    ModeArg::Quick => Mode::Quick,
                    ModeArg::Full => Mode::Full,
                },
                out: abs(out),
                repo: abs(repo),
                extws: extws.unwrap_or_else(|| here.join("extws-wasm")),
                native: native.unwrap_or_else(|| here.join("extws-bench-native")),
                python,
                predecessor: abs(predecessor),
                node,
                node_server: node_server.map(abs),
                guests: abs(guests),
                criterion: criterion.map(abs),
                compile_cache: abs(compile_cache),
                pin: !no_pin,
                skip,
                only,
            };
            let results = suite::run(&args)?;
            println!("{}", results.markdown());
            eprintln!(
                "wrote {0}/results.json, {0}/results.md and {0}/chart.png",
                args.out.display()
            );
            Ok(())
        }
        Command::Load {
            url,
            connections,
            messages,
            depth,
            warmup_ms,
            duration_ms,
            pid,
        } => {
            procstat::raise_nofile();
            let url = url.replace("{initData}", &ctx::init_data());
            let spec = LoadSpec {
                messages,
                warmup: Duration::from_millis(warmup_ms),
                max_duration: Duration::from_millis(duration_ms),
                ..LoadSpec::calc(&url, connections, depth)
            };
            let rt = tokio::runtime::Runtime::new()?;
            let cpu0 = std::sync::Arc::new(std::sync::Mutex::new(Duration::ZERO));
            let result = {
                let cpu0 = cpu0.clone();
                rt.block_on(async {
                    let sockets = load::connect_all(&spec.url, connections, 64).await?;
                    load::run_on(&spec, sockets, move || {
                        if let Some(pid) = pid {
                            *cpu0.lock().unwrap() = procstat::cpu_time(pid).unwrap_or_default();
                        }
                    })
                    .await
                })?
            };
            let mut out = serde_json::to_value(&result)?;
            if let Some(pid) = pid {
                let cpu = procstat::cpu_time(pid)?.saturating_sub(*cpu0.lock().unwrap());
                out["server_cpu_s"] = cpu.as_secs_f64().into();
                out["cpu_us_per_msg"] =
                    (cpu.as_secs_f64() * 1e6 / result.completed.max(1) as f64).into();
                out["peak_rss_kib"] = procstat::memory(pid)?.hwm_kib.into();
            }
            println!("{}", serde_json::to_string_pretty(&out)?);
            Ok(())
        }
        Command::Soak {
            seconds,
            baseline_seconds,
            p99_bound_ms,
            extws,
            guests,
            out,
        } => {
            let here = binary_dir()?;
            let abs = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
            let args = soak::SoakArgs {
                duration: Duration::from_secs(seconds),
                baseline: Duration::from_secs(baseline_seconds),
                interval: Duration::from_secs(10),
                p99_bound: Duration::from_millis(p99_bound_ms),
                extws: extws.unwrap_or_else(|| here.join("extws-wasm")),
                guests: abs(guests),
                out: abs(out),
            };
            let report = soak::run(&args)?;
            soak::write_outputs(&report, &args.out)?;
            for v in &report.verdicts {
                let mark = if v.pass { "PASS" } else { "FAIL" };
                println!("{mark} {}: {}", v.name, v.detail);
            }
            println!(
                "clean p99: {:.2} ms baseline, {:.2} ms under mixed load; load avg {} -> {}",
                report.clean_p99_baseline_us as f64 / 1000.0,
                report.clean_p99_mixed_us as f64 / 1000.0,
                report.loadavg_start,
                report.loadavg_end
            );
            eprintln!(
                "wrote {0}/soak.json, {0}/soak.csv and {0}/soak.png",
                args.out.display()
            );
            if report.verdicts.iter().all(|v| v.pass) {
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::History { mode, out } => {
            let quick = matches!(mode, ModeArg::Quick);
            let scratch =
                std::env::temp_dir().join(format!("extws-bench-history-{}", std::process::id()));
            let args = extws_bench::history::HistoryArgs {
                sequential: if quick { 200 } else { 2000 },
                concurrent: if quick { 6400 } else { 64_000 },
                in_flight: 64,
                storm_users: 10_000,
                // Quick: 3 pushes each, 2 kept (trimmed by size), forgotten after 10 s.
                storm_pushes: if quick { 3 } else { 30 },
                storm_policy: extws_wasm::capabilities::push::HistoryPolicy {
                    size: if quick { 2 } else { 20 },
                    ttl: Duration::from_secs(if quick { 10 } else { 90 }),
                    max_bytes: extws_wasm::capabilities::ledger::DEFAULT_HISTORY_MAX_BYTES,
                },
                dir: scratch.clone(),
            };
            let report = extws_bench::history::run(&args);
            let _ = std::fs::remove_dir_all(&scratch);
            let report = report?;
            std::fs::create_dir_all(&out)?;
            std::fs::write(
                out.join("history.json"),
                serde_json::to_string_pretty(&report)?,
            )?;
            std::fs::write(out.join("history.md"), report.markdown())?;
            println!("{}", report.markdown());
            let failures = report.failures();
            for f in &failures {
                println!("FAIL {f}");
            }
            if failures.is_empty() {
                println!(
                    "PASS the storm's history stayed within its size, was forgotten after the TTL, and its space was reused"
                );
                Ok(())
            } else {
                std::process::exit(1)
            }
        }
        Command::Report { input, out } => {
            let text = std::fs::read_to_string(&input)
                .with_context(|| format!("reading {}", input.display()))?;
            let results: Results = serde_json::from_str(&text)?;
            suite::write_outputs(&results, &out)?;
            println!("{}", results.markdown());
            Ok(())
        }
    }
}

/// The directory of this binary (the other binaries of the build are beside it).
fn binary_dir() -> anyhow::Result<PathBuf> {
    Ok(std::env::current_exe()?
        .parent()
        .context("binary directory")?
        .to_path_buf())
}
