//! [`Error`]: what a handler fails with. Every host error converts into it with `?`.

use crate::bindings::HandlerError;
use crate::bindings::extws::handler::{kv::KvError, push::PushError, telegram::TelegramError};

/// A handler's failure: the client gets a `HandlerException` with this message (code
/// `handler_error`); [`Error::close`] also closes the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
    close: Option<u16>,
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// An error with this message; the connection stays open.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            close: None,
        }
    }

    /// An error that closes the connection with `code` (1000–1003, 1007–1014, 3000–4999;
    /// the host sends 1008 for others) after the client got `reason`.
    pub fn close(code: u16, reason: impl Into<String>) -> Self {
        Self {
            message: reason.into(),
            close: Some(code),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        HandlerError {
            message: e.message,
            close_connection: e.close.is_some(),
            close_code: e.close,
        }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Self {
        Self::new(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Self {
        Self::new(message)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Self::new(format!("JSON: {e}"))
    }
}

impl From<KvError> for Error {
    fn from(e: KvError) -> Self {
        Self::new(match e {
            KvError::QuotaExceeded(m) => format!("storage quota exceeded: {m}"),
            KvError::Unavailable(m) => format!("storage unavailable: {m}"),
            KvError::Invalid(m) => format!("storage: {m}"),
        })
    }
}

impl From<PushError> for Error {
    fn from(e: PushError) -> Self {
        Self::new(match e {
            PushError::Unavailable(m) => format!("push unavailable: {m}"),
            PushError::Invalid(m) => format!("push: {m}"),
        })
    }
}

impl From<TelegramError> for Error {
    fn from(e: TelegramError) -> Self {
        Self::new(match e {
            TelegramError::Denied(m) => format!("Bot API call denied: {m}"),
            TelegramError::Api(a) => format!("Telegram refused: {}", a.description),
            TelegramError::RateLimited(s) => format!("too many requests: try again in {s} s"),
            // `not sent: ...` or `outcome unknown: ...` (the message may have been delivered).
            TelegramError::Unavailable(m) => format!("Telegram unavailable: {m}"),
            TelegramError::Invalid(m) => format!("Bot API call invalid: {m}"),
        })
    }
}
