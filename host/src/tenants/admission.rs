//! Admission: how much of the server one tenant, one connection and one user may take —
//! concurrent calls and their queue, open connections, and a connection's message rate.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use tokio::sync::{Semaphore, SemaphorePermit};

use crate::metrics::{self, Metrics};

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

/// A tenant's open connections, counted against `max_connections`.
pub struct ConnectionCount {
    tenant: Arc<str>,
    open: AtomicUsize,
    max: usize,
    metrics: Arc<Metrics>,
}

impl ConnectionCount {
    /// No connections yet.
    pub fn new(tenant: Arc<str>, max: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            tenant,
            open: AtomicUsize::new(0),
            max,
            metrics,
        }
    }

    /// Counts a new connection; `None` when the tenant is at its limit.
    pub fn open(self: &Arc<Self>) -> Option<ConnectionSlot> {
        let label = metrics::tenant(&self.tenant);
        let open = self.open.fetch_add(1, Ordering::AcqRel);
        let slot = ConnectionSlot(self.clone());
        self.metrics.connections_open.get_or_create(&label).inc();
        let admitted = open < self.max;
        if admitted {
            self.metrics.connections_total.get_or_create(&label).inc();
        }
        admitted.then_some(slot)
    }

    /// Connections open right now.
    pub fn current(&self) -> usize {
        self.open.load(Ordering::Acquire)
    }
}

/// One open connection of a tenant; releases its count when dropped.
pub struct ConnectionSlot(Arc<ConnectionCount>);

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        let count = &self.0;
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
    fn connections_are_counted_and_released() {
        let count = Arc::new(ConnectionCount::new("t".into(), 1, Arc::default()));
        let slot = count.open().expect("under the limit");
        assert!(count.open().is_none(), "over the limit");
        assert_eq!(count.current(), 1);
        drop(slot);
        assert_eq!(count.current(), 0);
    }
}
