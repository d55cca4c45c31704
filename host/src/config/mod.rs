//! The validated server configuration, built in one place from `serve` flags or from an
//! `extws.toml` ([`file`]). Everything that can be checked without loading components is
//! checked here, before anything listens.

pub mod file;

pub mod limits;
mod redact;
mod route;
pub mod updates;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::auth::{AuthPolicy, Verifier, system_clock};
use crate::capabilities::Capabilities;
use crate::capabilities::ledger::Ledger;
use crate::capabilities::push::HistoryPolicy;
use crate::capabilities::push::history::{MAX_HISTORY_SIZE, MAX_HISTORY_TTL};
use crate::cli::{AuthArgs, ServeArgs};
use crate::runtime::{ComponentSpec, EngineSettings, Lifecycle, Limits};
use crate::state::Quota;
pub use limits::limits;
pub use route::Route;

/// One tenant's configuration.
#[derive(Debug, Clone)]
pub struct TenantConfig {
    /// Unique name.
    pub name: String,
    /// Its route.
    pub route: Route,
    /// Its authentication.
    pub auth: AuthPolicy,
    /// Its handler components, in routing order.
    pub components: Vec<ComponentSpec>,
    /// What its guests may access beyond nothing.
    pub capabilities: Capabilities,
    /// Its per-call limits.
    pub limits: Limits,
    /// Its limits on what its guests make the host send (frame size, topics per connection).
    pub ledger: Ledger,
    /// Whether several components may answer the same Type.
    pub fanout: bool,
    /// A directory served over plain HTTP under the tenant's route (the Mini App itself).
    pub static_dir: Option<PathBuf>,
    /// Key-value quota of the tenant.
    pub quota: Quota,
    /// How the bot's updates reach its components (none: they do not).
    pub updates: Option<updates::Updates>,
    /// Push history of the tenant's user pushes (`[tenant.push]`; size 0 = off).
    pub push_history: HistoryPolicy,
}

/// The whole server configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The tenants; the single-tenant flags make one named `default`.
    pub tenants: Vec<TenantConfig>,
    /// Engine and pool sizes.
    pub engine: EngineSettings,
    /// Reload a component when its file changes (`--watch`).
    pub watch: bool,
    /// The file this configuration came from, re-read on SIGHUP.
    pub source: Option<PathBuf>,
    /// Where key-value state lives and how pushes travel.
    pub state: StateConfig,
    /// What the command line said about state (`--data-dir`, `--redis`), applied over the
    /// file's values at startup and again on every reload.
    pub state_flags: StateConfig,
    /// Connection timers.
    pub timeouts: Timeouts,
    /// Where `/metrics` is served (`--metrics-listen`, `metrics_listen`): only there, and the
    /// WebSocket port answers 404 for it. None: on the WebSocket port, as before.
    pub metrics_listen: Option<SocketAddr>,
}

/// Connection timers. The defaults suit a public server; tests shorten them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeouts {
    /// How long a client may take to send its whole request head and finish the upgrade.
    pub handshake: Duration,
    /// A ping after this much silence from the client.
    pub ping_interval: Duration,
    /// A connection silent for this long is closed with 1001 `idle`.
    pub idle: Duration,
    /// A push the client does not take within this time cuts it off as a slow consumer.
    pub push_send: Duration,
    /// How long a closing connection waits for the client to take the close frame and answer.
    pub close_grace: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self {
            handshake: Duration::from_secs(10),
            ping_interval: Duration::from_secs(30),
            idle: Duration::from_secs(90),
            push_send: Duration::from_secs(10),
            close_grace: Duration::from_secs(2),
        }
    }
}

/// State and push backends.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StateConfig {
    /// Directory of the embedded store (`--data-dir`); none and no Redis: no state at all.
    pub data_dir: Option<PathBuf>,
    /// Redis URL (`--redis`): key-value in Redis and push over Redis pub/sub, for several
    /// servers behind one load balancer.
    pub redis: Option<String>,
}

/// The default quota: generous for a Mini App's per-user settings and scores, bounded for a
/// shared server.
pub const DEFAULT_QUOTA: Quota = Quota {
    max_keys: 100_000,
    max_bytes: 64 << 20,
};

