//! The `push` capability: server push to a user's connections or a topic's subscribers. The
//! bus carries pushes between servers (in-process, or Redis pub/sub for several nodes) to each
//! server's [`hub`] (its connections by tenant, user and topic). Sequenced user pushes (push
//! history on) are stored and published by [`history`]; they travel on their own channel, with
//! their `Seq`, and a reconnecting client gets what it missed through [`resume`]. [`host`] is
//! the WIT side.

pub mod history;
pub mod host;
pub mod hub;
pub mod resume;

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;

use crate::capabilities::ledger::Ledger;

pub use history::{HistoryPolicy, HistoryRead, HistoryStore};
pub use hub::{ConnectionId, Hub, Mailbox, Pushed, QUEUE_BOUND};

/// A tenant's push grant: the shared bus and history, and its history policy.
#[derive(Clone)]
pub struct PushGrant {
    /// The push bus.
    pub bus: Bus,
    /// The push history store.
    pub history: HistoryStore,
    /// This tenant's push history policy (size 0: user pushes are best-effort).
    pub history_policy: HistoryPolicy,
    /// This tenant's limits on frames and topics.
    pub ledger: Ledger,
}

impl std::fmt::Debug for PushGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushGrant")
            .field("history_policy", &self.history_policy)
            .finish_non_exhaustive()
    }
}

/// Where a push goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Target {
    /// Every connection of a Telegram user.
    User(i64),
    /// Every connection subscribed to a topic.
    Topic(String),
}

/// Why a push failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    /// The bus is down.
    #[error("push unavailable: {0}")]
    Unavailable(String),
    /// A bad argument.
    #[error("invalid push: {0}")]
    Invalid(String),
}

/// Checks a topic name: 1 to 256 bytes.
pub fn check_topic(topic: &str) -> Result<(), PushError> {
    if topic.is_empty() || topic.len() > 256 {
        return Err(PushError::Invalid("topic must be 1 to 256 bytes".into()));
    }
    Ok(())
}

/// The envelope `{"Type": msg_type, "Data": data}` of a push; `data` must be JSON and
/// `msg_type` not empty.
pub fn envelope(msg_type: &str, data: &str) -> Result<String, PushError> {
    if serde_json::from_str::<&serde_json::value::RawValue>(data).is_err() {
        return Err(PushError::Invalid("data is not JSON".into()));
    }
    if msg_type.is_empty() {
        return Err(PushError::Invalid("empty msg-type".into()));
    }
    Ok(crate::envelope::reply(msg_type, data, None))
}

/// Carries pushes to every server's hub.
#[derive(Clone)]
pub enum Bus {
    /// One server: straight into the local hub.
    Local(Arc<Hub>),
    /// Several servers: Redis pub/sub; every server (this one included) delivers what it
    /// receives to its own hub.
    Redis {
        /// This server's hub.
        hub: Arc<Hub>,
        /// Connection for PUBLISH.
        publisher: crate::state::redis_link::Link,
    },
}

/// Redis channel prefix.
const CHANNEL_PREFIX: &str = "extws:push:";

impl Bus {
    /// The local hub.
    pub fn hub(&self) -> &Arc<Hub> {
        match self {
            Self::Local(hub) | Self::Redis { hub, .. } => hub,
        }
    }

    /// A bus over Redis at `url`, with a subscriber task that feeds this server's hub (and
    /// resubscribes after Redis comes back).
    pub async fn redis(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let publisher = crate::state::redis_link::Link::connect(url).await?;
        let hub = Arc::new(Hub::default());
        tokio::spawn(subscribe_forever(client, hub.clone()));
        Ok(Self::Redis { hub, publisher })
    }

    /// Publishes `envelope` (checked against the tenant's ledger by the caller) for `tenant`'s
    /// `target`.
    pub async fn publish(
        &self,
        tenant: &str,
        target: &Target,
        envelope: String,
    ) -> Result<(), PushError> {
        match self {
            Self::Local(hub) => {
                hub.deliver(tenant, target, None, &envelope);
                Ok(())
            }
            Self::Redis { publisher, .. } => {
                let channel = channel(tenant, target);
                let mut conn = publisher.connection();
                let mut command = redis::cmd("PUBLISH");
                command.arg(channel).arg(envelope);
                let publish = command.query_async::<i64>(&mut conn);
                publisher
                    .bounded(publish)
                    .await
                    .map_err(PushError::Unavailable)?;
                Ok(())
            }
        }
    }
}

