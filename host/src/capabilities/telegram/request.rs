//! One Bot API request on the wire, on the Bot API's own I/O thread: connect, check the
//! message still has its flood slot, send, read the answer, all by a give-up time. The thread
//! is the host's, not the guests': however busy the runtime's workers are with components, a
//! request leaves when its slot comes, which is what the flood limits count on.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use http_body_util::BodyExt as _;

use super::flood::{self, RoundTrip};
use super::{TelegramError, not_sent, outcome_unknown};
use crate::capabilities::http::allow::Target;
use crate::capabilities::http::client;

/// Largest Bot API answer read (Telegram's own answers are far smaller).
const MAX_ANSWER_BYTES: usize = 4 << 20;

/// A request to make.
pub(super) struct Exchange {
    /// Where the Bot API is.
    pub target: Target,
    /// The request (its URI carries the token).
    pub request: http::Request<http_body_util::Full<bytes::Bytes>>,
    /// When to stop waiting for a connection or an answer.
    pub give_up: Instant,
    /// `give_up` in words, for the error.
    pub within: String,
    /// A message's flood slot (none: the request sends no message).
    pub slot: Option<Instant>,
    /// Learns how long the request took.
    pub round_trip: Arc<RoundTrip>,
}

/// The Bot API's I/O runtime: one thread of its own, started at the first request.
fn io() -> &'static tokio::runtime::Runtime {
    static IO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    IO.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("bot-api-io")
            .enable_all()
            .build()
            .expect("the Bot API's I/O thread starts")
    })
}

/// Makes `exchange` on the Bot API's own thread: nothing has been sent when no connection
/// was made by then; the outcome is unknown when the answer did not come. A message whose
/// flood slot is more than [`flood::LATE`] past (beyond the time connecting took) when the
/// request could go is `rate-limited` instead: nothing is sent.
pub(super) async fn send(
    exchange: Exchange,
) -> Result<(http::StatusCode, bytes::Bytes), TelegramError> {
    match io().spawn(on_the_wire(exchange)).await {
        Ok(answer) => answer,
        Err(e) => Err(outcome_unknown(format!("the request's task ended: {e}"))),
    }
}

async fn on_the_wire(x: Exchange) -> Result<(http::StatusCode, bytes::Bytes), TelegramError> {
    let started = Instant::now();
    let connection = match tokio::time::timeout_at(x.give_up.into(), client::open(&x.target)).await
    {
        Ok(Ok(connection)) => connection,
        Ok(Err(e)) => return Err(not_sent(e)),
        Err(_) => {
            let why = format!("the Bot API could not be reached within {}", x.within);
            return Err(not_sent(why));
        }
    };
    if let Some(slot) = x.slot {
        let late = Instant::now().saturating_duration_since(slot);
        if late.saturating_sub(started.elapsed()) > flood::LATE {
            tracing::warn!(?late, "a Bot API message missed its flood slot: not sent");
            return Err(TelegramError::RateLimited(1));
        }
    }
    let exchange = async {
        let response = client::send_on(connection, x.request, Duration::from_secs(60))
            .await
            .map_err(outcome_unknown)?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), MAX_ANSWER_BYTES)
            .collect()
            .await
            .map_err(|e| outcome_unknown(format!("reading the answer failed: {e}")))?
            .to_bytes();
        Ok((status, body))
    };
    let answer = tokio::time::timeout_at(x.give_up.into(), exchange).await;
    // A request given up on took at least this long.
    x.round_trip.observe(started.elapsed());
    answer.unwrap_or_else(|_| {
        let why = format!("the Bot API did not answer within {}", x.within);
        Err(outcome_unknown(why))
    })
}
