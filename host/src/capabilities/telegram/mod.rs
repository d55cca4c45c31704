//! The `telegram` capability, the Bot API as the tenant's bot: [`BotApi`] holds the bot token
//! (which never reaches a guest, a log record, an error or a metric), the methods the tenant
//! allows, and the bot's [`flood`] limits, and makes `POST {api_url}/bot<token>/<method>` calls
//! within the calling guest's deadline. [`settings`] resolves `[tenant.telegram]` into it;
//! [`host`] is the WIT side; [`shared`] keeps the flood limits in Redis for every node;
//! `request` puts each request on the wire from the Bot API's own I/O thread.
//!
//! Once a request has left, its outcome is what the call reports: Telegram's answer, or, when
//! none came in time, an `unavailable` saying the outcome is unknown (the message may have been
//! delivered). An `unavailable` that says "not sent" means nothing left this server.

pub mod flood;
pub mod host;
mod request;
pub mod settings;
pub mod shared;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::capabilities::http::allow::Target;
use flood::{Chat, Flood, RoundTrip};
use shared::{Limiter, Refused, SharedFlood};

/// Where Telegram's Bot API is, unless a tenant says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// `[tenant.telegram] updates`, or `--telegram-updates`.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpdatesMode {
    /// Bot updates are not received (the default).
    #[default]
    Off,
    /// Telegram posts updates to `<route><webhook_path>` (register it with
    /// `extws-wasm telegram set-webhook`).
    Webhook,
    /// The server asks Telegram for updates (`getUpdates`): for development and for bots
    /// without a public URL.
    Polling,
}

/// Why a Bot API call produced no result; the WIT `telegram-error`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TelegramError {
    /// The method is not allowed for this tenant, or the tenant has no bot token.
    #[error("denied: {0}")]
    Denied(String),
    /// Telegram answered `ok: false`.
    #[error("Telegram answered {code}: {description}")]
    Api {
        /// `error_code`.
        code: u16,
        /// `description`.
        description: String,
        /// `parameters.retry_after`.
        retry_after: Option<u32>,
    },
    /// Seconds to wait: the host's flood limits or Telegram's 429.
    #[error("rate limited: retry after {0} s")]
    RateLimited(u32),
    /// Nothing was sent (the Bot API or the shared limits could not be reached): the message
    /// starts with `not sent:`; or the request was sent and no answer came in time: it starts
    /// with `outcome unknown:`, and the message may have been delivered.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Bad arguments.
    #[error("invalid: {0}")]
    Invalid(String),
}

/// A Bot API method name: a letter, then letters and digits (`sendMessage`).
pub fn is_method_name(method: &str) -> bool {
    let mut bytes = method.bytes();
    method.len() <= 64
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric())
}

/// A bot token that prints as `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct BotToken(String);

impl BotToken {
    /// Wraps a token.
    pub fn new(token: impl Into<String>) -> Self {
        Self(token.into())
    }
}

impl std::fmt::Debug for BotToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BotToken(***)")
    }
}

/// One tenant's access to the Bot API.
#[derive(Debug)]
pub struct BotApi {
    token: Option<BotToken>,
    api_url: String,
    /// Where `api_url` points, checked once.
    target: Target,
    methods: BTreeSet<String>,
    flood: Limiter,
    round_trip: Arc<RoundTrip>,
}

/// `unavailable`, nothing having left.
fn not_sent(why: impl std::fmt::Display) -> TelegramError {
    TelegramError::Unavailable(format!("not sent: {why}"))
}

/// `unavailable`, the request having left without an answer.
fn outcome_unknown(why: impl std::fmt::Display) -> TelegramError {
    TelegramError::Unavailable(format!(
        "outcome unknown: the request was sent, but {why}; it may have been delivered"
    ))
}

impl BotApi {
    /// Access as the bot with `token` (none: every call is `denied`) to `api_url` (an
    /// `http(s)://` URL without a path), for `methods` only.
    pub fn new(
        token: Option<BotToken>,
        api_url: &str,
        methods: impl IntoIterator<Item = String>,
    ) -> Result<Self, String> {
        let api_url = api_url.trim_end_matches('/').to_string();
        let uri: http::Uri = api_url
            .parse()
            .map_err(|_| format!("api_url {api_url:?} is not a URL"))?;
        let Some(target) = Target::trusted(&uri) else {
            return Err(format!(
                "api_url {api_url:?} must be an http:// or https:// URL"
            ));
        };
        let methods: BTreeSet<String> = methods.into_iter().collect();
        if let Some(bad) = methods.iter().find(|m| !is_method_name(m)) {
            return Err(format!(
                "{bad:?} is not a Bot API method name (letters and digits, e.g. sendMessage)"
            ));
        }
        Ok(Self {
            token,
            api_url,
            target,
            methods,
            flood: Limiter::Local(Flood::default()),
            round_trip: Arc::default(),
        })
    }

    /// The same access, with the bot's flood limits kept in Redis (through `conn`) for every
    /// node that serves the bot, instead of in this process.
    pub fn shared_through(&self, conn: redis::aio::ConnectionManager) -> Self {
        let flood = match &self.token {
            Some(token) => Limiter::Shared(SharedFlood::new(conn, &token.0)),
            None => Limiter::Local(Flood::default()),
        };
        Self {
            token: self.token.clone(),
            api_url: self.api_url.clone(),
            target: self.target.clone(),
            methods: self.methods.clone(),
            flood,
            round_trip: Arc::default(),
        }
    }

