//! `extws.toml`: tenants declared in a file. Unknown keys are errors (with line and key), paths
//! are relative to the file, and every value is checked before anything is loaded.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::limits::LimitValues;
use super::{Config, Route, TenantConfig};
use crate::auth::{AuthPolicy, Transport, Verifier, system_clock};
use crate::capabilities::push::history::DEFAULT_HISTORY;
use crate::capabilities::{Capabilities, PreopenedDir};
use crate::runtime::{ComponentSpec, Lifecycle};
use crate::state::Quota;

/// The file's top level.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    /// Directory of the embedded key-value store (relative to the file).
    data_dir: Option<PathBuf>,
    /// Redis URL shared by several servers.
    redis: Option<String>,
    /// Serve `/metrics` only on this address, e.g. `"127.0.0.1:9100"` (`--metrics-listen`
    /// wins over it); the WebSocket port then answers 404 for it.
    metrics_listen: Option<std::net::SocketAddr>,
    /// `[[tenant]]` tables, at least one.
    #[serde(default)]
    tenant: Vec<TenantFile>,
}

/// One `[[tenant]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TenantFile {
    /// Unique name (letters, digits, `-`, `_`).
    name: String,
    /// URL path prefix, e.g. `/acme`; default `/`.
    #[serde(default = "root")]
    route: String,
    /// Route by this `Host` header (without port) as well.
    host: Option<String>,
    /// Authentication; required (use `none = true` to disable it explicitly).
    auth: AuthFile,
    /// Per-call and per-tenant limits; defaults are safe for a public server.
    #[serde(default)]
    limits: LimitValues,
    /// What guests may access; nothing by default.
    #[serde(default)]
    capabilities: CapabilitiesFile,
    /// Several components may answer the same Type (each in turn).
    #[serde(default)]
    fanout: bool,
    /// A directory served over plain HTTP under the route (relative to the file).
    #[serde(rename = "static")]
    static_dir: Option<PathBuf>,
    /// `[tenant.state]`: key-value quota.
    #[serde(default)]
    state: StateFile,
    /// `[tenant.push]`: push history for session resume.
    #[serde(default)]
    push: PushFile,
    /// `[tenant.telegram]`: Bot API access (none by default).
    telegram: Option<crate::capabilities::telegram::settings::TelegramSettings>,
    /// `[[tenant.component]]` tables, at least one.
    #[serde(default)]
    component: Vec<ComponentFile>,
}

fn root() -> String {
    "/".into()
}

/// `[tenant.auth]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthFile {
    /// Bot token for HMAC validation (prefer `bot_token_env`).
    bot_token: Option<String>,
    /// Name of an environment variable holding the bot token.
    bot_token_env: Option<String>,
    /// Bot id for Ed25519 validation.
    bot_id: Option<u64>,
    /// `prod`, `test` or 64 hex digits; with `bot_id`.
    telegram_key: Option<String>,
    /// Disable authentication for this tenant (development only).
    #[serde(default)]
    none: bool,
    /// Maximum initData age in seconds; 0 disables. Default 86400.
    #[serde(default = "day")]
    max_age: u64,
    /// Enabled transports; default all.
    transports: Option<Vec<Transport>>,
    /// Seconds to wait for a first-message `Auth`. Default 10.
    #[serde(default = "ten")]
    first_message_timeout: u64,
}

fn day() -> u64 {
    86_400
}
fn ten() -> u64 {
    10
}

/// `[tenant.state]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StateFile {
    /// Most keys the tenant may store.
    max_keys: Option<u64>,
    /// Most bytes (keys + values) the tenant may store.
    max_bytes: Option<u64>,
}

/// `[tenant.push]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PushFile {
    /// Pushes kept per user for resume (0 = off). Default 100.
    history_size: Option<u32>,
    /// Seconds a push is kept; a user's history is forgotten this long after its last push.
    /// Default 300.
    history_ttl: Option<u64>,
    /// Bytes of push history the tenant may keep over all its users; a push past it is
    /// refused (`invalid`, "quota exceeded"). Default 64 MiB.
    history_max_bytes: Option<u64>,
}