/// A checked push history policy: `size` entries (0 = off, at most [`MAX_HISTORY_SIZE`])
/// kept `ttl_secs` seconds (1 s to [`MAX_HISTORY_TTL`]), `max_bytes` over all the tenant's
/// users (at least 1 KiB while history is on).
pub fn push_history(size: u32, ttl_secs: u64, max_bytes: u64) -> anyhow::Result<HistoryPolicy> {
    if size > MAX_HISTORY_SIZE {
        bail!("push history_size must be 0 (off) to {MAX_HISTORY_SIZE}, got {size}");
    }
    let ttl = Duration::from_secs(ttl_secs);
    if ttl_secs == 0 || ttl > MAX_HISTORY_TTL {
        bail!(
            "push history_ttl must be 1 to {} seconds, got {ttl_secs}",
            MAX_HISTORY_TTL.as_secs()
        );
    }
    if size > 0 && max_bytes < 1024 {
        bail!("push history_max_bytes must be at least 1024, got {max_bytes}");
    }
    Ok(HistoryPolicy {
        size,
        ttl,
        max_bytes,
    })
}

impl StateConfig {
    /// This (a file's) state settings with the command line's applied: `--redis` wins over
    /// the file, the file's `data_dir` over `--data-dir`.
    pub fn with_flags(&self, flags: &StateConfig) -> StateConfig {
        StateConfig {
            data_dir: self.data_dir.clone().or_else(|| flags.data_dir.clone()),
            redis: flags.redis.clone().or_else(|| self.redis.clone()),
        }
    }
}

impl Config {
    /// The configuration of `serve`: the `--config` file, or one tenant from the flags.
    pub fn from_serve_args(args: &ServeArgs) -> anyhow::Result<Self> {
        let state_flags = StateConfig {
            data_dir: Some(args.data_dir.clone()),
            redis: args.redis.clone(),
        };
        if let Some(path) = &args.config {
            let mut config = Self::from_file(path)?;
            config.watch = args.watch;
            config.state = config.state.with_flags(&state_flags);
            config.state_flags = state_flags;
            config.metrics_listen = args.metrics_listen.or(config.metrics_listen);
            return Ok(config);
        }
        for path in &args.components {
            if !path.is_file() {
                bail!(
                    "component {} does not exist or is not a file",
                    path.display()
                );
            }
        }
        let (limits, ledger) = limits(&args.limits)?;
        let mut capabilities = Capabilities {
            http: crate::capabilities::http::settings::grant(
                &args.grants.allow_http,
                limits.max_concurrency,
                ledger.max_frame_bytes,
            )
            .context("--allow-http")?,
            ..Capabilities::default()
        };
        let g = &args.grants;
        let mut updates = None;
        if !g.telegram_methods.is_empty()
            || g.telegram_bot_token_env.is_some()
            || g.telegram_updates != crate::cli::UpdatesArg::Off
        {
            let settings = crate::capabilities::telegram::settings::TelegramSettings {
                api_url: Some(g.telegram_api_url.clone()),
                methods: g.telegram_methods.clone(),
                bot_token_env: g.telegram_bot_token_env.clone(),
                updates: g.telegram_updates.into(),
                webhook_secret_env: g.telegram_webhook_secret_env.clone(),
                ..crate::capabilities::telegram::settings::TelegramSettings::default()
            };
            capabilities.telegram = crate::capabilities::telegram::settings::bot_api(
                Some(&settings),
                args.auth.bot_token.as_deref(),
            )
            .context("--telegram-method")?;
            updates = updates::updates(Some(&settings), "/", capabilities.telegram.as_deref())
                .context("--telegram-updates")?;
        }
        let tenant = TenantConfig {
            name: "default".into(),
            route: Route::any(),
            auth: auth_policy(&args.auth)?,
            components: args
                .components
                .iter()
                .map(|path| ComponentSpec {
                    lifecycle: args.lifecycle.into(),
                    ..ComponentSpec::fresh(path)
                })
                .collect(),
            capabilities,
            limits,
            ledger,
            fanout: args.fanout,
            static_dir: static_dir(args.static_dir.as_deref())?,
            quota: DEFAULT_QUOTA,
            updates,
            push_history: push_history(
                args.push_history_size,
                args.push_history_ttl,
                args.push_history_max_bytes,
            )?,
        };
        let mut config = Self::new(vec![tenant]);
        config.watch = args.watch;
        config.state = state_flags.clone();
        config.state_flags = state_flags;
        config.metrics_listen = args.metrics_listen;
        Ok(config)
    }