    /// The allowed methods.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.methods.iter().map(String::as_str)
    }

    /// Calls `method` with `params` (a JSON object), finishing by `deadline`: waits for a
    /// flood slot only when the request still fits after the wait (twice the slowest recent
    /// round trip), else is `rate-limited` before anything is sent; gives up on the Bot API in
    /// time for the guest to handle `unavailable` (`not sent:` or `outcome unknown:`). Returns
    /// the JSON text of `result`.
    pub async fn call(
        &self,
        method: &str,
        params: &str,
        deadline: Instant,
    ) -> Result<String, TelegramError> {
        if !is_method_name(method) {
            return Err(TelegramError::Invalid(format!(
                "{method:?} is not a Bot API method name"
            )));
        }
        if !self.methods.contains(method) {
            return Err(TelegramError::Denied(format!(
                "{method} is not allowed for this tenant (list it in [tenant.telegram] methods)"
            )));
        }
        let Some(token) = &self.token else {
            return Err(TelegramError::Denied(
                "this tenant has no bot token (set [tenant.telegram] bot_token_env)".into(),
            ));
        };
        let value: serde_json::Value = serde_json::from_str(params)
            .map_err(|e| TelegramError::Invalid(format!("params is not JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(TelegramError::Invalid(
                "params must be a JSON object".into(),
            ));
        };
        // Leave the guest a moment to handle what this call returns.
        let budget = deadline.saturating_duration_since(Instant::now());
        let reserve = (budget / 10).min(Duration::from_millis(50));
        let give_up = deadline.checked_sub(reserve).unwrap_or(deadline);
        let chat = object.get("chat_id").and_then(Chat::from_param);
        // Wait for a slot only when the request still fits after the wait.
        let expected = self.round_trip.expected();
        let can_wait = give_up
            .saturating_duration_since(Instant::now())
            .saturating_sub(expected);
        let message = flood::sends_a_message(method);
        let wait = match self
            .flood
            .reserve(message, chat.as_ref(), can_wait, give_up)
            .await
        {
            Ok(wait) => wait,
            Err(Refused::Wait(seconds)) => return Err(TelegramError::RateLimited(seconds)),
            Err(Refused::Unavailable(why)) => return Err(not_sent(why)),
        };
        // A slow Redis may have taken part of the time the wait was granted from.
        if !wait.is_zero() && Instant::now() + wait + expected > give_up {
            return Err(TelegramError::RateLimited(flood::seconds_until(wait)));
        }
        let slot = Instant::now() + wait;
        tokio::time::sleep_until(slot.into()).await;
        let request = self.request(token, method, params.to_string())?;
        let slot = message.then_some(slot);
        let (status, body) = self.send(request, give_up, "the deadline", slot).await?;
        self.read_answer(status, &body)
    }

    /// Calls `method` as the host itself (`getUpdates`, `setWebhook`, ...): no allow-list and
    /// no flood limits, which are there for guests. Gives up after `timeout`. Returns the JSON
    /// text of `result`.
    pub async fn call_as_host(
        &self,
        method: &str,
        params: &serde_json::Value,
        timeout: Duration,
    ) -> Result<String, TelegramError> {
        let Some(token) = &self.token else {
            return Err(TelegramError::Denied("this tenant has no bot token".into()));
        };
        let request = self.request(token, method, params.to_string())?;
        let give_up = Instant::now() + timeout;
        let within = format!("{timeout:?}");
        let (status, body) = self.send(request, give_up, &within, None).await?;
        self.read_answer(status, &body)
    }

    /// Whether calls can be made at all (the tenant has a bot token).
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    fn request(
        &self,
        token: &BotToken,
        method: &str,
        body: String,
    ) -> Result<http::Request<http_body_util::Full<bytes::Bytes>>, TelegramError> {
        let url = format!("{}/bot{}/{method}", self.api_url, token.0);
        http::Request::post(url)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(http_body_util::Full::new(body.into()))
            // The message would contain the URL, and with it the token.
            .map_err(|_| TelegramError::Invalid("the request could not be built".into()))
    }

    /// Sends `request` on the Bot API's own thread ([`request::send`]).
    async fn send(
        &self,
        request: http::Request<http_body_util::Full<bytes::Bytes>>,
        give_up: Instant,
        within: &str,
        slot: Option<Instant>,
    ) -> Result<(http::StatusCode, bytes::Bytes), TelegramError> {
        let exchange = request::Exchange {
            target: self.target.clone(),
            request,
            give_up,
            within: within.to_string(),
            slot,
            round_trip: self.round_trip.clone(),
        };
        request::send(exchange).await
    }

    fn read_answer(&self, status: http::StatusCode, body: &[u8]) -> Result<String, TelegramError> {
        #[derive(serde::Deserialize)]
        struct Answer {
            ok: bool,
            result: Option<Box<serde_json::value::RawValue>>,
            error_code: Option<u16>,
            description: Option<String>,
            parameters: Option<Parameters>,
        }
        #[derive(serde::Deserialize)]
        struct Parameters {
            retry_after: Option<u32>,
        }
        let answer: Answer = serde_json::from_slice(body).map_err(|_| {
            outcome_unknown(format!(
                "the answer (HTTP {}) was not a Bot API answer",
                status.as_u16()
            ))
        })?;
        if answer.ok {
            return Ok(answer
                .result
                .map_or_else(|| "true".to_string(), |r| r.get().to_string()));
        }
        let code = answer.error_code.unwrap_or(status.as_u16());
        let retry_after = answer.parameters.and_then(|p| p.retry_after);
        if code == 429 {
            let seconds = retry_after.unwrap_or(1).max(1);
            self.flood.block_for(seconds);
            return Err(TelegramError::RateLimited(seconds));
        }
        Err(TelegramError::Api {
            code,
            description: answer.description.unwrap_or_default(),
            retry_after,
        })
    }
}
