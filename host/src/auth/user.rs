//! The Telegram user and init-data context as the host holds them after validation.
//!
//! These mirror Telegram's `WebAppUser` / `WebAppChat` JSON (snake_case) and are converted into
//! the WIT records of `extws:handler/types` when a handler is called.

use serde::{Deserialize, Serialize};

/// Telegram's `WebAppUser`. Unknown fields in the JSON are ignored; ids and flags are also
/// accepted as strings (`"123"`, `"true"`), as some clients and test suites send them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TelegramUser {
    /// User id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// True for bots.
    #[serde(
        default,
        deserialize_with = "lenient::flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_bot: Option<bool>,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// Telegram Premium.
    #[serde(
        default,
        deserialize_with = "lenient::flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub is_premium: Option<bool>,
    /// Added the bot to the attachment menu.
    #[serde(
        default,
        deserialize_with = "lenient::flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub added_to_attachment_menu: Option<bool>,
    /// Allowed the bot to message them.
    #[serde(
        default,
        deserialize_with = "lenient::flag",
        skip_serializing_if = "Option::is_none"
    )]
    pub allows_write_to_pm: Option<bool>,
    /// Profile photo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
}

/// Telegram's `WebAppChat`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chat {
    /// Chat id.
    #[serde(deserialize_with = "lenient::id")]
    pub id: i64,
    /// `group`, `supergroup` or `channel`.
    #[serde(rename = "type")]
    pub chat_type: String,
    /// Title.
    pub title: String,
    /// Username.
    #[serde(default)]
    pub username: Option<String>,
    /// Photo URL.
    #[serde(default)]
    pub photo_url: Option<String>,
}

/// The validated initData fields other than `user`, `hash` and `signature`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InitDataContext {
    /// Unix time of signing.
    pub auth_date: Option<u64>,
    /// Session id for `answerWebAppQuery`.
    pub query_id: Option<String>,
    /// Chat type the app was opened from.
    pub chat_type: Option<String>,
    /// Global chat identifier.
    pub chat_instance: Option<String>,
    /// `startapp` parameter.
    pub start_param: Option<String>,
    /// Seconds after which messages may be sent.
    pub can_send_after: Option<u64>,
    /// The chat of an attachment-menu launch.
    pub chat: Option<Chat>,
    /// The chat partner of an attachment-menu launch.
    pub receiver: Option<TelegramUser>,
}

/// Deserializers that accept numbers and booleans also as strings.
mod lenient {
    use serde::Deserialize;
    use serde::de::{Deserializer, Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum IdOrText {
        Id(i64),
        Text(String),
    }

    pub fn id<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        match IdOrText::deserialize(d)? {
            IdOrText::Id(id) => Ok(id),
            IdOrText::Text(t) => t
                .parse()
                .map_err(|_| D::Error::custom("id is not an integer")),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum FlagOrText {
        Flag(bool),
        Text(String),
    }

    pub fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        match Option::<FlagOrText>::deserialize(d)? {
            None => Ok(None),
            Some(FlagOrText::Flag(b)) => Ok(Some(b)),
            Some(FlagOrText::Text(t)) => match t.as_str() {
                "true" => Ok(Some(true)),
                "false" => Ok(Some(false)),
                _ => Err(D::Error::custom("flag is not a boolean")),
            },
        }
    }
}
