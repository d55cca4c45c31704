//! The server's connections to Redis, made and bounded in one place: kv, the push history, the
//! push publisher (and anything else that talks to Redis) go through a [`Link`].
//!
//! * **Reconnecting at once.** The connection speaks RESP3 (Redis 6 or newer), so it is told
//!   the moment Redis drops it and reconnects by itself, without end, at most
//!   [`RECONNECT_MAX_DELAY`] apart — instead of learning of the drop from the next request,
//!   which would fail ("broken pipe") even though Redis is back.
//! * **Bounded, and prompt while Redis is away.** An operation gets [`OP_TIMEOUT`] while
//!   Redis answers. Once the connection dropped, or an operation failed for want of Redis,
//!   operations wait only
//!   [`DOWN_WAIT`] (long enough for a reconnection to a Redis that is back, short enough that
//!   a handler learns `unavailable` well within its deadline); the first success restores the
//!   full timeout.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{IntoConnectionInfo as _, ProtocolVersion, PushInfo, PushKind, RedisError};

/// Longest any one operation may take while Redis answers, connecting included.
pub const OP_TIMEOUT: Duration = Duration::from_secs(1);
/// Longest an operation waits while Redis is known to be away.
pub const DOWN_WAIT: Duration = Duration::from_millis(250);
/// The longest pause between two attempts to reconnect to a Redis that went away.
pub const RECONNECT_MAX_DELAY: Duration = Duration::from_millis(100);
/// Longest the first connection at startup may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// One self-reconnecting connection to Redis, shared by clones, and whether Redis answered
/// the last operation.
#[derive(Clone)]
pub struct Link {
    conn: ConnectionManager,
    up: Arc<AtomicBool>,
}

impl Link {
    /// Connects to `url` and checks Redis answers; an error if it does not within a few
    /// seconds.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let info = url
            .into_connection_info()
            .with_context(|| format!("bad Redis URL {url}"))?;
        let resp3 = info
            .redis_settings()
            .clone()
            .set_protocol(ProtocolVersion::RESP3);
        let client = redis::Client::open(info.set_redis_settings(resp3))
            .with_context(|| format!("bad Redis URL {url}"))?;
        let up = Arc::new(AtomicBool::new(true));
        let told = up.clone();
        let on_push = move |push: PushInfo| {
            if push.kind == PushKind::Disconnection {
                told.store(false, Ordering::Relaxed);
            }
            Ok::<(), std::convert::Infallible>(())
        };
        let config = ConnectionManagerConfig::new()
            .set_push_sender(on_push)
            .set_connection_timeout(Some(OP_TIMEOUT))
            .set_response_timeout(Some(OP_TIMEOUT))
            .set_number_of_retries(usize::MAX)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(RECONNECT_MAX_DELAY);
        let connect = async {
            let mut conn = ConnectionManager::new_with_config(client, config).await?;
            redis::cmd("PING").query_async::<()>(&mut conn).await?;
            Ok::<_, RedisError>(conn)
        };
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                anyhow::anyhow!("Redis at {url} did not answer within {CONNECT_TIMEOUT:?}")
            })?
            .with_context(|| format!("connecting to Redis at {url}"))?;
        Ok(Self { conn, up })
    }

    /// A handle on the connection for one operation (pass its future to [`Link::bounded`]).
    pub fn connection(&self) -> ConnectionManager {
        self.conn.clone()
    }

    /// Runs `op` within the timeout that fits Redis's state; `Err` says why it failed.
    pub async fn bounded<T>(
        &self,
        op: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, String> {
        let up = self.up.load(Ordering::Relaxed);
        let limit = if up { OP_TIMEOUT } else { DOWN_WAIT };
        match tokio::time::timeout(limit, op).await {
            Ok(Ok(value)) => {
                self.up.store(true, Ordering::Relaxed);
                Ok(value)
            }
            Ok(Err(e)) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    self.up.store(false, Ordering::Relaxed);
                }
                Err(format!("redis: {e}"))
            }
            Err(_) => {
                self.up.store(false, Ordering::Relaxed);
                Err(format!("redis did not answer within {limit:?}"))
            }
        }
    }
}
