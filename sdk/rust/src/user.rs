//! [`User`]: the Telegram user of the calling connection, with Telegram's field names.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::schema::{Defs, Schema};

/// Telegram's `WebAppUser`: serializes with Telegram's field names, absent fields omitted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// User id (may exceed 2^53: JavaScript clients must not parse it as a float).
    pub id: i64,
    /// True for bots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_bot: Option<bool>,
    /// First name.
    pub first_name: String,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// Username, without `@`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// IETF language tag of the user's client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
    /// Telegram Premium.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_premium: Option<bool>,
    /// Added the bot to the attachment menu.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_to_attachment_menu: Option<bool>,
    /// Allowed the bot to message them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allows_write_to_pm: Option<bool>,
    /// Profile photo URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub photo_url: Option<String>,
}

impl From<crate::bindings::User> for User {
    fn from(u: crate::bindings::User) -> Self {
        Self {
            id: u.id,
            is_bot: u.is_bot,
            first_name: u.first_name,
            last_name: u.last_name,
            username: u.username,
            language_code: u.language_code,
            is_premium: u.is_premium,
            added_to_attachment_menu: u.added_to_attachment_menu,
            allows_write_to_pm: u.allows_write_to_pm,
            photo_url: u.photo_url,
        }
    }
}

impl Schema for User {
    fn schema(defs: &mut Defs) -> Value {
        defs.reference::<Self>()
    }
}

impl crate::Model for User {
    const TYPE: &'static str = "User";
    fn object_schema(_: &mut Defs) -> Value {
        let int = json!({ "type": "integer", "format": "int64" });
        let (s, b) = (json!({ "type": "string" }), json!({ "type": "boolean" }));
        json!({
            "title": "User", "type": "object", "required": ["id", "first_name"],
            "properties": {
                "id": int, "is_bot": b, "first_name": s, "last_name": s, "username": s,
                "language_code": s, "is_premium": b, "added_to_attachment_menu": b,
                "allows_write_to_pm": b, "photo_url": s,
            },
        })
    }
}
