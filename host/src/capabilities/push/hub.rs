//! This server's connections that can receive pushes, by tenant, user and topic. A
//! connection's queue is bounded: a client that does not read is cut off, not buffered.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, mpsc, watch};

use super::Target;

/// Messages a connection may have waiting before it counts as a slow consumer.
pub const QUEUE_BOUND: usize = 256;

/// Identifies a connection on this server.
pub type ConnectionId = u64;

/// One pushed envelope on its way to a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The user push's `Seq` (it is also in the envelope); `None` for topic publishes and for
    /// user pushes of a tenant without history.
    pub seq: Option<u64>,
    /// The envelope text.
    pub text: String,
}

/// A connection's receiving end: pushed envelopes, and a signal when it fell behind.
pub struct Mailbox {
    /// The connection's id.
    pub id: ConnectionId,
    /// Pushed envelopes.
    pub messages: mpsc::Receiver<Pushed>,
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
    sender: mpsc::Sender<Pushed>,
    overflowed: Arc<Notify>,
}

/// The connections of this server that can receive pushes.
pub struct Hub {
    next: AtomicU64,
    entries: Mutex<HashMap<ConnectionId, Entry>>,
    /// Bumped when pushes may have been lost on their way to this server (its pub/sub
    /// subscription was down): connections then catch up from the history.
    losses: watch::Sender<u64>,
}

impl Default for Hub {
    fn default() -> Self {
        Self {
            next: AtomicU64::new(0),
            entries: Mutex::default(),
            losses: watch::Sender::new(0),
        }
    }
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

    /// Subscribes connection `id` to `topic` (`on`) or unsubscribes it. A topic it does not
    /// have yet is added only if `admit` allows one more after the number it has.
    pub fn subscribe<E>(
        &self,
        id: ConnectionId,
        topic: &str,
        on: bool,
        admit: impl FnOnce(usize) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(entry) = self.entries.lock().expect("hub lock").get_mut(&id) {
            if !on {
                entry.topics.remove(topic);
            } else if !entry.topics.contains(topic) {
                admit(entry.topics.len())?;
                entry.topics.insert(topic.to_string());
            }
        }
        Ok(())
    }

    /// Delivers `envelope` (with its `seq`, for a sequenced user push) to this server's
    /// connections of `tenant` matching `target`.
    pub fn deliver(&self, tenant: &str, target: &Target, seq: Option<u64>, envelope: &str) {
        let entries = self.entries.lock().expect("hub lock");
        for entry in entries.values().filter(|e| &*e.tenant == tenant) {
            let matches = match target {
                Target::User(id) => entry.user == Some(*id),
                Target::Topic(topic) => entry.topics.contains(topic),
            };
            let pushed = || Pushed {
                seq,
                text: envelope.to_string(),
            };
            if matches && entry.sender.try_send(pushed()).is_err() {
                // Full (or closing): cut the slow consumer off instead of growing memory.
                entry.overflowed.notify_one();
            }
        }
    }

    /// Says that pushes may have been lost on their way to this server (after its pub/sub
    /// subscription came back): every [`Hub::losses`] receiver wakes up.
    pub fn may_have_lost(&self) {
        self.losses.send_modify(|n| *n += 1);
    }

    /// Wakes up after each [`Hub::may_have_lost`] from now on.
    pub fn losses(&self) -> watch::Receiver<u64> {
        self.losses.subscribe()
    }

    /// Connections registered right now.
    pub fn len(&self) -> usize {
        self.entries.lock().expect("hub lock").len()
    }

    /// Whether no connection is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn delivery_respects_tenant_user_and_topic_and_cuts_off_slow_consumers() {
        let hub = Arc::new(Hub::default());
        let mut a = hub.register("a".into(), Some(1));
        let mut b = hub.register("b".into(), Some(1));
        hub.subscribe(a.id, "news", true, |_| Ok::<_, ()>(()))
            .unwrap();
        assert_eq!(hub.subscribe(a.id, "more", true, Err), Err(1));
        assert_eq!(hub.subscribe(a.id, "news", true, Err), Ok(()));
        hub.deliver("a", &Target::User(1), Some(7), "to-user");
        hub.deliver("a", &Target::Topic("news".into()), None, "to-topic");
        let first = a.messages.recv().await.unwrap();
        assert_eq!((first.seq, first.text.as_str()), (Some(7), "to-user"));
        assert_eq!(a.messages.recv().await.unwrap().text, "to-topic");
        assert!(
            b.messages.try_recv().is_err(),
            "tenant b saw tenant a's push"
        );
        for _ in 0..=QUEUE_BOUND {
            hub.deliver("a", &Target::User(1), None, "x");
        }
        tokio::time::timeout(Duration::from_secs(1), a.overflowed.notified())
            .await
            .expect("overflow signalled");
        drop(a);
        assert_eq!(hub.len(), 1);
    }
}