/// `extws:push:{tenant}:u:{id}` or `extws:push:{tenant}:t:{topic}` (tenant names hold no `:`).
fn channel(tenant: &str, target: &Target) -> String {
    match target {
        Target::User(id) => format!("{CHANNEL_PREFIX}{tenant}:u:{id}"),
        Target::Topic(topic) => format!("{CHANNEL_PREFIX}{tenant}:t:{topic}"),
    }
}

/// `extws:push:{tenant}:s:{id}`: sequenced pushes to a user, published by the history's
/// append script with the payload `SEQ:ENVELOPE`.
pub fn sequenced_channel(tenant: &str, user: i64) -> String {
    format!("{CHANNEL_PREFIX}{tenant}:s:{user}")
}

/// A channel's tenant, target and whether its payloads carry a `SEQ:` prefix.
fn parse_channel(channel: &str) -> Option<(&str, Target, bool)> {
    let rest = channel.strip_prefix(CHANNEL_PREFIX)?;
    let (tenant, rest) = rest.split_once(':')?;
    match rest.split_once(':')? {
        ("u", id) => Some((tenant, Target::User(id.parse().ok()?), false)),
        ("s", id) => Some((tenant, Target::User(id.parse().ok()?), true)),
        ("t", topic) => Some((tenant, Target::Topic(topic.to_string()), false)),
        _ => None,
    }
}

/// Delivers one pub/sub message to `hub`; malformed ones are dropped.
fn deliver_message(hub: &Hub, channel: &str, payload: &str) {
    let Some((tenant, target, sequenced)) = parse_channel(channel) else {
        return;
    };
    if !sequenced {
        hub.deliver(tenant, &target, None, payload);
        return;
    }
    let Some((seq, envelope)) = payload.split_once(':') else {
        return;
    };
    if let Ok(seq) = seq.parse() {
        hub.deliver(tenant, &target, Some(seq), envelope);
    }
}

/// Feeds `hub` from Redis pub/sub for as long as the server runs. Messages published while it
/// is not subscribed never reach this server: after every (re)subscription the hub is told,
/// so connected users catch up from the history ([`Hub::may_have_lost`]).
async fn subscribe_forever(client: redis::Client, hub: Arc<Hub>) {
    let mut backoff = Duration::from_millis(100);
    loop {
        match client.get_async_pubsub().await {
            Ok(mut pubsub) => {
                if pubsub
                    .psubscribe(format!("{CHANNEL_PREFIX}*"))
                    .await
                    .is_ok()
                {
                    backoff = Duration::from_millis(100);
                    hub.may_have_lost();
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        deliver_message(&hub, message.get_channel_name(), &payload);
                    }
                }
                tracing::warn!("redis pub/sub connection lost; reconnecting");
            }
            Err(e) => tracing::warn!(error = %e, "redis pub/sub unavailable; retrying"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(2));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_round_trip() {
        for target in [Target::User(-42), Target::Topic("game:1/x".into())] {
            let c = channel("acme", &target);
            assert_eq!(parse_channel(&c), Some(("acme", target, false)));
        }
        assert_eq!(
            parse_channel(&sequenced_channel("acme", 7)),
            Some(("acme", Target::User(7), true))
        );
        assert_eq!(parse_channel("other:x"), None);
    }

    #[tokio::test]
    async fn sequenced_payloads_carry_their_seq() {
        let hub = Arc::new(Hub::default());
        let mut a = hub.register("acme".into(), Some(7));
        deliver_message(&hub, &sequenced_channel("acme", 7), r#"42:{"Seq":42}"#);
        deliver_message(&hub, &sequenced_channel("acme", 7), "garbage");
        deliver_message(&hub, &channel("acme", &Target::User(7)), "plain");
        let first = a.messages.recv().await.unwrap();
        assert_eq!(
            (first.seq, first.text.as_str()),
            (Some(42), r#"{"Seq":42}"#)
        );
        assert_eq!(a.messages.recv().await.unwrap().seq, None);
    }
}
