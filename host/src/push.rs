//! Server push: the connections of this server by tenant, user and topic (the hub), and the
//! bus that carries pushes between servers (in-process, or Redis pub/sub for several nodes).
//! A connection's queue is bounded: a client that does not read is cut off, not buffered.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Notify, mpsc};

/// Messages a connection may have waiting before it counts as a slow consumer.
pub const QUEUE_BOUND: usize = 256;

/// Identifies a connection on this server.
pub type ConnectionId = u64;

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

/// A connection's receiving end: pushed envelopes, and a signal when it fell behind.
pub struct Mailbox {
    /// The connection's id.
    pub id: ConnectionId,
    /// Pushed envelopes.
    pub messages: mpsc::Receiver<String>,
    /// Notified when the queue overflowed: the connection must close.
    pub overflowed: Arc<Notify>,
    hub: Arc<Hub>,
}

impl Drop for Mailbox {
    fn drop(&mut self) {
        self.hub.unregister(self.id);
    }
}

struct Entry {
    tenant: Arc<str>,
    user: Option<i64>,
    topics: HashSet<String>,
    sender: mpsc::Sender<String>,
    overflowed: Arc<Notify>,
}

/// The connections of this server that can receive pushes.
#[derive(Default)]
pub struct Hub {
    next: AtomicU64,
    entries: Mutex<HashMap<ConnectionId, Entry>>,
}

impl Hub {
    /// Registers a connection of `tenant` (and `user`, when authenticated).
    pub fn register(self: &Arc<Self>, tenant: Arc<str>, user: Option<i64>) -> Mailbox {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, messages) = mpsc::channel(QUEUE_BOUND);
        let overflowed = Arc::new(Notify::new());
        let entry = Entry {
            tenant,
            user,
            topics: HashSet::new(),
            sender,
            overflowed: overflowed.clone(),
        };
        self.entries.lock().expect("hub lock").insert(id, entry);
        Mailbox {
            id,
            messages,
            overflowed,
            hub: self.clone(),
        }
    }

    fn unregister(&self, id: ConnectionId) {
        self.entries.lock().expect("hub lock").remove(&id);
    }

    /// Subscribes connection `id` to `topic`.
    pub fn subscribe(&self, id: ConnectionId, topic: &str, on: bool) {
        if let Some(entry) = self.entries.lock().expect("hub lock").get_mut(&id) {
            if on {
                entry.topics.insert(topic.to_string());
            } else {
                entry.topics.remove(topic);
            }
        }
    }

    /// Delivers `envelope` to this server's connections of `tenant` matching `target`.
    pub fn deliver(&self, tenant: &str, target: &Target, envelope: &str) {
        let entries = self.entries.lock().expect("hub lock");
        for entry in entries.values().filter(|e| &*e.tenant == tenant) {
            let matches = match target {
                Target::User(id) => entry.user == Some(*id),
                Target::Topic(topic) => entry.topics.contains(topic),
            };
            if matches && entry.sender.try_send(envelope.to_string()).is_err() {
                // Full (or closing): cut the slow consumer off instead of growing memory.
                entry.overflowed.notify_one();
            }
        }
    }
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
        publisher: redis::aio::ConnectionManager,
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
        let publisher = tokio::time::timeout(
            Duration::from_secs(5),
            redis::aio::ConnectionManager::new(client.clone()),
        )
        .await
        .map_err(|_| anyhow::anyhow!("connecting to {url}: timed out"))??;
        let hub = Arc::new(Hub::default());
        tokio::spawn(subscribe_forever(client, hub.clone()));
        Ok(Self::Redis { hub, publisher })
    }

    /// Pushes a `{"Type": msg_type, "Data": data}` envelope to `tenant`'s `target`; `data`
    /// must be JSON and `msg_type` not empty.
    pub async fn push(
        &self,
        tenant: &str,
        target: &Target,
        msg_type: &str,
        data: &str,
    ) -> Result<(), PushError> {
        if serde_json::from_str::<&serde_json::value::RawValue>(data).is_err() {
            return Err(PushError::Invalid("data is not JSON".into()));
        }
        if msg_type.is_empty() {
            return Err(PushError::Invalid("empty msg-type".into()));
        }
        let envelope = crate::envelope::reply(msg_type, data, None);
        self.publish(tenant, target, envelope).await
    }

    /// Publishes `envelope` for `tenant`'s `target`.
    pub async fn publish(
        &self,
        tenant: &str,
        target: &Target,
        envelope: String,
    ) -> Result<(), PushError> {
        match self {
            Self::Local(hub) => {
                hub.deliver(tenant, target, &envelope);
                Ok(())
            }
            Self::Redis { publisher, .. } => {
                let channel = channel(tenant, target);
                let mut publisher = publisher.clone();
                let mut command = redis::cmd("PUBLISH");
                command.arg(channel).arg(envelope);
                let publish = command.query_async::<i64>(&mut publisher);
                match tokio::time::timeout(Duration::from_secs(1), publish).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err(PushError::Unavailable(e.to_string())),
                    Err(_) => Err(PushError::Unavailable(
                        "redis did not answer in time".into(),
                    )),
                }
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

fn parse_channel(channel: &str) -> Option<(&str, Target)> {
    let rest = channel.strip_prefix(CHANNEL_PREFIX)?;
    let (tenant, rest) = rest.split_once(':')?;
    match rest.split_once(':')? {
        ("u", id) => Some((tenant, Target::User(id.parse().ok()?))),
        ("t", topic) => Some((tenant, Target::Topic(topic.to_string()))),
        _ => None,
    }
}

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
                    let mut messages = pubsub.on_message();
                    while let Some(message) = messages.next().await {
                        let Ok(payload) = message.get_payload::<String>() else {
                            continue;
                        };
                        if let Some((tenant, target)) = parse_channel(message.get_channel_name()) {
                            hub.deliver(tenant, &target, &payload);
                        }
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
            assert_eq!(parse_channel(&c), Some(("acme", target)));
        }
        assert_eq!(parse_channel("other:x"), None);
    }

    #[tokio::test]
    async fn delivery_respects_tenant_user_and_topic_and_cuts_off_slow_consumers() {
        let hub = Arc::new(Hub::default());
        let mut a = hub.register("a".into(), Some(1));
        let mut b = hub.register("b".into(), Some(1));
        hub.subscribe(a.id, "news", true);
        hub.deliver("a", &Target::User(1), "to-user");
        hub.deliver("a", &Target::Topic("news".into()), "to-topic");
        assert_eq!(a.messages.recv().await.unwrap(), "to-user");
        assert_eq!(a.messages.recv().await.unwrap(), "to-topic");
        assert!(
            b.messages.try_recv().is_err(),
            "tenant b saw tenant a's push"
        );
        for _ in 0..=QUEUE_BOUND {
            hub.deliver("a", &Target::User(1), "x");
        }
        tokio::time::timeout(Duration::from_secs(1), a.overflowed.notified())
            .await
            .expect("overflow signalled");
        drop(a);
        assert!(hub.entries.lock().unwrap().len() == 1);
    }
}
