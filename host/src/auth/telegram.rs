//! Pure validation of Telegram Mini App `initData`: parsing, HMAC-SHA256 and Ed25519
//! signatures, `auth_date` expiry. No I/O and no clock of its own: callers pass `now`.
//!
//! The rules follow Telegram's documentation ("Validating data received via the Mini App"):
//!
//! * HMAC (first-party, needs the bot token): the data-check-string is every received field
//!   except `hash` — so `signature`, when present, is included — sorted by key and joined as
//!   `key=value` lines with `\n`, built from the form-decoded values exactly as received (never
//!   re-serialized: real `user` JSON contains `\/`). The key is `HMAC_SHA256("WebAppData", token)`.
//! * Ed25519 (third-party, needs only the bot id): the data-check-string is
//!   `"{bot_id}:WebAppData\n"` followed by the same lines without `hash` and `signature`;
//!   `signature` is base64url (padded or not) of a 64-byte Ed25519 signature by Telegram's key.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::{URL_SAFE, URL_SAFE_NO_PAD};
use ed25519_dalek::{Signature, VerifyingKey};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::user::{Chat, InitDataContext, TelegramUser};

type HmacSha256 = Hmac<Sha256>;

/// Telegram's production Ed25519 public key for third-party validation (hex).
pub const TELEGRAM_PRODUCTION_KEY: &str =
    "e7bf03a2fa4602af4580703d88dda5bb59f32ed8b02a56c187fe7d34caed242d";
/// Telegram's test-environment Ed25519 public key for third-party validation (hex).
pub const TELEGRAM_TEST_KEY: &str =
    "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec";

/// Why initData was refused. Each kind is safe to log: none carries the data itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum InitDataError {
    /// No initData was presented at all.
    #[error("missing initData")]
    Missing,
    /// The text is not a well-formed query string (bad escape, invalid UTF-8, a pair without
    /// `=`, an empty or duplicate key, a non-integer `auth_date`, unparsable `user` JSON, ...).
    #[error("malformed initData")]
    Malformed,
    /// The field the configured check needs (`hash` or `signature`) is absent.
    #[error("initData is not signed")]
    MissingSignature,
    /// `hash` is not 64 lower-case hex digits, or `signature` is not base64url of 64 bytes.
    #[error("initData signature is malformed")]
    MalformedSignature,
    /// The signature does not match: tampered data or another bot's initData.
    #[error("initData signature does not match")]
    BadSignature,
    /// `auth_date` is missing while expiry is enforced.
    #[error("initData has no auth_date")]
    MissingAuthDate,
    /// `auth_date` is older than the allowed age.
    #[error("initData has expired")]
    Expired,
    /// Longer than [`MAX_INIT_DATA_BYTES`]: refused before it is parsed.
    #[error("initData is longer than {MAX_INIT_DATA_BYTES} bytes")]
    TooLong,
}

/// Longest initData accepted, in bytes, on every transport. Telegram's is about 1 KiB (the
/// longest of the public test vectors is 1,045 bytes); anything longer is refused before it is
/// parsed, so a client cannot make the validator work on megabytes.
pub const MAX_INIT_DATA_BYTES: usize = 4096;

impl InitDataError {
    /// A short stable name for logs and metrics.
    pub fn kind(self) -> &'static str {
        match self {
            Self::Missing => "missing",
            Self::Malformed => "malformed",
            Self::MissingSignature => "missing_signature",
            Self::MalformedSignature => "malformed_signature",
            Self::BadSignature => "bad_signature",
            Self::MissingAuthDate => "missing_auth_date",
            Self::Expired => "expired",
            Self::TooLong => "too_long",
        }
    }
}

/// How a tenant checks signatures.
#[derive(Clone)]
pub enum Verifier {
    /// First-party check with the bot token; holds the derived secret key, not the token.
    Hmac { secret_key: [u8; 32] },
    /// Third-party check with the bot id and Telegram's (or any configured) public key.
    Ed25519 { bot_id: u64, key: VerifyingKey },
}

impl fmt::Debug for Verifier {
    /// Never prints key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hmac { .. } => f.write_str("Verifier::Hmac"),
            Self::Ed25519 { bot_id, .. } => write!(f, "Verifier::Ed25519 {{ bot_id: {bot_id} }}"),
        }
    }
}

impl Verifier {
    /// The HMAC verifier for a bot token.
    pub fn hmac(bot_token: &str) -> Self {
        Self::Hmac {
            secret_key: secret_key(bot_token),
        }
    }