/// `[tenant.capabilities]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CapabilitiesFile {
    /// Environment variables the guests see, exactly these.
    #[serde(default)]
    env: BTreeMap<String, String>,
    /// A read-only directory: `{ host = "./data", guest = "/data" }`.
    dir: Option<DirFile>,
    /// Origins guests may reach over `wasi:http`, e.g. `["https://api.example.com",
    /// "https://*.example.org:8443"]`; default none.
    #[serde(default)]
    http: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DirFile {
    host: PathBuf,
    guest: String,
}

/// `[[tenant.component]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ComponentFile {
    /// Path of the component, relative to the config file.
    path: PathBuf,
    /// `fresh` (default), `pooled` or `connection`.
    #[serde(default)]
    lifecycle: LifecycleFile,
    /// Pooled: calls per instance before it is replaced. Default 10000.
    max_uses: Option<u32>,
    /// Pooled: idle instances kept. Default 8.
    pool_size: Option<usize>,
}

/// `lifecycle = "..."`.
#[derive(Debug, Default, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum LifecycleFile {
    #[default]
    Fresh,
    Pooled,
    Connection,
}

impl From<LifecycleFile> for Lifecycle {
    fn from(l: LifecycleFile) -> Self {
        match l {
            LifecycleFile::Fresh => Lifecycle::Fresh,
            LifecycleFile::Pooled => Lifecycle::Pooled,
            LifecycleFile::Connection => Lifecycle::Connection,
        }
    }
}

impl Config {
    /// Reads and validates `extws.toml`.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let mut config =
            Self::from_toml(&text, base).with_context(|| format!("in {}", path.display()))?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    /// Parses TOML text; relative paths are resolved against `base`.
    pub fn from_toml(text: &str, base: &Path) -> anyhow::Result<Self> {
        let file: FileConfig =
            toml::from_str(text).map_err(|e| super::redact::toml_error(&e, text))?;
        if file.tenant.is_empty() {
            bail!("no [[tenant]] declared");
        }
        let mut names = HashSet::new();
        let mut routes = HashSet::new();
        let mut tenants = Vec::new();
        for t in file.tenant {
            let name = t.name.clone();
            let tenant = tenant(t, base).with_context(|| format!("tenant {name:?}"))?;
            if !names.insert(tenant.name.clone()) {
                bail!("tenant {name:?} is declared twice (each tenant needs its own name)");
            }
            if !routes.insert((tenant.route.path_prefix.clone(), tenant.route.host.clone())) {
                bail!("tenant {name:?} has the same route as an earlier tenant");
            }
            tenants.push(tenant);
        }
        let mut config = Config::new(tenants);
        config.state = super::StateConfig {
            data_dir: file.data_dir.map(|d| base.join(d)),
            redis: file.redis,
        };
        config.metrics_listen = file.metrics_listen;
        Ok(config)
    }
}

fn tenant(t: TenantFile, base: &Path) -> anyhow::Result<TenantConfig> {
    let valid_name = !t.name.is_empty()
        && t.name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid_name {
        bail!("name must be letters, digits, '-' or '_'");
    }
    if !t.route.starts_with('/') {
        bail!("route must start with '/' (got {:?})", t.route);
    }
    if t.component.is_empty() {
        bail!("declares no [[tenant.component]]");
    }
    let mut components = Vec::new();
    for c in t.component {
        let path = base.join(&c.path);
        if !path.is_file() {
            bail!("component.path {} does not exist", path.display());
        }
        let defaults = ComponentSpec::fresh(&path);
        let spec = ComponentSpec {
            lifecycle: c.lifecycle.into(),
            max_uses: c.max_uses.unwrap_or(defaults.max_uses),
            pool_size: c.pool_size.unwrap_or(defaults.pool_size),
            path,
        };
        if spec.max_uses == 0 || spec.pool_size == 0 {
            bail!(
                "component {}: max_uses and pool_size must be at least 1",
                c.path.display()
            );
        }
        components.push(spec);
    }
    let (limits, ledger) = t.limits.resolve(super::limits::file_key)?;
    let (auth, bot_token) = auth(&t.auth)?;
    let mut capabilities = capabilities(&t.capabilities, base)?;
    capabilities.http = crate::capabilities::http::settings::grant(
        &t.capabilities.http,
        limits.max_concurrency,
        ledger.max_frame_bytes,
    )?;
    capabilities.telegram = crate::capabilities::telegram::settings::bot_api(
        t.telegram.as_ref(),
        bot_token.as_deref(),
    )?;
    let updates = super::updates::updates(
        t.telegram.as_ref(),
        &t.route,
        capabilities.telegram.as_deref(),
    )?;
    Ok(TenantConfig {
        name: t.name,
        route: Route {
            path_prefix: t.route,
            host: t.host.map(|h| h.to_ascii_lowercase()),
        },
        auth,
        components,
        capabilities,
        limits,
        ledger,
        fanout: t.fanout,
        static_dir: super::static_dir(t.static_dir.map(|d| base.join(d)).as_deref())?,
        quota: Quota {
            max_keys: t.state.max_keys.unwrap_or(super::DEFAULT_QUOTA.max_keys),
            max_bytes: t.state.max_bytes.unwrap_or(super::DEFAULT_QUOTA.max_bytes),
        },
        updates,
        push_history: super::push_history(
            t.push.history_size.unwrap_or(DEFAULT_HISTORY.size),
            t.push.history_ttl.unwrap_or(DEFAULT_HISTORY.ttl.as_secs()),
            t.push
                .history_max_bytes
                .unwrap_or(DEFAULT_HISTORY.max_bytes),
        )
        .context("[tenant.push]")?,
    })
}

