//! Admission: how much of the server one tenant, one connection and one user may take —
//! concurrent calls and their queue, open connections, and a connection's message rate.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::metrics::{self, Metrics};
use crate::runtime::Limits;

/// A tenant's concurrency limit with a bounded queue in front of it.
pub struct CallSlots {
    running: Semaphore,
    waiting: AtomicUsize,
    max_queue: usize,
}

impl CallSlots {
    /// `max_concurrency` calls at once, `max_queue` waiting.
    pub fn new(max_concurrency: usize, max_queue: usize) -> Self {
        Self {
            running: Semaphore::new(max_concurrency),
            waiting: AtomicUsize::new(0),
            max_queue,
        }
    }

    /// Waits for a slot; `None` when the queue is full (the client gets `overloaded`).
    pub async fn admit(&self) -> Option<SemaphorePermit<'_>> {
        if let Ok(permit) = self.running.try_acquire() {
            return Some(permit);
        }
        if self.waiting.fetch_add(1, Ordering::AcqRel) >= self.max_queue {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let _waiting = Decrement(&self.waiting);
        self.running.acquire().await.ok()
    }
}

/// Decrements a counter when dropped (also when the waiting future is cancelled).
struct Decrement<'a>(&'a AtomicUsize);

impl Drop for Decrement<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Who a connection counts against beyond its tenant: its Telegram user, or its IP address
/// while its first-message auth is pending. Anonymous connections (no-auth tenants) count
/// only against the tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    /// An authenticated Telegram user.
    User(i64),
    /// A connection whose first-message auth is pending.
    Ip(IpAddr),
}

/// Which connection limit refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The tenant is at `max_connections`.
    Tenant,
    /// The user is at `max_connections_per_user`.
    User,
    /// The address is at `max_connections_per_ip`.
    Ip,
}

/// A tenant's open connections, counted against `max_connections` and, per holder, against
/// `max_connections_per_user` / `max_connections_per_ip`.
pub struct ConnectionCount {
    tenant: Arc<str>,
    open: AtomicUsize,
    max: usize,
    max_per_user: usize,
    max_per_ip: usize,
    by_holder: Mutex<HashMap<Holder, usize>>,
    metrics: Arc<Metrics>,
}

impl ConnectionCount {
    /// No connections yet.
    pub fn new(tenant: Arc<str>, limits: &Limits, metrics: Arc<Metrics>) -> Self {
        Self {
            tenant,
            open: AtomicUsize::new(0),
            max: limits.max_connections,
            max_per_user: limits.max_connections_per_user,
            max_per_ip: limits.max_connections_per_ip,
            by_holder: Mutex::new(HashMap::new()),
            metrics,
        }
    }

    /// Counts a new connection (of `holder`, if any); refused when the tenant or the holder
    /// is at its limit.
    pub fn open(self: &Arc<Self>, holder: Option<Holder>) -> Result<ConnectionSlot, Refused> {
        let label = metrics::tenant(&self.tenant);
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        let mut slot = ConnectionSlot {
            count: self.clone(),
            holders: Vec::new(),
        };
        self.metrics.connections_open.get_or_create(&label).inc();
        if open >= self.max {
            return Err(Refused::Tenant);
        }
        if let Some(holder) = holder {
            slot.hold(holder)?;
        }
        self.metrics.connections_total.get_or_create(&label).inc();
        Ok(slot)
    }

    /// Connections open right now.
    pub fn current(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }

    fn release(&self, holder: Holder) {
        let mut by_holder = self.by_holder.lock().expect("holder lock");
        if let Some(n) = by_holder.get_mut(&holder) {
            *n -= 1;
            if *n == 0 {
                by_holder.remove(&holder);
            }
        }
    }
}

/// One open connection of a tenant; releases its counts when dropped.
pub struct ConnectionSlot {
    count: Arc<ConnectionCount>,
    holders: Vec<Holder>,
}

