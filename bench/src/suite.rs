//! The whole benchmark in one invocation, so every ratio compares systems measured on the same
//! machine state: throughput scenarios against every system, idle connections, cold start,
//! noisy neighbour, and the criterion micro-benchmark's results (run before by `run.sh`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use crate::load::{self, LoadSpec};
use crate::procstat;
use crate::report::{
    ColdStart, IdleRun, Micro, Noisy, Results, SCENARIOS, SystemInfo, ThroughputRun, median,
};
use crate::servers::{Server, ServerCmd};

/// The bot token every authenticated benchmark connection's initData is signed with.
pub const BOT_TOKEN: &str = "123456789:bench-token-not-a-secret";

/// Guest languages, in report order; `calc-<lang>.wasm` in the guests directory.
pub const LANGUAGES: [&str; 6] = ["rust", "c", "go", "tinygo", "js", "python"];
/// Instance lifecycles of extws-wasm.
pub const LIFECYCLES: [&str; 3] = ["fresh", "pooled", "connection"];

/// How long and how much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Under ~3 minutes: short windows, 1,000 idle connections, Rust in every lifecycle and the
    /// other languages pooled.
    Quick,
    /// Longer windows, 10,000 idle connections, every language in every lifecycle, cold start
    /// without cache for every language.
    Full,
}

pub(crate) struct Params {
    pub(crate) warmup: Duration,
    pub(crate) window: Duration,
    pub(crate) messages: u64,
    pub(crate) idle_connections: usize,
    pub(crate) cold_runs: usize,
}

impl Mode {
    fn params(self) -> Params {
        match self {
            Mode::Quick => Params {
                warmup: Duration::from_millis(300),
                window: Duration::from_millis(1500),
                messages: 200_000,
                idle_connections: 1_000,
                cold_runs: 3,
            },
            Mode::Full => Params {
                warmup: Duration::from_secs(1),
                window: Duration::from_secs(5),
                messages: 1_000_000,
                idle_connections: 10_000,
                cold_runs: 7,
            },
        }
    }
}

/// Inputs of a suite run.
#[derive(Debug, Clone)]
pub struct SuiteArgs {
    pub mode: Mode,
    /// Where results.json, results.md, chart.png and the generated configs go.
    pub out: PathBuf,
    /// The repository root (for `git rev-parse`).
    pub repo: PathBuf,
    /// The extws-wasm release binary.
    pub extws: PathBuf,
    /// The native baseline binary.
    pub native: PathBuf,
    /// Python with websockets and pydantic (the predecessor); `None` skips it.
    pub python: Option<PathBuf>,
    /// bench/predecessor/server.py.
    pub predecessor: PathBuf,
    /// Node.js for the `node` baseline; `None` skips it.
    pub node: Option<PathBuf>,
    /// bench/node/server.js, installed beside a node_modules with `ws`.
    pub node_server: Option<PathBuf>,
    /// target/guests.
    pub guests: PathBuf,
    /// Criterion's output directory for the `calc` group, when it ran.
    pub criterion: Option<PathBuf>,
    /// extws-wasm's compile cache directory for the runs with a warm cache.
    pub compile_cache: PathBuf,
    /// Pin the client and the server to different CPUs.
    pub pin: bool,
    /// Parts to skip: throughput, idle, cold, noisy, payload, connections, tenants.
    pub skip: Vec<String>,
    /// Only systems whose name contains one of these (empty: all).
    pub only: Vec<String>,
}

/// One server under test.
pub(crate) struct System {
    pub(crate) info: SystemInfo,
    pub(crate) cmd: ServerCmd,
}

/// What every part of one suite run shares: its arguments, windows, runtime and placement.
pub(crate) struct Ctx<'a> {
    pub(crate) args: &'a SuiteArgs,
    pub(crate) params: Params,
    pub(crate) rt: tokio::runtime::Runtime,
    /// CPUs the servers under load are pinned to (`None`: unpinned).
    pub(crate) server_cpus: Option<Vec<usize>>,
    /// `?<initData>`: signed for BOT_TOKEN.
    pub(crate) query: String,
    /// The open-file limit this process (and the servers it starts) run with.
    pub(crate) nofile: u64,
}

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