/// The policy, and the HMAC bot token when there is one (the Bot API uses it too).
fn auth(a: &AuthFile) -> anyhow::Result<(AuthPolicy, Option<String>)> {
    if a.telegram_key.is_some() && a.bot_id.is_none() {
        // It would be ignored (`make fuzz` found this): the operator meant Ed25519.
        bail!("auth.telegram_key is only used with bot_id (Ed25519 validation)");
    }
    // The token and the key it came from, for messages.
    let token = match (&a.bot_token, &a.bot_token_env) {
        (Some(_), Some(_)) => bail!("auth: give bot_token or bot_token_env, not both"),
        (Some(t), None) => Some((t.clone(), "auth.bot_token")),
        (None, Some(var)) => Some((
            std::env::var(var).with_context(|| {
                format!("auth.bot_token_env: environment variable {var} is not set")
            })?,
            "auth.bot_token_env",
        )),
        (None, None) => None,
    };
    let verifier = match (token.clone(), a.bot_id, a.none) {
        (None, None, true) => return Ok((AuthPolicy::disabled(), None)),
        (Some(_), _, true) | (_, Some(_), true) => {
            bail!("auth: `none = true` cannot be combined with a bot token or bot id")
        }
        (Some(_), Some(_), _) => bail!("auth: give a bot token or a bot_id, not both"),
        (Some((token, key)), None, _) => {
            Verifier::for_bot_token(&token).map_err(|e| anyhow::anyhow!("{key}: the token {e}"))?
        }
        (None, Some(bot_id), _) => {
            let key = a.telegram_key.as_deref().unwrap_or("prod");
            Verifier::ed25519(bot_id, key).map_err(|e| anyhow::anyhow!("auth.telegram_key: {e}"))?
        }
        (None, None, false) => bail!(
            "auth: set bot_token_env (or bot_token), or bot_id [+ telegram_key], or none = true"
        ),
    };
    let transports = a
        .transports
        .clone()
        .unwrap_or_else(|| Transport::ALL.to_vec());
    if transports.is_empty() {
        bail!("auth.transports: enable at least one transport");
    }
    let policy = AuthPolicy {
        verifier: Some(verifier),
        max_age: (a.max_age > 0).then_some(a.max_age),
        transports,
        first_message_timeout: Duration::from_secs(a.first_message_timeout.max(1)),
        clock: system_clock(),
    };
    Ok((policy, token.map(|(token, _)| token)))
}

fn capabilities(c: &CapabilitiesFile, base: &Path) -> anyhow::Result<Capabilities> {
    let read_only_dir = match &c.dir {
        None => None,
        Some(dir) => {
            let host = base.join(&dir.host);
            if !host.is_dir() {
                bail!(
                    "capabilities.dir.host {} is not a directory",
                    host.display()
                );
            }
            if !dir.guest.starts_with('/') {
                bail!("capabilities.dir.guest must be an absolute guest path like /data");
            }
            Some(PreopenedDir {
                host,
                guest: dir.guest.clone(),
            })
        }
    };
    Ok(Capabilities {
        env: c.env.clone().into_iter().collect(),
        read_only_dir,
        ..Capabilities::default()
    })
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