    /// The HMAC verifier for a bot token given by an operator: refuses text that is not shaped
    /// like `<bot id>:<secret>`.
    pub fn for_bot_token(bot_token: &str) -> Result<Self, String> {
        let token = bot_token.trim();
        if token.is_empty() || !token.contains(':') {
            return Err("does not look like a bot token (expected <bot id>:<secret>)".into());
        }
        Ok(Self::hmac(token))
    }

    /// The Ed25519 verifier for a bot id and a public key: `prod` (or `production`) and `test`
    /// name Telegram's keys; anything else is the 32-byte key in hex.
    pub fn ed25519(bot_id: u64, public_key: &str) -> Result<Self, String> {
        let public_key_hex = match public_key {
            "prod" | "production" => TELEGRAM_PRODUCTION_KEY,
            "test" => TELEGRAM_TEST_KEY,
            hex => hex,
        };
        let bytes: [u8; 32] = hex::decode(public_key_hex.trim())
            .map_err(|e| format!("public key is not hex: {e}"))?
            .try_into()
            .map_err(|_| "public key must be 32 bytes (64 hex digits)".to_string())?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "public key is not a valid Ed25519 point".to_string())?;
        Ok(Self::Ed25519 { bot_id, key })
    }
}

/// `HMAC_SHA256(key = "WebAppData", message = bot_token)`.
fn secret_key(bot_token: &str) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(b"WebAppData").expect("HMAC takes any key size");
    mac.update(bot_token.as_bytes());
    mac.finalize().into_bytes().into()
}

/// A validated initData: the user and the context a handler may need.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ValidInitData {
    /// The `user` field, when present.
    pub user: Option<TelegramUser>,
    /// Everything else a handler may need (auth date, query id, chat, ...).
    pub context: InitDataContext,
}

/// initData split into its decoded `(key, value)` pairs, in the order received.
#[derive(Debug)]
struct Pairs(Vec<(String, String)>);

impl Pairs {
    fn parse(raw: &str) -> Result<Self, InitDataError> {
        if raw.is_empty() {
            return Err(InitDataError::Missing);
        }
        if raw.len() > MAX_INIT_DATA_BYTES {
            return Err(InitDataError::TooLong);
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for piece in raw.split('&') {
            let (key, value) = piece.split_once('=').ok_or(InitDataError::Malformed)?;
            let key = form_decode(key)?;
            let value = form_decode(value)?;
            if key.is_empty() || !seen.insert(key.clone()) {
                return Err(InitDataError::Malformed);
            }
            pairs.push((key, value));
        }
        Ok(Self(pairs))
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sorted `key=value` lines joined by `\n`, leaving out the named keys.
    fn check_string(&self, prefix: &str, skip: &[&str]) -> String {
        let mut lines: Vec<String> = self
            .0
            .iter()
            .filter(|(k, _)| !skip.contains(&k.as_str()))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        lines.sort_unstable();
        let mut out = String::from(prefix);
        out.push_str(&lines.join("\n"));
        out
    }
}

/// Decodes one `application/x-www-form-urlencoded` component strictly: `+` is a space, `%XX`
/// must be two hex digits, and the result must be UTF-8.
pub(crate) fn form_decode(s: &str) -> Result<String, InitDataError> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(InitDataError::Malformed)?;
                // Two hex digits: `from_str_radix` alone also takes `+2` (`make fuzz` found
                // `%+2` decoded as byte 2).
                let digit = |b: u8| (b as char).to_digit(16).ok_or(InitDataError::Malformed);
                out.push((digit(hex[0])? * 16 + digit(hex[1])?) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| InitDataError::Malformed)
}

/// Validates `raw` initData (the query string, still URL-encoded) at unix time `now`.
///
/// `max_age`: `None` disables the expiry check; `Some(n)` refuses initData whose `auth_date` is
/// more than `n` seconds before `now` (so `Some(0)` accepts only initData signed this second or
/// later) and refuses initData without `auth_date`.
pub fn validate(
    raw: &str,
    verifier: &Verifier,
    max_age: Option<u64>,
    now: u64,
) -> Result<ValidInitData, InitDataError> {
    let pairs = Pairs::parse(raw)?;
    let auth_date = match pairs.get("auth_date") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| InitDataError::Malformed)?),
        None => None,
    };
    verify_signature(&pairs, verifier)?;
    if let Some(max_age) = max_age {
        let auth_date = auth_date.ok_or(InitDataError::MissingAuthDate)?;
        if now.saturating_sub(auth_date) > max_age {
            return Err(InitDataError::Expired);
        }
    }
    extract(&pairs, auth_date)
}

