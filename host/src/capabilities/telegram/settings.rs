//! The `telegram` capability's settings, one set of rules for flags and `extws.toml`:
//! `[tenant.telegram]` and the `--telegram-*` flags, resolved into a [`BotApi`] grant.

use std::sync::Arc;

use anyhow::{Context as _, bail};
use serde::Deserialize;

use super::{BotApi, BotToken, DEFAULT_API_URL};

/// `[tenant.telegram]`, or the `--telegram-*` flags.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    /// Bot API base URL; default `https://api.telegram.org` (tests and a local Bot API server
    /// override it).
    pub api_url: Option<String>,
    /// Methods guests may call, e.g. `["sendMessage"]`; default none.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Environment variable holding the bot token, for tenants whose auth has none (Ed25519).
    pub bot_token_env: Option<String>,
    /// How bot updates reach the components: `"off"` (default), `"webhook"` or `"polling"`.
    #[serde(default)]
    pub updates: super::UpdatesMode,
    /// Webhook path under the tenant's route; default `/telegram/webhook`.
    pub webhook_path: Option<String>,
    /// Environment variable holding the webhook secret (Telegram's `secret_token`, sent in
    /// `X-Telegram-Bot-Api-Secret-Token`); required with `updates = "webhook"`.
    pub webhook_secret_env: Option<String>,
    /// Long-poll timeout of `getUpdates` in seconds (`updates = "polling"`); default 25.
    pub poll_timeout: Option<u64>,
}

/// Bot API methods this version knows. A method outside the list is allowed (Telegram adds
/// methods often) but `check` and startup warn about it, since it is most likely a typo.
const KNOWN_METHODS: &[&str] = &[
    "getMe",
    "logOut",
    "close",
    "sendMessage",
    "forwardMessage",
    "forwardMessages",
    "copyMessage",
    "copyMessages",
    "sendPhoto",
    "sendAudio",
    "sendDocument",
    "sendVideo",
    "sendAnimation",
    "sendVoice",
    "sendVideoNote",
    "sendPaidMedia",
    "sendMediaGroup",
    "sendLocation",
    "sendVenue",
    "sendContact",
    "sendPoll",
    "sendChecklist",
    "sendDice",
    "sendChatAction",
    "setMessageReaction",
    "getUserProfilePhotos",
    "setUserEmojiStatus",
    "getFile",
    "banChatMember",
    "unbanChatMember",
    "restrictChatMember",
    "promoteChatMember",
    "setChatAdministratorCustomTitle",
    "banChatSenderChat",
    "unbanChatSenderChat",
    "setChatPermissions",
    "exportChatInviteLink",
    "createChatInviteLink",
    "editChatInviteLink",
    "revokeChatInviteLink",
    "approveChatJoinRequest",
    "declineChatJoinRequest",
    "setChatPhoto",
    "deleteChatPhoto",
    "setChatTitle",
    "setChatDescription",
    "pinChatMessage",
    "unpinChatMessage",
    "unpinAllChatMessages",
    "leaveChat",
    "getChat",
    "getChatAdministrators",
    "getChatMemberCount",
    "getChatMember",
    "setChatStickerSet",
    "deleteChatStickerSet",
    "answerCallbackQuery",
    "getUserChatBoosts",
    "getBusinessConnection",
    "setMyCommands",
    "deleteMyCommands",
    "getMyCommands",
    "setMyName",
    "getMyName",
    "setMyDescription",
    "getMyDescription",
    "setMyShortDescription",
    "getMyShortDescription",
    "setChatMenuButton",
    "getChatMenuButton",
    "setMyDefaultAdministratorRights",
    "getMyDefaultAdministratorRights",
    "editMessageText",
    "editMessageCaption",
    "editMessageMedia",
    "editMessageLiveLocation",
    "stopMessageLiveLocation",
    "editMessageReplyMarkup",
    "stopPoll",
    "deleteMessage",
    "deleteMessages",
    "sendSticker",
    "answerInlineQuery",
    "answerWebAppQuery",
    "savePreparedInlineMessage",
    "sendInvoice",
    "createInvoiceLink",
    "answerShippingQuery",
    "answerPreCheckoutQuery",
    "getStarTransactions",
    "refundStarPayment",
    "editUserStarSubscription",
    "getMyStarBalance",
    "sendGift",
    "getAvailableGifts",
    "verifyUser",
    "verifyChat",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "getUpdates",
    "sendGame",
    "setGameScore",
    "getGameHighScores",
];

/// Warnings about methods this version does not know (likely typos).
pub fn unknown_methods<'a>(methods: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    methods
        .into_iter()
        .filter(|m| !KNOWN_METHODS.contains(m))
        .map(|m| format!("Bot API method {m:?} is not one this version knows (a typo?)"))
        .collect()
}

/// Bot API access from the settings. `auth_token` is the tenant's HMAC bot token, if its
/// auth has one; otherwise the token comes from `bot_token_env`.
pub fn bot_api(
    settings: Option<&TelegramSettings>,
    auth_token: Option<&str>,
) -> anyhow::Result<Option<Arc<BotApi>>> {
    let Some(s) = settings else {
        return Ok(None);
    };
    let token = match (&s.bot_token_env, auth_token) {
        (Some(var), _) => Some(std::env::var(var).with_context(|| {
            format!("telegram.bot_token_env: environment variable {var} is not set")
        })?),
        (None, token) => token.map(str::to_string),
    };
    if token.is_none() && !s.methods.is_empty() {
        bail!(
            "telegram: the tenant's auth has no bot token (Ed25519 or none); set \
             bot_token_env to the variable that holds it"
        );
    }
    for warning in unknown_methods(s.methods.iter().map(String::as_str)) {
        tracing::warn!("{warning}");
    }
    let api = BotApi::new(
        token.map(|t| BotToken::new(t.trim())),
        s.api_url.as_deref().unwrap_or(DEFAULT_API_URL),
        s.methods.iter().cloned(),
    )
    .map_err(|e| anyhow::anyhow!("telegram: {e}"))?;
    Ok(Some(Arc::new(api)))
}
