//! The `telegram` capability, the Bot API as the tenant's bot: [`BotApi`] holds the bot token
//! (which never reaches a guest, a log record, an error or a metric), the methods the tenant
//! allows, and the bot's [`flood`] limits, and makes `POST {api_url}/bot<token>/<method>` calls
//! within the calling guest's deadline. [`settings`] resolves `[tenant.telegram]` into it;
//! [`host`] is the WIT side.

pub mod flood;
pub mod host;
pub mod settings;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;

use crate::capabilities::http::allow::Target;
use crate::capabilities::http::client;
use flood::{Chat, Flood};

/// Where Telegram's Bot API is, unless a tenant says otherwise.
pub const DEFAULT_API_URL: &str = "https://api.telegram.org";

/// Largest Bot API answer read (Telegram's own answers are far smaller).
const MAX_ANSWER_BYTES: usize = 4 << 20;

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
    /// The Bot API could not be reached or did not answer in time.
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
    flood: Flood,
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
            flood: Flood::default(),
        })
    }

    /// The allowed methods.
    pub fn methods(&self) -> impl Iterator<Item = &str> {
        self.methods.iter().map(String::as_str)
    }

    /// Calls `method` with `params` (a JSON object), finishing by `deadline`: waits for a
    /// flood slot only if one comes in time, and gives up on the Bot API in time for the
    /// guest to handle `unavailable`. Returns the JSON text of `result`.
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
        let wait = self
            .flood
            .reserve(
                flood::sends_a_message(method),
                chat.as_ref(),
                give_up.saturating_duration_since(Instant::now()),
            )
            .map_err(TelegramError::RateLimited)?;
        tokio::time::sleep(wait).await;
        let request = self.request(token, method, params.to_string())?;
        let answer = tokio::time::timeout_at(give_up.into(), self.send(request)).await;
        let (status, body) = answer.map_err(|_| {
            TelegramError::Unavailable("the Bot API did not answer within the deadline".into())
        })??;
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
        let (status, body) = tokio::time::timeout(timeout, self.send(request))
            .await
            .map_err(|_| {
                TelegramError::Unavailable(format!("the Bot API did not answer within {timeout:?}"))
            })??;
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

    async fn send(
        &self,
        request: http::Request<http_body_util::Full<bytes::Bytes>>,
    ) -> Result<(http::StatusCode, bytes::Bytes), TelegramError> {
        let unavailable = |e: client::ClientError| TelegramError::Unavailable(e.to_string());
        let response = client::send(&self.target, request, Duration::from_secs(60))
            .await
            .map_err(unavailable)?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| TelegramError::Unavailable(format!("reading the answer: {e}")))?
            .to_bytes();
        Ok((status, body))
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
            TelegramError::Unavailable(format!(
                "the Bot API answered HTTP {} without a Bot API answer",
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
