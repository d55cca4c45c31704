//! `extws-wasm telegram ...`: a tenant's webhook at Telegram, managed with the tenant's own
//! configuration (token, `api_url`, secret), so the secret and the token are never typed on a
//! command line and `allowed_updates` always matches what the components handle.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::capabilities::telegram::BotApi;
use crate::cli::{BotArgs, TelegramCommand};
use crate::config::updates::Updates;
use crate::config::{Config, TenantConfig};
use crate::metrics::Metrics;
use crate::runtime::Runtime;
use crate::tenants::Tenant;
use crate::updates::allowed_updates;

/// How long a command waits for the Bot API.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Runs a `telegram` subcommand; returns what to print.
pub async fn run(command: &TelegramCommand) -> anyhow::Result<String> {
    match command {
        TelegramCommand::SetWebhook {
            bot,
            url,
            drop_pending_updates,
        } => set_webhook(bot, url, *drop_pending_updates).await,
        TelegramCommand::DeleteWebhook {
            bot,
            drop_pending_updates,
        } => {
            let (_, api) = tenant(bot)?;
            let params = serde_json::json!({ "drop_pending_updates": drop_pending_updates });
            call(&api, "deleteWebhook", &params).await?;
            Ok(format!("tenant {}: webhook deleted", bot.tenant))
        }
        TelegramCommand::WebhookInfo { bot } => {
            let (_, api) = tenant(bot)?;
            let info = call(&api, "getWebhookInfo", &serde_json::json!({})).await?;
            let info: serde_json::Value = serde_json::from_str(&info)?;
            Ok(serde_json::to_string_pretty(&info)?)
        }
    }
}

async fn set_webhook(bot: &BotArgs, url: &str, drop_pending: bool) -> anyhow::Result<String> {
    let (config, api) = tenant(bot)?;
    let Some(Updates::Webhook { path, secret }) = &config.updates else {
        bail!(
            "tenant {} does not receive updates by webhook: set updates = \"webhook\" and \
             webhook_secret_env in its [tenant.telegram]",
            bot.tenant
        );
    };
    let parsed: http::Uri = url.parse().context("--url is not a URL")?;
    if parsed.path() != path {
        bail!(
            "--url must end in the tenant's webhook path {path} (got {:?})",
            parsed.path()
        );
    }
    // The Types the components claim decide which updates Telegram sends.
    let runtime = Runtime::new(&Config::new(vec![config.clone()]).engine)?;
    let loaded = Tenant::load(&runtime, &config, None, Arc::new(Metrics::new())).await?;
    let allowed = allowed_updates(&loaded.handlers());
    let params = serde_json::json!({
        "url": url,
        "secret_token": secret.reveal(),
        "allowed_updates": allowed,
        "drop_pending_updates": drop_pending,
    });
    call(&api, "setWebhook", &params).await?;
    Ok(format!(
        "tenant {}: webhook set to {url} (updates: {})",
        bot.tenant,
        if allowed.is_empty() {
            "Telegram's default set".to_string()
        } else {
            allowed.join(", ")
        }
    ))
}

/// The tenant's configuration and Bot API access.
fn tenant(bot: &BotArgs) -> anyhow::Result<(TenantConfig, Arc<BotApi>)> {
    let config = Config::from_file(&bot.config)?;
    let Some(tenant) = config.tenants.into_iter().find(|t| t.name == bot.tenant) else {
        bail!(
            "{} declares no tenant {:?}",
            bot.config.display(),
            bot.tenant
        );
    };
    let Some(api) = tenant
        .capabilities
        .telegram
        .clone()
        .filter(|a| a.has_token())
    else {
        bail!(
            "tenant {} has no Bot API access: add [tenant.telegram] (the token comes from its \
             auth or telegram.bot_token_env)",
            bot.tenant
        );
    };
    Ok((tenant, api))
}

async fn call(api: &BotApi, method: &str, params: &serde_json::Value) -> anyhow::Result<String> {
    api.call_as_host(method, params, TIMEOUT)
        .await
        .with_context(|| format!("{method} failed"))
}
