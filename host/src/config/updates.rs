//! `[tenant.telegram] updates`: whether and how the bot's updates (messages, callback queries,
//! payments, ...) reach the tenant's components — a webhook on the tenant's route, or
//! `getUpdates` long polling. Never both.

use std::time::Duration;

use anyhow::{Context as _, bail};

use crate::capabilities::telegram::settings::TelegramSettings;
use crate::capabilities::telegram::{BotApi, UpdatesMode};

/// Where a tenant's webhook is, under its route, unless `webhook_path` says otherwise.
pub const DEFAULT_WEBHOOK_PATH: &str = "/telegram/webhook";

/// `getUpdates`' long-poll timeout unless `poll_timeout` says otherwise, in seconds.
pub const DEFAULT_POLL_TIMEOUT: u64 = 25;

/// A webhook secret (Telegram's `secret_token`): compared in constant time, never printed.
#[derive(Clone)]
pub struct WebhookSecret(String);

impl WebhookSecret {
    /// Checks Telegram's rule for `secret_token`: 1–256 of `A-Z a-z 0-9 _ -`.
    pub fn new(secret: &str) -> Result<Self, String> {
        let ok = (1..=256).contains(&secret.len())
            && secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !ok {
            return Err("a webhook secret is 1-256 characters of A-Z, a-z, 0-9, _ and -".into());
        }
        Ok(Self(secret.to_string()))
    }

    /// Whether `given` (the `X-Telegram-Bot-Api-Secret-Token` header) is the secret, in time
    /// that does not depend on where they differ.
    pub fn matches(&self, given: &[u8]) -> bool {
        use subtle::ConstantTimeEq as _;
        given.len() == self.0.len() && bool::from(given.ct_eq(self.0.as_bytes()))
    }

    /// The secret itself, for `setWebhook`.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookSecret(***)")
    }
}

/// How a tenant receives bot updates (none when `updates = "off"`).
#[derive(Debug, Clone)]
pub enum Updates {
    /// Telegram posts each update to `path` with the secret in a header.
    Webhook {
        /// The full request path (route prefix included), e.g. `/shop/telegram/webhook`.
        path: String,
        /// Requests without it get 401.
        secret: WebhookSecret,
    },
    /// The server long-polls `getUpdates`.
    Polling {
        /// The long-poll timeout passed to Telegram.
        timeout: Duration,
    },
}

impl Updates {
    /// The mode's name, for logs and `check`.
    pub fn mode(&self) -> &'static str {
        match self {
            Updates::Webhook { .. } => "webhook",
            Updates::Polling { .. } => "polling",
        }
    }
}

/// The updates settings of a tenant on `route_prefix` whose Bot API access is `bot`.
pub fn updates(
    settings: Option<&TelegramSettings>,
    route_prefix: &str,
    bot: Option<&BotApi>,
) -> anyhow::Result<Option<Updates>> {
    let Some(s) = settings else {
        return Ok(None);
    };
    if s.updates == UpdatesMode::Off {
        if s.webhook_secret_env.is_some() || s.webhook_path.is_some() || s.poll_timeout.is_some() {
            bail!(
                "telegram: webhook_secret_env, webhook_path and poll_timeout need updates = \
                 \"webhook\" or \"polling\""
            );
        }
        return Ok(None);
    }
    if !bot.is_some_and(BotApi::has_token) {
        bail!(
            "telegram.updates needs the bot token: the tenant's auth.bot_token(_env), or \
             telegram.bot_token_env"
        );
    }
    match s.updates {
        UpdatesMode::Off => unreachable!("handled above"),
        UpdatesMode::Webhook => {
            if s.poll_timeout.is_some() {
                bail!("telegram.poll_timeout is for updates = \"polling\"");
            }
            let Some(var) = &s.webhook_secret_env else {
                bail!(
                    "telegram.updates = \"webhook\" needs webhook_secret_env: the variable \
                     holding the secret Telegram sends with every update"
                );
            };
            let secret = std::env::var(var).with_context(|| {
                format!("telegram.webhook_secret_env: environment variable {var} is not set")
            })?;
            let secret = WebhookSecret::new(secret.trim())
                .map_err(|e| anyhow::anyhow!("telegram.webhook_secret_env ({var}): {e}"))?;
            let sub = s.webhook_path.as_deref().unwrap_or(DEFAULT_WEBHOOK_PATH);
            if !sub.starts_with('/') || sub.contains(['?', '#']) || sub.len() > 256 {
                bail!("telegram.webhook_path must be a path starting with '/' (got {sub:?})");
            }
            let path = format!("{}{sub}", route_prefix.trim_end_matches('/'));
            Ok(Some(Updates::Webhook { path, secret }))
        }
        UpdatesMode::Polling => {
            if s.webhook_secret_env.is_some() || s.webhook_path.is_some() {
                bail!("telegram.webhook_secret_env and webhook_path are for updates = \"webhook\"");
            }
            let seconds = s.poll_timeout.unwrap_or(DEFAULT_POLL_TIMEOUT);
            if seconds > 50 {
                bail!("telegram.poll_timeout is at most 50 seconds (got {seconds})");
            }
            Ok(Some(Updates::Polling {
                timeout: Duration::from_secs(seconds),
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_follow_telegrams_rule_and_never_print() {
        let secret = WebhookSecret::new("abc_DEF-123").unwrap();
        assert!(secret.matches(b"abc_DEF-123"));
        assert!(!secret.matches(b"abc_DEF-124"));
        assert!(!secret.matches(b"abc_DEF-12"));
        assert!(!secret.matches(b""));
        assert_eq!(format!("{secret:?}"), "WebhookSecret(***)");
        for bad in ["", "has space", "semi;colon", &"x".repeat(257)] {
            assert!(WebhookSecret::new(bad).is_err(), "{bad:?}");
        }
    }
}
