//! One-shot subcommands: `call` (one message through a component, no server), `check` (a
//! configuration file), `sign-init-data` (initData for local testing) and [`telegram`] (a
//! tenant's webhook at Telegram).

pub mod telegram;

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};

use std::sync::Arc;

use crate::auth::{TelegramUser, telegram as init_data};
use crate::call::{self, Call, CallError};
use crate::capabilities::session::to_wit_user;
use crate::cli::{CallArgs, CheckArgs, DescribeArgs, SignArgs};
use crate::config::{self, Config, TenantConfig};
use crate::envelope::{self, ErrorCode};
use crate::metrics::Metrics;
use crate::origin::Origin;
use crate::runtime::{
    ComponentSpec, ConnectionInstances, EngineSettings, LoadContext, LoadedComponent, Runtime,
};
use crate::tenants::Tenant;

/// Runs `args.msg_type` with `args.data` through the component in the same sandbox as `serve`,
/// by the same call path, with origin `Cli` (which may send any `Type`, `telegram.*` and
/// `schedule.*` included, to try an update or a schedule locally). Returns the reply (or
/// error) envelope and whether it was a success.
pub async fn call(args: &CallArgs) -> anyhow::Result<(String, bool)> {
    let (limits, ledger) = config::limits(&args.limits)?;
    if serde_json::from_str::<&serde_json::value::RawValue>(&args.data).is_err() {
        bail!("DATA is not valid JSON: {}", args.data);
    }
    let user: Option<TelegramUser> = args
        .user
        .as_deref()
        .map(serde_json::from_str)
        .transpose()
        .context("--user is not WebAppUser JSON (needs at least id and first_name)")?;
    let runtime = small_runtime(&limits)?;
    let tenant = TenantConfig {
        name: "call".into(),
        route: config::Route::any(),
        auth: crate::auth::AuthPolicy::disabled(),
        components: vec![ComponentSpec::fresh(&args.component)],
        capabilities: Default::default(),
        limits,
        ledger,
        fanout: false,
        static_dir: None,
        quota: config::DEFAULT_QUOTA,
        updates: None,
        push_history: config::push_history(0, 1, 0)?,
    };
    let tenant = Arc::new(Tenant::load(&runtime, &tenant, None, Arc::new(Metrics::new())).await?);
    let wit_user = user.as_ref().map(to_wit_user);
    let call = Call {
        origin: Origin::Cli,
        msg_type: &args.msg_type,
        data: &args.data,
        user: wit_user.as_ref(),
        init_data: None,
        connection: None,
    };
    let mut instances = ConnectionInstances::default();
    let answers = call::run(&tenant, call, &mut instances).await;
    let answer = answers.into_iter().next().expect("one answer");
    Ok(match answer.result {
        Ok(r) => (envelope::reply(&r.msg_type, &r.data, None), true),
        Err(CallError::UnknownType(t)) => {
            let types = tenant.handlers().message_types().join(", ");
            let message = format!("no handler for Type {t:?} (the component handles {types})");
            (
                envelope::error(ErrorCode::UnknownType, &message, None),
                false,
            )
        }
        Err(e) => (envelope::error(e.code(), &e.to_string(), None), false),
    })
}

/// A small engine for one component: `call` and `describe`.
fn small_runtime(limits: &crate::runtime::Limits) -> anyhow::Result<Runtime> {
    Runtime::new(&EngineSettings {
        total_instances: 4,
        max_memory_bytes: limits.max_memory_bytes,
        max_core_instances: limits.max_core_instances as u32,
        consume_fuel: false,
    })
}

/// Loads one component on its own engine with no capabilities, as `call` and `describe` use it.
async fn load_alone(
    path: &std::path::Path,
    limits: crate::runtime::Limits,
) -> anyhow::Result<LoadedComponent> {
    let runtime = small_runtime(&limits)?;
    let context = LoadContext {
        limits,
        capabilities: Default::default(),
        on_instance: std::sync::Arc::new(|_| {}),
    };
    Ok(LoadedComponent::load(&runtime, &ComponentSpec::fresh(path), context).await?)
}