impl ConnectionSlot {
    /// A connection whose first-message auth succeeded: it counts against `user` from now
    /// on, no longer against its address; refused when the user is at the limit.
    pub fn authenticated(&mut self, user: i64) -> Result<(), Refused> {
        self.hold(Holder::User(user))?;
        let count = &self.count;
        self.holders.retain(|h| match h {
            Holder::Ip(_) => {
                count.release(*h);
                false
            }
            Holder::User(_) => true,
        });
        Ok(())
    }

    /// Counts the connection against `holder` too; refused when the holder is at its limit.
    fn hold(&mut self, holder: Holder) -> Result<(), Refused> {
        let count = &self.count;
        let (max, refused) = match holder {
            Holder::User(_) => (count.max_per_user, Refused::User),
            Holder::Ip(_) => (count.max_per_ip, Refused::Ip),
        };
        let mut by_holder = count.by_holder.lock().expect("holder lock");
        let n = by_holder.entry(holder).or_insert(0);
        if *n >= max {
            if *n == 0 {
                by_holder.remove(&holder);
            }
            return Err(refused);
        }
        *n += 1;
        self.holders.push(holder);
        Ok(())
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let count = &self.count;
        for holder in self.holders.drain(..) {
            count.release(holder);
        }
        count.open.fetch_sub(1, Ordering::AcqRel);
        let label = metrics::tenant(&count.tenant);
        count.metrics.connections_open.get_or_create(&label).dec();
    }
}

/// A token bucket: `burst` messages at once, refilled at `rate` per second.
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(rate: f64, burst: u32) -> Self {
        Self {
            rate,
            burst: f64::from(burst),
            tokens: f64::from(burst),
            last: Instant::now(),
        }
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn token_bucket_allows_bursts_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3);
        assert!((0..3).all(|_| bucket.take(start)));
        assert!(!bucket.take(start));
        assert!(bucket.take(start + Duration::from_millis(500)));
        assert!(!bucket.take(start + Duration::from_millis(600)));
        assert!((0..3).all(|_| bucket.take(start + Duration::from_secs(60))));
        assert!(!bucket.take(start + Duration::from_secs(60)));
    }

    #[tokio::test]
    async fn a_full_queue_is_refused_at_once() {
        let slots = CallSlots::new(1, 0);
        let first = slots.admit().await.expect("a free slot");
        assert!(slots.admit().await.is_none(), "no queue: refused");
        drop(first);
        assert!(slots.admit().await.is_some(), "the slot is free again");
    }

    #[test]
    fn connections_are_counted_per_tenant_user_and_address() {
        let limits = Limits {
            max_connections: 4,
            max_connections_per_user: 2,
            max_connections_per_ip: 1,
            ..Limits::default()
        };
        let count = Arc::new(ConnectionCount::new("t".into(), &limits, Arc::default()));
        let ip = Holder::Ip("127.0.0.1".parse().unwrap());
        let a = count.open(Some(Holder::User(1))).expect("under the limits");
        let b = count.open(Some(Holder::User(1))).expect("under the limits");
        assert_eq!(count.open(Some(Holder::User(1))).err(), Some(Refused::User));
        let c = count.open(Some(ip)).expect("another holder");
        assert_eq!(count.open(Some(ip)).err(), Some(Refused::Ip));
        let mut d = count.open(Some(Holder::User(2))).expect("another user");
        assert_eq!(
            count.open(Some(Holder::User(3))).err(),
            Some(Refused::Tenant)
        );
        assert_eq!(d.hold(Holder::User(1)).err(), Some(Refused::User));
        drop(d);
        // First-message auth moves a pending connection from its address to its user.
        assert_eq!(count.open(Some(ip)).err(), Some(Refused::Ip));
        let mut c = c;
        c.authenticated(2).expect("user 2 has room");
        drop(
            count
                .open(Some(ip))
                .expect("the address slot was given back"),
        );
        let d = count
            .open(None)
            .expect("anonymous: only the tenant's limit");
        assert_eq!(count.current(), 4);
        drop((a, b, c, d));
        assert_eq!(count.current(), 0);
        assert!(
            count.by_holder.lock().unwrap().is_empty(),
            "no entry is left behind"
        );
        let _again = count.open(Some(Holder::User(1))).expect("released");
    }
}