/// initData for a fixed test user, signed with [`BOT_TOKEN`], URL-encoded.
pub fn init_data() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let user = r#"{"id":279058397,"first_name":"Bench","last_name":"Mark","username":"bench","language_code":"en","is_premium":true,"allows_write_to_pm":true}"#;
    extws_wasm::auth::telegram::sign_hmac(
        &[
            ("auth_date".into(), now.to_string()),
            ("query_id".into(), "AAHdF6IQAAAAAN0XohDhrOrc".into()),
            ("user".into(), user.into()),
        ],
        BOT_TOKEN,
    )
}

/// An extws.toml with one tenant serving `component`, limits opened up so the benchmark
/// measures the server rather than its rate limiter, queue or connection cap.
pub fn extws_config(component: &Path, lifecycle: &str, max_connections: usize) -> String {
    format!(
        "# Generated by extws-bench: one tenant, HMAC initData auth, limits opened for load.\n{}",
        tenant_toml("bench", "/", component, lifecycle, max_connections)
    )
}

/// One `[[tenant]]` of a generated config: HMAC initData for [`BOT_TOKEN`], `component` in
/// `lifecycle`, and limits opened for load.
pub fn tenant_toml(
    name: &str,
    route: &str,
    component: &Path,
    lifecycle: &str,
    max_connections: usize,
) -> String {
    format!(
        r#"[[tenant]]
name = "{name}"
route = "{route}"

[tenant.auth]
bot_token = "{BOT_TOKEN}"
max_age = 0

[tenant.limits]
max_queue = 4096
# The payload runs send calc requests of up to 1 MiB.
max_message_bytes = 4194304
max_connections = {max_connections}
# The load generator signs one user for every connection: that is a flood to the per-user
# limit, which a benchmark of throughput opens like the others.
max_connections_per_user = {max_connections}
rate_per_second = 1000000000
rate_burst = 1000000000

[[tenant.component]]
path = "{}"
lifecycle = "{lifecycle}"
"#,
        component.display()
    )
}

