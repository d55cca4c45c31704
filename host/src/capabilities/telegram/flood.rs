//! Telegram's flood limits for one bot, enforced before a request leaves: about 30 messages a
//! second overall, one a second per chat, 20 a minute per group, and a 429's `retry_after` for
//! the whole bot. A call is given the earliest slot it may use; when that slot is beyond what
//! the call can wait, it gets the seconds to wait instead. Nothing is queued: waiting happens
//! in the calling guest's own deadline.
//!
//! Telegram counts messages when they arrive, and requests take varying time on the way (a
//! connection, a TLS handshake, a busy machine), so the limits here keep a margin: at most
//! [`BURST`] messages (two fewer than Telegram's 30) in any [`WINDOW`] (a second and a fifth).
//! A message that leaves up to 0.2 s late, or two that leave later still, cannot make 31 in a
//! second at Telegram. [`Flood`] keeps the limits in this process; [`super::shared`] keeps the
//! same limits in Redis for every node of the bot.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Added to every spacing: requests take varying time on the way, and two sent exactly a
/// second apart may arrive a little closer than that.
const MARGIN: Duration = Duration::from_millis(50);
/// Messages of one bot in any [`WINDOW`]: Telegram allows about 30 a second; two are kept in
/// reserve for messages that arrive later than their slot.
pub const BURST: usize = 28;
/// The window [`BURST`] is counted in: Telegram's second and a margin for lateness.
pub const WINDOW: Duration = Duration::from_millis(1200);
/// Longest a message may leave after its slot (not counting the time connecting takes, which
/// the margin covers) before it is refused instead: a busy host must not send a whole window's
/// messages late, into the next window.
pub const LATE: Duration = Duration::from_millis(100);
/// Between two messages to one private chat.
pub const PER_CHAT: Duration = Duration::from_secs(1).saturating_add(MARGIN);
/// Between two messages to one group or channel (20 a minute).
pub const PER_GROUP: Duration = Duration::from_secs(3).saturating_add(MARGIN);
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

    /// The shortest time between two messages to this chat.
    pub fn spacing(&self) -> Duration {
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
    /// Send times of this bot's messages from a [`WINDOW`] ago on (some in the future).
    sent: Vec<Instant>,
    blocked_until: Option<Instant>,
    chats: HashMap<Chat, Instant>,
}

/// The earliest time from `from` on at which one more message keeps every [`WINDOW`] around it
/// at [`BURST`] or fewer, given the times of the others: `from` itself, or the moment one of
/// the earlier messages leaves the window (the count only drops there). Redis runs the same
/// search in Lua ([`super::shared`]).
fn earliest_slot(sent: &[Instant], from: Instant) -> Instant {
    let near = |t: &Instant, at: Instant| t.max(&at).duration_since(*t.min(&at)) < WINDOW;
    let room = |at: Instant| sent.iter().filter(|t| near(t, at)).count() < BURST;
    if room(from) {
        return from;
    }
    let mut leaving: Vec<Instant> = sent.iter().map(|t| *t + WINDOW).collect();
    leaving.sort();
    leaving
        .into_iter()
        .filter(|c| *c > from)
        .find(|c| room(*c))
        .expect("past the last message there is room")
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
        self.reserve_at(Instant::now(), message, chat, can_wait)
    }

    fn reserve_at(
        &self,
        now: Instant,
        message: bool,
        chat: Option<&Chat>,
        can_wait: Duration,
    ) -> Result<Duration, u32> {
        let mut s = self.state.lock().expect("flood state lock");
        let mut at = now.max(s.blocked_until.unwrap_or(now));
        if message {
            if let Some(chat) = chat {
                at = at.max(s.chats.get(chat).copied().unwrap_or(now));
            }
            let window_ago = now.checked_sub(WINDOW).unwrap_or(now);
            s.sent.retain(|t| *t > window_ago);
            at = earliest_slot(&s.sent, at);
        }
        if at - now > can_wait {
            return Err(seconds_until(at - now));
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

/// The whole seconds a call refused for `wait` is told to wait (at least 1).
pub fn seconds_until(wait: Duration) -> u32 {
    wait.as_secs_f64().ceil().clamp(1.0, f64::from(u32::MAX)) as u32
}

/// Until the Bot API has answered once, how long a call is expected to take.
const FIRST_ROUND_TRIP: Duration = Duration::from_millis(500);

/// How long a Bot API request takes, learnt from the answers: the slowest recent one (a
/// slower answer counts at once, faster ones lower it by an eighth of the difference each).
/// A call only waits for a slot when twice this still fits before its deadline.
#[derive(Debug, Default)]
pub struct RoundTrip {
    slowest: Mutex<Option<Duration>>,
}

impl RoundTrip {
    /// What a request is expected to need, with a margin: twice the slowest recent round trip.
    pub fn expected(&self) -> Duration {
        let slowest = *self.slowest.lock().expect("round trip lock");
        slowest.unwrap_or(FIRST_ROUND_TRIP).saturating_mul(2)
    }

    /// A request took `took` (or at least that long, when it was given up on).
    pub fn observe(&self, took: Duration) {
        let mut slowest = self.slowest.lock().expect("round trip lock");
        *slowest = Some(match *slowest {
            Some(s) if s > took => s - (s - took) / 8,
            _ => took,
        });
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
    fn a_burst_then_the_window_overall() {
        let flood = Flood::default();
        let started = Instant::now();
        for id in 1..=BURST as i64 {
            let chat = Chat::Private(id);
            assert_eq!(
                flood.reserve(true, Some(&chat), Duration::ZERO),
                Ok(Duration::ZERO)
            );
        }
        let next = Chat::Private(100);
        assert_eq!(flood.reserve(true, Some(&next), Duration::ZERO), Err(2));
        let wait = flood
            .reserve(true, Some(&next), Duration::from_secs(2))
            .unwrap();
        // The first message leaves the window a WINDOW after it was sent.
        assert!(wait + started.elapsed() >= WINDOW, "{wait:?}");
        assert!(wait <= WINDOW, "{wait:?}");
        // Calls that send no message are not counted.
        assert_eq!(
            flood.reserve(false, None, Duration::ZERO),
            Ok(Duration::ZERO)
        );
    }

    #[test]
    fn no_window_ever_holds_more_than_the_burst() {
        let flood = Flood::default();
        let start = Instant::now();
        let mut slots = Vec::new();
        for id in 0..200 {
            // Calls arriving every 7 ms, each waiting up to 5 s.
            let now = start + Duration::from_millis(7 * id as u64);
            let chat = Chat::Private(id);
            if let Ok(wait) = flood.reserve_at(now, true, Some(&chat), Duration::from_secs(5)) {
                slots.push(now + wait);
            }
        }
        slots.sort();
        assert!(slots.len() >= 4 * BURST, "{} slots in 5 s", slots.len());
        for (i, t) in slots.iter().enumerate() {
            let within = slots[i..].iter().filter(|u| **u - *t < WINDOW).count();
            assert!(within <= BURST, "{within} messages within {WINDOW:?}");
        }
    }

    #[test]
    fn the_slowest_recent_round_trip_is_expected_twice() {
        let rtt = RoundTrip::default();
        assert_eq!(rtt.expected(), FIRST_ROUND_TRIP * 2);
        rtt.observe(Duration::from_millis(150));
        assert_eq!(rtt.expected(), Duration::from_millis(300));
        rtt.observe(Duration::from_millis(950));
        assert_eq!(rtt.expected(), Duration::from_millis(1900));
        rtt.observe(Duration::from_millis(150));
        assert_eq!(rtt.expected(), Duration::from_millis(1700));
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
