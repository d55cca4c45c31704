//! The oracle of the `init_data` target: Telegram's documented algorithm ("Validating data
//! received via the Mini App") with the strictness the validator documents.

use base64::Engine as _;
use ed25519_dalek::Verifier as _;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::{Check, Verdict};

/// One `application/x-www-form-urlencoded` component: `+` is a space, `%` takes exactly two
/// hex digits, and the bytes must be UTF-8.
fn decode(s: &str) -> Option<String> {
    let mut bytes = Vec::new();
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = std::str::from_utf8(rest.get(..2)?).ok()?;
                if !hex.bytes().all(|h| h.is_ascii_hexdigit()) {
                    return None;
                }
                bytes.push(u8::from_str_radix(hex, 16).ok()?);
                rest = &rest[2..];
            }
            b => bytes.push(b),
        }
    }
    String::from_utf8(bytes).ok()
}

/// A decimal integer (Rust's grammar for unsigned integers: an optional `+`, then digits).
fn integer(s: &str) -> Option<u64> {
    let digits = s.strip_prefix('+').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The data-check-string: every field but the skipped ones as `key=value` lines, sorted,
/// joined by `\n`.
pub fn data_check_string(fields: &[(String, String)], skip: &[&str]) -> String {
    let mut lines: Vec<String> = fields
        .iter()
        .filter(|(k, _)| !skip.contains(&k.as_str()))
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    lines.sort();
    lines.join("\n")
}

pub fn hmac_hex(token: &str, dcs: &str) -> String {
    let mut secret = Hmac::<Sha256>::new_from_slice(b"WebAppData").unwrap();
    secret.update(token.as_bytes());
    let secret = secret.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&secret).unwrap();
    mac.update(dcs.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `json` is a `WebAppUser` (or `WebAppChat` with `chat`) as docs/auth.md promises to
/// read it: an object with an integer `id` (or one written as a string) and a string
/// `first_name` (`type` and `title` for a chat); optional fields of the right type; flags as
/// booleans or "true"/"false"; other fields ignored.
fn telegram_object(json: &str, chat: bool) -> Option<(i64, String)> {
    let value: serde_json::Value = serde_json::from_str(json).ok()?;
    let object = value.as_object()?;
    let id = match object.get("id")? {
        serde_json::Value::Number(n) => n.as_i64()?,
        serde_json::Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    let required: &[&str] = if chat {
        &["type", "title"]
    } else {
        &["first_name"]
    };
    let texts: &[&str] = if chat {
        &["username", "photo_url"]
    } else {
        &["last_name", "username", "language_code", "photo_url"]
    };
    let flags: &[&str] = if chat {
        &[]
    } else {
        &[
            "is_bot",
            "is_premium",
            "added_to_attachment_menu",
            "allows_write_to_pm",
        ]
    };
    for key in required {
        object.get(*key)?.as_str()?;
    }
    for key in texts {
        if !matches!(
            object.get(*key),
            None | Some(serde_json::Value::String(_) | serde_json::Value::Null)
        ) {
            return None;
        }
    }
    for key in flags {
        let ok = match object.get(*key) {
            None | Some(serde_json::Value::Null | serde_json::Value::Bool(_)) => true,
            Some(serde_json::Value::String(s)) => s == "true" || s == "false",
            Some(_) => false,
        };
        if !ok {
            return None;
        }
    }
    let name = object.get(if chat { "title" } else { "first_name" })?;
    Some((id, name.as_str()?.to_string()))
}

/// The oracle: Telegram's algorithm, in the validator's documented order (form syntax,
/// `auth_date` syntax, signature, expiry, content).
pub fn oracle(raw: &str, check: &Check, max_age: Option<u64>, now: u64) -> Verdict {
    use Verdict::Refused;
    if raw.is_empty() {
        return Refused("missing");
    }
    let mut fields: Vec<(String, String)> = Vec::new();
    for piece in raw.split('&') {
        let Some((k, v)) = piece.split_once('=') else {
            return Refused("malformed");
        };
        let (Some(k), Some(v)) = (decode(k), decode(v)) else {
            return Refused("malformed");
        };
        if k.is_empty() || fields.iter().any(|(seen, _)| *seen == k) {
            return Refused("malformed");
        }
        fields.push((k, v));
    }
    let get = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    };
    let auth_date = match get("auth_date") {
        None => None,
        Some(v) => match integer(v) {
            Some(n) => Some(n),
            None => return Refused("malformed"),
        },
    };
    match check {
        Check::Hmac(token) => {
            let Some(hash) = get("hash") else {
                return Refused("missing_signature");
            };
            if hash.len() != 64
                || !hash
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            {
                return Refused("malformed_signature");
            }
            if hash != hmac_hex(token, &data_check_string(&fields, &["hash"])) {
                return Refused("bad_signature");
            }
        }
        Check::Ed25519(bot_id, public) => {
            let Some(signature) = get("signature") else {
                return Refused("missing_signature");
            };
            let decoded = if signature.len() % 4 == 0 {
                base64::engine::general_purpose::URL_SAFE.decode(signature)
            } else {
                base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(signature)
            };
            let Some(signature) = decoded
                .ok()
                .and_then(|b| ed25519_dalek::Signature::from_slice(&b).ok())
            else {
                return Refused("malformed_signature");
            };
            let message = format!(
                "{bot_id}:WebAppData\n{}",
                data_check_string(&fields, &["hash", "signature"])
            );
            let key: [u8; 32] = hex::decode(public).unwrap().try_into().unwrap();
            let key = ed25519_dalek::VerifyingKey::from_bytes(&key).unwrap();
            if key.verify(message.as_bytes(), &signature).is_err() {
                return Refused("bad_signature");
            }
        }
    }
    if let Some(max_age) = max_age {
        let Some(date) = auth_date else {
            return Refused("missing_auth_date");
        };
        if now > date.saturating_add(max_age) {
            return Refused("expired");
        }
    }
    let user = match get("user") {
        None => None,
        Some(json) => match telegram_object(json, false) {
            Some(user) => Some(user),
            None => return Refused("malformed"),
        },
    };
    let content_ok = get("receiver").is_none_or(|j| telegram_object(j, false).is_some())
        && get("chat").is_none_or(|j| telegram_object(j, true).is_some())
        && get("can_send_after").is_none_or(|v| integer(v).is_some());
    if !content_ok {
        return Refused("malformed");
    }
    Verdict::Valid {
        user,
        auth_date,
        query_id: get("query_id").map(str::to_string),
        start_param: get("start_param").map(str::to_string),
    }
}
