//! The Bot API as the tenant's bot (`telegram` import), with typed parameters and results. The
//! token stays in the host; only the methods the tenant allows get through.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::bindings::extws::handler::telegram;
pub use crate::bindings::extws::handler::telegram::{ApiError, TelegramError};

/// Calls `method` with `params` and decodes its `result`, e.g.
/// `telegram::call::<Message>("sendMessage", &json!({"chat_id": id, "text": "hi"}))`.
/// Match on [`TelegramError`] to tell a rate limit or a 403 from the rest, or convert it into
/// [`crate::Error`] with `?`.
pub fn call<T: DeserializeOwned>(
    method: &str,
    params: &impl Serialize,
) -> Result<T, TelegramError> {
    let params = serde_json::to_string(params)
        .map_err(|e| TelegramError::Invalid(format!("params do not encode: {e}")))?;
    let result = telegram::call(method, &params)?;
    serde_json::from_str(&result)
        .map_err(|e| TelegramError::Invalid(format!("unexpected {method} result: {e}")))
}
