//! One ledger per tenant: everything a guest can make the host store or send is counted
//! against a documented per-tenant limit, and refused with a WIT error (never a trap, never a
//! frame over the limit). This file is where the limits are listed; each is counted where
//! its bytes live:
//!
//! | What a guest makes the host keep or send | Limit (config key, default)                    | Counted in, refused as |
//! |------------------------------------------|------------------------------------------------|------------------------|
//! | a frame to a client: reply, error, push  | `limits.max_message_bytes`, 1 MiB, the whole frame (envelope, `Id`, `Seq`) | [`Ledger::reply`] (a `limit` error instead), [`Ledger::push`] (`push-error::invalid`) |
//! | topics one connection is subscribed to   | `limits.max_topics_per_connection`, [`DEFAULT_MAX_TOPICS`] | [`Ledger::subscribe`] (`push-error::invalid`) |
//! | a topic name                             | 256 bytes                                      | `push::check_topic` (`push-error::invalid`) |
//! | push history: entries per user, age      | `push.history_size` 100, `push.history_ttl` 300 s | `push::history` (oldest dropped) |
//! | push history: bytes over all users       | `push.history_max_bytes`, [`DEFAULT_HISTORY_MAX_BYTES`] | `push::history` (`push-error::invalid`, "quota exceeded") |
//! | key-value state                          | `state.max_keys` 100,000, `state.max_bytes` 64 MiB; keys ≤ 512 B, values ≤ 1 MiB | `state` (`kv-error::quota-exceeded`, `invalid`) |
//! | a log record or stdout/stderr line       | [`super::log::MAX_LOG_LINE`] bytes              | `log`, `runtime::host::wasi` (cut) |
//! | log volume (records and stdout/stderr)   | [`super::log::LOG_BYTES_PER_SECOND`] 64 KiB/s, burst [`super::log::LOG_BURST_BYTES`] 256 KiB | [`super::log::LogBudget`] (dropped, counted in a host warning: `log` returns nothing) |
//! | a reply's `Type` + `Data` in the sandbox | `limits.max_message_bytes`                     | `runtime` (`limit`, before the envelope) |
//!
//! A frame the client sends is held to the same `max_message_bytes` (closed with 1009).

use serde_json::value::RawValue;

use crate::envelope::{self, ErrorCode};

/// Default `max_topics_per_connection`: a Mini App's screens and chats, not a firehose.
pub const DEFAULT_MAX_TOPICS: usize = 64;

/// Default `history_max_bytes` of a tenant's push history (all its users together): as much
/// as its default key-value quota.
pub const DEFAULT_HISTORY_MAX_BYTES: u64 = 64 << 20;

/// The most a `Seq` adds to a stored push's envelope: `,"Seq":` and 20 digits.
pub const SEQ_BYTES: usize = 7 + 20;

/// Why the ledger refused: the message a guest (or client) gets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct OverLimit(pub String);

/// A tenant's limits on what its guests make the host send, resolved once from its
/// configuration (the history and key-value quotas are counted by their stores: see the
/// table above).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ledger {
    /// Largest frame sent to or accepted from a client, envelope included
    /// (`max_message_bytes`).
    pub max_frame_bytes: usize,
    /// Topics one connection may be subscribed to at once (`max_topics_per_connection`).
    pub max_topics_per_connection: usize,
}

impl Default for Ledger {
    fn default() -> Self {
        Self {
            max_frame_bytes: 1 << 20,
            max_topics_per_connection: DEFAULT_MAX_TOPICS,
        }
    }
}

impl Ledger {
    /// A push whose frame is `envelope` (plus its `Seq` when `sequenced`): refused when the
    /// frame would be over the limit, before it is stored or copied to any connection.
    pub fn push(&self, envelope: &str, sequenced: bool) -> Result<(), OverLimit> {
        let frame = envelope.len() + if sequenced { SEQ_BYTES } else { 0 };
        if frame > self.max_frame_bytes {
            return Err(OverLimit(format!(
                "a push of {frame} bytes is over the tenant's frame limit of {} bytes \
                 (max_message_bytes, envelope included)",
                self.max_frame_bytes
            )));
        }
        Ok(())
    }

