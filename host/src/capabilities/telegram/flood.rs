//! Telegram's flood limits for one bot, enforced before a request leaves: about 30 messages a
//! second overall, one a second per chat, 20 a minute per group, and a 429's `retry_after` for
//! the whole bot. A call is given the earliest slot it may use; when that slot is beyond what
//! the call can wait, it gets the seconds to wait instead. Nothing is queued: waiting happens
//! in the calling guest's own deadline.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Added to every spacing: requests take varying time on the way, and two sent exactly a
/// second apart may arrive a little closer than that.
const MARGIN: Duration = Duration::from_millis(50);
/// Messages of one bot in any second.
const PER_SECOND: usize = 30;
/// How far a message is moved when a second is full.
const STEP: Duration = Duration::from_micros(33_334);
/// Between two messages to one private chat.
const PER_CHAT: Duration = Duration::from_secs(1).saturating_add(MARGIN);
/// Between two messages to one group or channel (20 a minute).
const PER_GROUP: Duration = Duration::from_secs(3).saturating_add(MARGIN);
/// Chats remembered before the ones whose slot has passed are forgotten.
const MAX_CHATS: usize = 10_000;

/// The chat a call addresses, from its `chat_id` parameter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Chat {
    /// A user (positive id).
    Private(i64),
    /// A group, supergroup or channel (negative id, or `@username`).
    Group(String),
}

impl Chat {
    /// The chat of a `chat_id` value, when it is one.
    pub fn from_param(v: &serde_json::Value) -> Option<Self> {
        match v {
            serde_json::Value::Number(n) => match n.as_i64()? {
                id if id > 0 => Some(Chat::Private(id)),
                id => Some(Chat::Group(id.to_string())),
            },
            serde_json::Value::String(s) => match s.parse::<i64>() {
                Ok(id) => Self::from_param(&id.into()),
                Err(_) => Some(Chat::Group(s.to_ascii_lowercase())),
            },
            _ => None,
        }
    }

    fn spacing(&self) -> Duration {
        match self {
            Chat::Private(_) => PER_CHAT,
            Chat::Group(_) => PER_GROUP,
        }
    }
}

/// Whether a Bot API method sends a message (and so counts against the message limits).
pub fn sends_a_message(method: &str) -> bool {
    method.starts_with("send")
        || matches!(
            method,
            "copyMessage" | "copyMessages" | "forwardMessage" | "forwardMessages"
        )
}

#[derive(Debug, Default)]
struct State {
    /// Send times of this bot's messages from a second ago on (some in the future).
    sent: Vec<Instant>,
    blocked_until: Option<Instant>,
    chats: HashMap<Chat, Instant>,
}

impl State {
    /// Whether a message at `at` keeps every second around it at [`PER_SECOND`] or fewer:
    /// true when fewer than that are within a second either side.
    fn second_has_room(&self, at: Instant) -> bool {
        let near = |t: &&Instant| {
            let (early, late) = if **t < at { (**t, at) } else { (at, **t) };
            late - early < Duration::from_secs(1)
        };
        self.sent.iter().filter(near).count() < PER_SECOND
    }
}

/// One bot's limits. Shared by every call of the tenant.
#[derive(Debug, Default)]
pub struct Flood {
    state: Mutex<State>,
}

impl Flood {
    /// Reserves a slot for one call: how long to wait before sending, or — when that is
    /// longer than `can_wait` — the whole seconds to wait before trying again (at least 1).
    pub fn reserve(
        &self,
        message: bool,
        chat: Option<&Chat>,
        can_wait: Duration,
    ) -> Result<Duration, u32> {
        let now = Instant::now();
        let mut s = self.state.lock().expect("flood state lock");
        let too_late = |at: Instant| Err((at - now).as_secs_f64().ceil().max(1.0) as u32);
        let mut at = now.max(s.blocked_until.unwrap_or(now));
        if message {
            if let Some(chat) = chat {
                at = at.max(s.chats.get(chat).copied().unwrap_or(now));
            }
            let second_ago = now.checked_sub(Duration::from_secs(1)).unwrap_or(now);
            s.sent.retain(|t| *t > second_ago);
            while !s.second_has_room(at) {
                if at - now > can_wait {
                    return too_late(at);
                }
                at += STEP;
            }
        }
        if at - now > can_wait {
            return too_late(at);
        }
        if message {
            s.sent.push(at);
            if let Some(chat) = chat {
                if s.chats.len() >= MAX_CHATS {
                    s.chats.retain(|_, next| *next > now);
                }
                s.chats.insert(chat.clone(), at + chat.spacing());
            }
        }
        Ok(at - now)
    }

    /// Telegram answered 429 with `retry_after`: nothing goes out for that long.
    pub fn block_for(&self, seconds: u32) {
        let until = Instant::now() + Duration::from_secs(u64::from(seconds));
        let mut s = self.state.lock().expect("flood state lock");
        s.blocked_until = Some(s.blocked_until.map_or(until, |b| b.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_message_a_second_per_chat_and_chats_are_independent() {
        let flood = Flood::default();
        let alice = Chat::Private(1);
        let bob = Chat::Private(2);
        assert_eq!(
            flood.reserve(true, Some(&alice), Duration::ZERO),
            Ok(Duration::ZERO)
        );
        // 1 s and the margin: whole seconds, rounded up.
        assert_eq!(flood.reserve(true, Some(&alice), Duration::ZERO), Err(2));
        let wait = flood
            .reserve(true, Some(&alice), Duration::from_secs(2))
            .unwrap();
        assert!(wait > Duration::from_millis(900), "{wait:?}");
        // Bob only waits for the overall spacing.
        let wait = flood
            .reserve(true, Some(&bob), Duration::from_secs(1))
            .unwrap();
        assert!(wait < Duration::from_millis(100), "{wait:?}");
        // A group is spaced by 3 s.
        let group = Chat::from_param(&serde_json::json!(-100)).unwrap();
        flood
            .reserve(true, Some(&group), Duration::from_secs(1))
            .unwrap();
        assert_eq!(flood.reserve(true, Some(&group), Duration::ZERO), Err(4));
    }

    #[test]
    fn thirty_messages_a_second_overall() {
        let flood = Flood::default();
        for id in 1..=30 {
            let chat = Chat::Private(id);
            assert_eq!(
                flood.reserve(true, Some(&chat), Duration::ZERO),
                Ok(Duration::ZERO)
            );
        }
        assert_eq!(
            flood.reserve(true, Some(&Chat::Private(31)), Duration::ZERO),
            Err(1)
        );
        let wait = flood
            .reserve(true, Some(&Chat::Private(31)), Duration::from_secs(2))
            .unwrap();
        assert!(wait >= Duration::from_secs(1), "{wait:?}");
        // Calls that send no message are not counted.
        assert_eq!(
            flood.reserve(false, None, Duration::ZERO),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn retry_after_blocks_every_call() {
        let flood = Flood::default();
        flood.block_for(5);
        assert_eq!(flood.reserve(false, None, Duration::from_secs(1)), Err(5));
        assert!(flood.reserve(false, None, Duration::from_secs(6)).is_ok());
    }

    #[test]
    fn chat_ids() {
        assert_eq!(
            Chat::from_param(&serde_json::json!("42")),
            Some(Chat::Private(42))
        );
        assert_eq!(
            Chat::from_param(&serde_json::json!("@News")),
            Some(Chat::Group("@news".into()))
        );
        assert_eq!(Chat::from_param(&serde_json::json!(null)), None);
        assert!(sends_a_message("sendPhoto") && !sends_a_message("answerWebAppQuery"));
    }
}