fn verify_signature(pairs: &Pairs, verifier: &Verifier) -> Result<(), InitDataError> {
    match verifier {
        Verifier::Hmac { secret_key } => {
            let hash = pairs.get("hash").ok_or(InitDataError::MissingSignature)?;
            // Telegram sends lower-case hex, and every reference validator compares the string
            // as sent: anything else is not a hash Telegram made.
            if hash.len() != 64 || !hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
                return Err(InitDataError::MalformedSignature);
            }
            let expected = hex::decode(hash).map_err(|_| InitDataError::MalformedSignature)?;
            let mut mac = HmacSha256::new_from_slice(secret_key).expect("HMAC takes any key size");
            mac.update(pairs.check_string("", &["hash"]).as_bytes());
            // `verify_slice` compares in constant time.
            mac.verify_slice(&expected)
                .map_err(|_| InitDataError::BadSignature)
        }
        Verifier::Ed25519 { bot_id, key } => {
            let signature = pairs
                .get("signature")
                .ok_or(InitDataError::MissingSignature)?;
            // Padded or not, nothing in between (`make fuzz` found that stripping every
            // trailing `=` accepted any number of them).
            let bytes = URL_SAFE
                .decode(signature)
                .or_else(|_| URL_SAFE_NO_PAD.decode(signature))
                .map_err(|_| InitDataError::MalformedSignature)?;
            let signature =
                Signature::from_slice(&bytes).map_err(|_| InitDataError::MalformedSignature)?;
            let message =
                pairs.check_string(&format!("{bot_id}:WebAppData\n"), &["hash", "signature"]);
            key.verify_strict(message.as_bytes(), &signature)
                .map_err(|_| InitDataError::BadSignature)
        }
    }
}

fn extract(pairs: &Pairs, auth_date: Option<u64>) -> Result<ValidInitData, InitDataError> {
    fn json<T: serde::de::DeserializeOwned>(v: Option<&str>) -> Result<Option<T>, InitDataError> {
        v.map(|s| serde_json::from_str(s).map_err(|_| InitDataError::Malformed))
            .transpose()
    }
    let text = |k: &str| pairs.get(k).map(str::to_owned);
    let can_send_after = match pairs.get("can_send_after") {
        Some(v) => Some(v.parse::<u64>().map_err(|_| InitDataError::Malformed)?),
        None => None,
    };
    Ok(ValidInitData {
        user: json(pairs.get("user"))?,
        context: InitDataContext {
            auth_date,
            query_id: text("query_id"),
            chat_type: text("chat_type"),
            chat_instance: text("chat_instance"),
            start_param: text("start_param"),
            can_send_after,
            chat: json::<Chat>(pairs.get("chat"))?,
            receiver: json(pairs.get("receiver"))?,
        },
    })
}

/// Signs initData as Telegram would, with the bot token (HMAC `hash`). `fields` are the
/// decoded `(key, value)` pairs; the result is a URL-encoded query string ending in `hash`.
/// For local testing (`extws-wasm sign-init-data`) and for tests.
pub fn sign_hmac(fields: &[(String, String)], bot_token: &str) -> String {
    let pairs = Pairs(fields.to_vec());
    let mut mac = HmacSha256::new_from_slice(&secret_key(bot_token)).expect("any key size");
    mac.update(pairs.check_string("", &["hash"]).as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    encode_query(
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("hash", hash.as_str())]),
    )
}

/// Signs initData for third-party validation with an Ed25519 signing key (which only Telegram
/// holds for real initData; tests and operators use their own). Adds `signature`.
pub fn sign_ed25519(
    fields: &[(String, String)],
    bot_id: u64,
    key: &ed25519_dalek::SigningKey,
) -> String {
    use ed25519_dalek::Signer as _;
    let pairs = Pairs(fields.to_vec());
    let message = pairs.check_string(&format!("{bot_id}:WebAppData\n"), &["hash", "signature"]);
    let signature = URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()).to_bytes());
    encode_query(
        fields
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain([("signature", signature.as_str())]),
    )
}

/// Form-encodes pairs (`%XX` for everything but unreserved characters).
fn encode_query<'a>(pairs: impl Iterator<Item = (&'a str, &'a str)>) -> String {
    fn enc(s: &str, out: &mut String) {
        for b in s.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    let mut out = String::new();
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        enc(k, &mut out);
        out.push('=');
        enc(v, &mut out);
    }
    out
}

#[cfg(test)]
#[path = "telegram_tests.rs"]
mod tests;