    /// A configuration of these tenants, with pool sizes derived from their totals.
    pub fn new(tenants: Vec<TenantConfig>) -> Self {
        let engine = EngineSettings {
            // Saturating: `make fuzz` found `max_concurrency = 4294967295` overflowing here
            // (a panic in debug builds, a pool of 0 instances in release).
            total_instances: tenants
                .iter()
                .map(instances_needed)
                .fold(1, u32::saturating_add),
            max_memory_bytes: tenants
                .iter()
                .map(|t| t.limits.max_memory_bytes)
                .max()
                .unwrap_or(64 << 20),
            max_core_instances: tenants
                .iter()
                .map(|t| t.limits.max_core_instances as u32)
                .max()
                .unwrap_or(50),
            consume_fuel: tenants.iter().any(|t| t.limits.fuel.is_some()),
        };
        Self {
            tenants,
            engine,
            watch: false,
            source: None,
            state: StateConfig::default(),
            state_flags: StateConfig::default(),
            timeouts: Timeouts::default(),
            metrics_listen: None,
        }
    }
}

/// Instances a tenant can hold at once: its running calls, its warm pools, and one per
/// connection for each connection-lifecycle component. Summed, this sizes the shared pool, so
/// no tenant can take another's slots.
fn instances_needed(t: &TenantConfig) -> u32 {
    let running = t.limits.max_concurrency;
    let mut held = 0usize;
    for c in &t.components {
        match c.lifecycle {
            Lifecycle::Fresh => {}
            Lifecycle::Pooled => held = held.saturating_add(c.pool_size),
            Lifecycle::Connection => held = held.saturating_add(t.limits.max_connections),
        }
    }
    u32::try_from(running.saturating_add(held)).unwrap_or(u32::MAX)
}

/// Checks a static directory.
pub fn static_dir(dir: Option<&Path>) -> anyhow::Result<Option<PathBuf>> {
    match dir {
        Some(dir) if !dir.is_dir() => bail!("static directory {} does not exist", dir.display()),
        Some(dir) => Ok(Some(dir.to_path_buf())),
        None => Ok(None),
    }
}

fn auth_policy(args: &AuthArgs) -> anyhow::Result<AuthPolicy> {
    if args.auth_transports.is_empty() {
        bail!("--auth-transports needs at least one transport");
    }
    let verifier = match (&args.bot_token, args.bot_id, args.no_auth) {
        (_, _, true) => {
            tracing::warn!("authentication is OFF (--no-auth): every connection is anonymous");
            return Ok(AuthPolicy::disabled());
        }
        (Some(token), _, _) => {
            Verifier::for_bot_token(token).map_err(|e| anyhow::anyhow!("--bot-token {e}"))?
        }
        (None, Some(bot_id), _) => Verifier::ed25519(bot_id, &args.telegram_key)
            .map_err(|e| anyhow::anyhow!("--telegram-key: {e}"))
            .context("configuring Ed25519 validation")?,
        (None, None, false) => bail!(
            "no authentication configured: pass --bot-token TOKEN (or set EXTWS_BOT_TOKEN) to \
             validate initData with the bot token, --bot-id ID [--telegram-key prod|test|HEX] \
             to validate Telegram's Ed25519 signature, or --no-auth for development"
        ),
    };
    Ok(AuthPolicy {
        verifier: Some(verifier),
        max_age: (args.auth_max_age > 0).then_some(args.auth_max_age),
        transports: args.auth_transports.iter().map(|&t| t.into()).collect(),
        first_message_timeout: Duration::from_secs(args.auth_timeout.max(1)),
        clock: system_clock(),
    })
}