    /// Subscribing a connection that has `subscribed` topics to one more.
    pub fn subscribe(&self, subscribed: usize) -> Result<(), OverLimit> {
        if subscribed >= self.max_topics_per_connection {
            return Err(OverLimit(format!(
                "this connection is subscribed to {subscribed} topics, the tenant's limit \
                 (max_topics_per_connection)"
            )));
        }
        Ok(())
    }

    /// The reply frame `{"Type","Data","Id"}`, or a `limit` error in its place when the
    /// whole frame would be over the limit.
    pub fn reply(&self, msg_type: &str, data: &str, id: Option<&RawValue>) -> String {
        let frame = envelope::reply(msg_type, data, id);
        if frame.len() <= self.max_frame_bytes {
            return frame;
        }
        let message = format!(
            "the reply is {} bytes, over the frame limit of {} (max_message_bytes, envelope \
             included)",
            frame.len(),
            self.max_frame_bytes
        );
        self.error(ErrorCode::Limit, &message, id)
    }

    /// The error frame, within the limit: a long message is cut, and the `Id` is left out
    /// only when even an empty message would not fit with it.
    pub fn error(&self, code: ErrorCode, message: &str, id: Option<&RawValue>) -> String {
        let frame = envelope::error(code, message, id);
        if frame.len() <= self.max_frame_bytes {
            return frame;
        }
        let id = id.filter(|id| envelope::error(code, "", Some(id)).len() <= self.max_frame_bytes);
        // JSON escaping can grow a character to 6 bytes: cut until it fits.
        let mut keep = self
            .max_frame_bytes
            .saturating_sub(envelope::error(code, "", id).len());
        loop {
            let frame = envelope::error(code, super::truncate(message, keep), id);
            if frame.len() <= self.max_frame_bytes || keep == 0 {
                return frame;
            }
            keep = keep.saturating_sub((frame.len() - self.max_frame_bytes).max(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: Ledger = Ledger {
        max_frame_bytes: 100,
        max_topics_per_connection: 2,
    };

    #[test]
    fn a_reply_over_the_limit_becomes_a_limit_error_within_it() {
        let id = RawValue::from_string("7".into()).unwrap();
        let fits = SMALL.reply("R", "1", Some(&id));
        assert_eq!(fits, r#"{"Type":"R","Data":1,"Id":7}"#);
        // The Type and Data alone fit; the envelope does not.
        let over = SMALL.reply(&"T".repeat(90), "null", Some(&id));
        assert!(over.len() <= 100, "{over}");
        assert!(
            over.contains(r#""code":"limit""#) && over.ends_with(r#","Id":7}"#),
            "{over}"
        );
        let quotes = SMALL.error(ErrorCode::HandlerError, &"\u{1}".repeat(500), Some(&id));
        assert!(quotes.len() <= 100, "{quotes}");
        let huge_id = RawValue::from_string(format!("\"{}\"", "i".repeat(200))).unwrap();
        let no_id = SMALL.reply(&"T".repeat(90), "null", Some(&huge_id));
        assert!(no_id.len() <= 100 && !no_id.contains("Id"), "{no_id}");
    }

    #[test]
    fn pushes_and_topics_are_counted() {
        assert!(SMALL.push(&"x".repeat(100), false).is_ok());
        assert!(SMALL.push(&"x".repeat(101), false).is_err());
        assert!(SMALL.push(&"x".repeat(100 - SEQ_BYTES), true).is_ok());
        assert!(SMALL.push(&"x".repeat(101 - SEQ_BYTES), true).is_err());
        assert!(SMALL.subscribe(1).is_ok());
        assert!(SMALL.subscribe(2).is_err());
    }
}