/// The API of `args.component` as pretty JSON, or as TypeScript declarations.
pub async fn describe(args: &DescribeArgs) -> anyhow::Result<String> {
    let component = load_alone(&args.component, crate::runtime::Limits::default()).await?;
    let Some(api) = &component.api else {
        bail!(
            "{} does not describe its API (it handles {:?}); components built with an SDK (sdk/, world described-handler) do",
            args.component.display(),
            component.message_types
        );
    };
    if args.typescript {
        let source = args.component.file_name().map_or_else(
            || "the component".into(),
            |n| n.to_string_lossy().into_owned(),
        );
        return Ok(crate::api::typescript::declarations(api, &source));
    }
    Ok(format!(
        "{}\n",
        serde_json::to_string_pretty(&api.document)?
    ))
}

/// Validates a configuration file and loads every component of every tenant, printing a
/// summary or each problem. Returns whether everything is fine.
pub async fn check(args: &CheckArgs) -> bool {
    let config = match Config::from_file(&args.config) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e:#}");
            return false;
        }
    };
    let runtime = match Runtime::new(&config.engine) {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: {e:#}");
            return false;
        }
    };
    let mut ok = true;
    let metrics = Arc::new(Metrics::new());
    for tenant in &config.tenants {
        if let Some(api) = &tenant.capabilities.telegram {
            let methods: Vec<&str> = api.methods().collect();
            println!(
                "tenant {}: Bot API methods {}",
                tenant.name,
                methods.join(", ")
            );
            for warning in crate::capabilities::telegram::settings::unknown_methods(methods) {
                println!("warning: tenant {}: {warning}", tenant.name);
            }
        }
        match Tenant::load(&runtime, tenant, None, metrics.clone()).await {
            Ok(loaded) => {
                println!(
                    "tenant {}: route {}{}, {} component(s), types {}",
                    tenant.name,
                    tenant.route.host.as_deref().unwrap_or(""),
                    tenant.route.path_prefix,
                    tenant.components.len(),
                    loaded.handlers().message_types().join(", ")
                );
                match &tenant.updates {
                    Some(crate::config::updates::Updates::Webhook { path, .. }) => {
                        println!("tenant {}: bot updates by webhook at {path}", tenant.name)
                    }
                    Some(crate::config::updates::Updates::Polling { .. }) => {
                        println!("tenant {}: bot updates by polling getUpdates", tenant.name)
                    }
                    None => {}
                }
                // `serve` has a store by default (--data-dir): only the Types are checked here.
                for warning in crate::updates::warnings(&loaded, true) {
                    println!("warning: tenant {}: {warning}", tenant.name);
                }
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ok = false;
            }
        }
    }
    if ok {
        println!("{}: ok", args.config.display());
    }
    ok
}

/// Signed initData for the given user and fields.
pub fn sign_init_data(args: &SignArgs) -> anyhow::Result<String> {
    serde_json::from_str::<TelegramUser>(&args.user)
        .context("--user is not WebAppUser JSON (needs at least id and first_name)")?;
    let auth_date = args.auth_date.unwrap_or_else(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let mut fields = vec![
        ("user".to_string(), args.user.clone()),
        ("auth_date".to_string(), auth_date.to_string()),
    ];
    for field in &args.fields {
        let (k, v) = field
            .split_once('=')
            .with_context(|| format!("--field {field:?} is not KEY=VALUE"))?;
        if fields.iter().any(|(existing, _)| existing == k) || k == "hash" || k == "signature" {
            bail!("--field {k} is set twice or reserved");
        }
        fields.push((k.to_string(), v.to_string()));
    }
    match (&args.bot_token, &args.ed25519_key, args.bot_id) {
        (Some(token), None, _) => Ok(init_data::sign_hmac(&fields, token)),
        (None, Some(seed), Some(bot_id)) => {
            let seed: [u8; 32] = hex::decode(seed.trim())
                .ok()
                .and_then(|b| b.try_into().ok())
                .context("--ed25519-key must be 64 hex digits (a 32-byte seed)")?;
            let key = ed25519_dalek::SigningKey::from_bytes(&seed);
            Ok(init_data::sign_ed25519(&fields, bot_id, &key))
        }
        _ => bail!("pass --bot-token, or --ed25519-key with --bot-id"),
    }
}
