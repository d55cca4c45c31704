//! `notify`: a handler that acts through the Telegram Bot API.
//!
//! `RemindMeRequest {"text": "..."}` sends the calling user a Telegram message from the bot
//! (`sendMessage` to the user's private chat) and answers `RemindMeResponse {"message_id": N}`.
//! The bot token never enters this component: the host makes the call as the tenant's bot and
//! only the methods the tenant allows get through (`--telegram-method sendMessage`).

use serde::{Deserialize, Serialize};

wit_bindgen::generate!({ world: "handler", path: "../../wit" });
use extws::handler::telegram::{self, TelegramError};

#[derive(Deserialize)]
struct RemindMeRequest {
    text: String,
}

#[derive(Serialize)]
struct RemindMeResponse {
    message_id: i64,
}

fn fail(message: String) -> HandlerError {
    HandlerError {
        message,
        close_connection: false,
        close_code: None,
    }
}

/// A message the user can act on, for each way the call can fail.
fn explain(e: TelegramError) -> HandlerError {
    fail(match e {
        TelegramError::RateLimited(s) => format!("too many reminders: try again in {s} s"),
        TelegramError::Api(a) if a.code == 403 => {
            "the bot cannot write to you: open the bot's chat and press Start".into()
        }
        TelegramError::Api(a) => format!("Telegram refused: {}", a.description),
        // Sent, but not confirmed: asking again could remind the user twice.
        TelegramError::Unavailable(m) if m.starts_with("outcome unknown") => {
            "the reminder may have been sent: check the bot's chat before asking again".into()
        }
        TelegramError::Unavailable(m) => format!("Telegram is unreachable right now: {m}"),
        TelegramError::Denied(m) | TelegramError::Invalid(m) => m,
    })
}

fn remind_me(data: &str, user: Option<User>) -> Result<RemindMeResponse, HandlerError> {
    let request: RemindMeRequest =
        serde_json::from_str(data).map_err(|e| fail(format!("invalid RemindMeRequest: {e}")))?;
    let user = user.ok_or_else(|| fail("RemindMeRequest needs an authenticated user".into()))?;
    if request.text.trim().is_empty() {
        return Err(fail("invalid RemindMeRequest: `text` is empty".into()));
    }
    let params = serde_json::json!({ "chat_id": user.id, "text": request.text });
    let message = telegram::call("sendMessage", &params.to_string()).map_err(explain)?;
    let message: serde_json::Value =
        serde_json::from_str(&message).map_err(|e| fail(format!("odd Bot API answer: {e}")))?;
    Ok(RemindMeResponse {
        message_id: message["message_id"].as_i64().unwrap_or_default(),
    })
}

struct Notify;

impl Guest for Notify {
    fn message_types() -> Vec<String> {
        vec!["RemindMeRequest".into()]
    }

    fn handle(t: String, data: String, user: Option<User>) -> Result<Response, HandlerError> {
        match t.as_str() {
            "RemindMeRequest" => Ok(Response {
                msg_type: "RemindMeResponse".into(),
                data: serde_json::to_string(&remind_me(&data, user)?).expect("serializable"),
            }),
            other => Err(fail(format!("unknown type {other}"))),
        }
    }
}

export!(Notify);