impl Ctx<'_> {
    pub(crate) fn extws_cmd(&self, config: &Path, cache: Option<&str>) -> ServerCmd {
        let cache = cache.map_or_else(
            || self.args.compile_cache.display().to_string(),
            str::to_string,
        );
        ServerCmd {
            program: self.args.extws.clone(),
            args: vec![
                "serve".into(),
                "--config".into(),
                config.display().to_string(),
                "--listen".into(),
                "127.0.0.1:0".into(),
            ],
            env: vec![("EXTWS_COMPILE_CACHE".into(), cache)],
            cpus: None,
        }
    }

    pub(crate) fn component(&self, lang: &str) -> Option<PathBuf> {
        let path = self.args.guests.join(format!("calc-{lang}.wasm"));
        if path.is_file() {
            return Some(path);
        }
        let plain = self.args.guests.join("calc.wasm");
        (lang == "rust" && plain.is_file()).then_some(plain)
    }

    pub(crate) fn write_config(&self, name: &str, text: &str) -> anyhow::Result<PathBuf> {
        let path = self.args.out.join("configs").join(format!("{name}.toml"));
        std::fs::write(&path, text)?;
        Ok(path)
    }

    fn systems(&self, notes: &mut Vec<String>) -> anyhow::Result<Vec<System>> {
        let mut out = Vec::new();
        if !self.args.native.is_file() {
            bail!(
                "{} is missing: cargo build --release -p extws-bench",
                self.args.native.display()
            );
        }
        if !self.args.extws.is_file() {
            bail!(
                "{} is missing: cargo build --release -p extws-wasm",
                self.args.extws.display()
            );
        }
        out.push(System {
            info: SystemInfo {
                name: "native".into(),
                kind: "native".into(),
                ..Default::default()
            },
            cmd: ServerCmd {
                program: self.args.native.clone(),
                args: vec!["--bot-token".into(), BOT_TOKEN.into()],
                env: vec![],
                cpus: None,
            },
        });
        match &self.args.python {
            Some(python) if python.is_file() && self.args.predecessor.is_file() => {
                out.push(System {
                    info: SystemInfo {
                        name: "predecessor".into(),
                        kind: "predecessor".into(),
                        ..Default::default()
                    },
                    cmd: ServerCmd {
                        program: python.clone(),
                        args: vec![
                            self.args.predecessor.display().to_string(),
                            "--bot-token".into(),
                            BOT_TOKEN.into(),
                        ],
                        env: vec![],
                        cpus: None,
                    },
                })
            }
            _ => notes.push(
                "predecessor skipped: no Python venv with websockets and pydantic (bench/run.sh \
                 makes one)"
                    .into(),
            ),
        }
        match (&self.args.node, &self.args.node_server) {
            (Some(node), Some(script)) if script.is_file() => out.push(System {
                info: SystemInfo {
                    name: "node".into(),
                    kind: "node".into(),
                    ..Default::default()
                },
                cmd: ServerCmd {
                    program: node.clone(),
                    args: vec![
                        script.display().to_string(),
                        "--bot-token".into(),
                        BOT_TOKEN.into(),
                    ],
                    env: vec![],
                    cpus: None,
                },
            }),
            _ => notes.push(
                "node skipped: no Node.js or no bench/node installed with `ws` (bench/run.sh \
                 installs it)"
                    .into(),
            ),
        }
        for lang in LANGUAGES {
            let Some(component) = self.component(lang) else {
                notes.push(format!(
                    "calc-{lang}.wasm not built: extws {lang} skipped (make guests)"
                ));
                continue;
            };
            let bytes = std::fs::metadata(&component).map(|m| m.len()).ok();
            for lifecycle in LIFECYCLES {
                let wanted =
                    lang == "rust" || self.args.mode == Mode::Full || lifecycle == "pooled";
                if !wanted {
                    continue;
                }
                let config = self.write_config(
                    &format!("{lang}-{lifecycle}"),
                    &extws_config(&component, lifecycle, 1000),
                )?;
                out.push(System {
                    info: SystemInfo {
                        name: format!("extws {lang}/{lifecycle}"),
                        kind: "extws-wasm".into(),
                        language: Some(lang.into()),
                        lifecycle: Some(lifecycle.into()),
                        component_bytes: bytes,
                    },
                    cmd: self.extws_cmd(&config, None),
                });
            }
        }
        if !self.args.only.is_empty() {
            out.retain(|s| {
                self.args
                    .only
                    .iter()
                    .any(|o| s.info.name.contains(o.as_str()))
            });
        }
        Ok(out)
    }

    fn throughput(&self, system: &System) -> anyhow::Result<Vec<ThroughputRun>> {
        let mut runs = Vec::new();
        self.runs(system, &mut runs, |url| {
            SCENARIOS
                .iter()
                .map(|&(scenario, connections, depth)| {
                    (scenario, LoadSpec::calc(url, connections, depth))
                })
                .collect()
        })?;
        Ok(runs)
    }

    /// Starts `system` pinned like every throughput run, checks it answers calc, then measures
    /// each `(scenario, spec)` that `specs` makes for its URL (with this run's windows) and
    /// appends it to `runs`: the scenarios measured before a failure stay there.
    pub(crate) fn runs(
        &self,
        system: &System,
        runs: &mut Vec<ThroughputRun>,
        specs: impl FnOnce(&str) -> Vec<(&'static str, LoadSpec)>,
    ) -> anyhow::Result<()> {
        let cmd = ServerCmd {
            cpus: self.server_cpus.clone(),
            ..system.cmd.clone()
        };
        let mut server = cmd.spawn(Duration::from_secs(300))?;
        let url = server.url(&self.query);
        let first = self.rt.block_on(load::one_request(&url))?;
        if !first.contains(load::CALC_REPLY) {
            bail!("unexpected first reply: {first}");
        }
        for (scenario, spec) in specs(&url) {
            let spec = LoadSpec {
                messages: self.params.messages,
                warmup: self.params.warmup,
                max_duration: self.params.window,
                ..spec
            };
            let run = self.measure(&mut server, scenario, &spec)?;
            eprintln!(
                "  {:<24} {:<8} {:>8.0} msgs/s  p50 {:>7.2} ms  p99 {:>7.2} ms  cpu {:>8.1} µs/msg{}",
                system.info.name,
                scenario,
                run.load.msgs_per_s,
                run.load.latency.p50_us / 1000.0,
                run.load.latency.p99_us / 1000.0,
                run.cpu_us_per_msg,
                load::errors_note(&run.load)
            );
            runs.push(ThroughputRun {
                system: system.info.name.clone(),
                ..run
            });
        }
        server.stop();
        Ok(())
    }

    /// One load run with the server's CPU time over the window and its peak RSS.
    pub(crate) fn measure(
        &self,
        server: &mut Server,
        scenario: &str,
        spec: &LoadSpec,
    ) -> anyhow::Result<ThroughputRun> {
        let pid = server.pid;
        procstat::reset_peak(pid);
        let cpu_start = Arc::new(Mutex::new(Duration::ZERO));
        let result = {
            let cpu_start = cpu_start.clone();
            self.rt.block_on(async {
                let sockets = load::connect_all(&spec.url, spec.connections, 64).await?;
                load::run_on(spec, sockets, move || {
                    *cpu_start.lock().unwrap() = procstat::cpu_time(pid).unwrap_or_default();
                })
                .await
            })
        };
        let result = match result {
            Ok(r) => r,
            Err(e) => {
                let alive = server.alive();
                bail!(
                    "{scenario}: {e:#} (server {}; its log:\n{})",
                    if alive { "running" } else { "exited" },
                    server.recent_log()
                )
            }
        };
        let cpu = procstat::cpu_time(pid)?.saturating_sub(*cpu_start.lock().unwrap());
        let mem = procstat::memory(pid)?;
        Ok(ThroughputRun {
            system: String::new(),
            scenario: scenario.into(),
            server_cpu_s: cpu.as_secs_f64(),
            cpu_us_per_msg: if result.completed > 0 {
                (cpu.as_secs_f64() * 1e6 / result.completed as f64 * 10.0).round() / 10.0
            } else {
                0.0
            },
            peak_rss_kib: mem.hwm_kib,
            load: result,
        })
    }

    fn idle(&self, system: &System, n: usize) -> anyhow::Result<IdleRun> {
        let cmd = if system.info.kind == "extws-wasm" {
            let component = self.component("rust").context("calc-rust.wasm")?;
            let config = self.write_config(
                "idle-rust-fresh",
                &extws_config(&component, "fresh", n + 100),
            )?;
            self.extws_cmd(&config, None)
        } else {
            system.cmd.clone()
        };
        let server = cmd.spawn(Duration::from_secs(300))?;
        let url = server.url(&self.query);
        self.rt.block_on(load::one_request(&url))?;
        std::thread::sleep(Duration::from_millis(300));
        let before = procstat::memory(server.pid)?;
        procstat::reset_peak(server.pid);
        let started = Instant::now();
        let sockets = self.rt.block_on(load::connect_all(&url, n, 128))?;
        let connect_s = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1500));
        let after = procstat::memory(server.pid)?;
        // Still answering with all of them open?
        self.rt.block_on(load::one_request(&url))?;
        let run = IdleRun {
            system: system.info.name.clone(),
            connections: n,
            rss_before_kib: before.rss_kib,
            rss_after_kib: after.rss_kib,
            peak_kib: after.hwm_kib,
            per_connection_kib: ((after.rss_kib as f64 - before.rss_kib as f64) / n as f64 * 100.0)
                .round()
                / 100.0,
            connect_s: (connect_s * 100.0).round() / 100.0,
        };
        eprintln!(
            "  {:<24} idle x{n}: {:.1} KiB per connection",
            run.system, run.per_connection_kib
        );
        drop(sockets);
        server.stop();
        Ok(run)
    }

    fn cold_start_runs(&self, cmd: &ServerCmd, runs: usize) -> anyhow::Result<(Vec<f64>, f64)> {
        let (mut total, mut listening) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t0 = Instant::now();
            let server = cmd.spawn(Duration::from_secs(600))?;
            let t_listen = t0.elapsed();
            let reply = self
                .rt
                .block_on(load::one_request(&server.url(&self.query)))?;
            let t_reply = t0.elapsed();
            server.stop();
            if !reply.contains(load::CALC_REPLY) {
                bail!("unexpected reply: {reply}");
            }
            total.push((t_reply.as_secs_f64() * 10_000.0).round() / 10.0);
            listening.push(t_listen.as_secs_f64() * 1000.0);
        }
        Ok((total, (median(&listening) * 10.0).round() / 10.0))
    }

    fn cold_starts(&self, systems: &[System], results: &mut Results) {
        let runs = self.params.cold_runs;
        let mut record = |system: &str, cache: &str, r: anyhow::Result<(Vec<f64>, f64)>| match r {
            Ok((ms, listening)) => {
                eprintln!(
                    "  {system:<24} cold start (cache {cache}): median {:.1} ms",
                    median(&ms)
                );
                results.cold_start.push(ColdStart {
                    system: system.into(),
                    cache: cache.into(),
                    median_ms: median(&ms),
                    runs_ms: ms,
                    listening_median_ms: listening,
                });
            }
            Err(e) => results
                .notes
                .push(format!("{system}: cold start ({cache}) failed: {e:#}")),
        };
        for s in systems.iter().filter(|s| s.info.kind != "extws-wasm") {
            record(&s.info.name, "n/a", self.cold_start_runs(&s.cmd, runs));
        }
        for lang in LANGUAGES {
            let Some(component) = self.component(lang) else {
                continue;
            };
            let name = format!("extws {lang}/fresh");
            if !self.args.only.is_empty()
                && !self.args.only.iter().any(|o| name.contains(o.as_str()))
            {
                continue;
            }
            let Ok(config) = self.write_config(
                &format!("cold-{lang}-fresh"),
                &extws_config(&component, "fresh", 1000),
            ) else {
                continue;
            };
            let warm = self.extws_cmd(&config, None);
            // One unmeasured start fills the cache.
            let filled = self.cold_start_runs(&warm, 1);
            record(
                &name,
                "warm",
                filled.and_then(|_| self.cold_start_runs(&warm, runs)),
            );
            if lang == "rust" || self.args.mode == Mode::Full {
                let off = self.extws_cmd(&config, Some("off"));
                let off_runs = if lang == "rust" { runs } else { runs.min(3) };
                record(&name, "off", self.cold_start_runs(&off, off_runs));
            }
        }
    }

    fn noisy(&self) -> anyhow::Result<Noisy> {
        let calc = self.component("rust").context("calc-rust.wasm")?;
        let looper = self.args.guests.join("loop-forever.wasm");
        if !looper.is_file() {
            bail!("{} is missing (make guests)", looper.display());
        }
        let text = format!(
            r#"# Generated by extws-bench: tenant A runs loop-forever with default limits, tenant B calc.
[[tenant]]
name = "a"
route = "/a"
[tenant.auth]
none = true
[[tenant.component]]
path = "{}"

[[tenant]]
name = "b"
route = "/b"
[tenant.auth]
none = true
[tenant.limits]
max_queue = 4096
rate_per_second = 1000000000
rate_burst = 1000000000
[[tenant.component]]
path = "{}"
"#,
            looper.display(),
            calc.display()
        );
        let config = self.write_config("noisy", &text)?;
        let cmd = ServerCmd {
            cpus: self.server_cpus.clone(),
            ..self.extws_cmd(&config, None)
        };
        let server = cmd.spawn(Duration::from_secs(300))?;
        let b = LoadSpec {
            messages: self.params.messages,
            warmup: self.params.warmup,
            max_duration: self.params.window,
            ..LoadSpec::calc(&server.url("/b"), 16, 1)
        };
        let quiet = self.rt.block_on(load::run(&b))?;
        let hammer_spec = LoadSpec {
            url: server.url("/a"),
            connections: 16,
            messages: u64::MAX,
            depth: 1,
            warmup: Duration::from_millis(1),
            max_duration: self.params.warmup + self.params.window + Duration::from_secs(2),
            msg_type: "LoopForever".into(),
            data: "null".into(),
            expect: "(none)".into(),
            drain: false,
        };
        let (noisy, hammer) = self.rt.block_on(async {
            let sockets = load::connect_all(&hammer_spec.url, 16, 16).await?;
            let spec = hammer_spec.clone();
            let hammer = tokio::spawn(async move { load::run_on(&spec, sockets, || {}).await });
            tokio::time::sleep(Duration::from_millis(500)).await;
            let noisy = load::run(&b).await;
            let hammer = hammer.await?;
            anyhow::Ok((noisy?, hammer?))
        })?;
        eprintln!(
            "  noisy neighbour: B p99 {:.2} ms alone, {:.2} ms with A hammering",
            quiet.latency.p99_us / 1000.0,
            noisy.latency.p99_us / 1000.0
        );
        server.stop();
        Ok(Noisy {
            quiet,
            noisy,
            hammer,
            description: "One server, two tenants (`serve --config`, auth off). Tenant A: \
                          loop-forever with default limits (1 s deadline, 8 concurrent calls, \
                          queue 64), 16 connections sending without pause. Tenant B: Rust calc, \
                          fresh, 16 connections at depth 1, measured alone and then while A \
                          hammers."
                .into(),
        })
    }
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
