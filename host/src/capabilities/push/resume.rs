//! Session resume: the last `Seq` a reconnecting client saw, read from its request (query
//! parameter `resume=SEQ`, header `Extws-Resume: SEQ`) or its `Auth` message
//! (`"Data": {"initData": ..., "resume": SEQ}`), checked, and turned into what to send before
//! live pushes: a `ResumeGap` when the history no longer reaches back that far, then every kept
//! push after `SEQ`, in order. The session then drops live pushes up to the newest `Seq` the
//! read saw ([`Plan::floor`]): it registered for live pushes *before* reading, so nothing falls
//! between the replay and the live ones, and nothing comes twice.
//!
//! Topic publishes are left out on purpose: a connection's topics are chosen by a handler
//! (`push.subscribe`) during a call, after the handshake, so a resume for them would need the
//! guest to pass the last `Seq` it saw through `subscribe` (a WIT change) and the host to replay
//! in the middle of that call, with a history per topic. A user's pushes have a subscriber the
//! host knows at the handshake — the authenticated user — so their resume needs neither.

use tokio_tungstenite::tungstenite::http;

use crate::capabilities::push::history::{HistoryRead, fresh_start};
use crate::envelope::{self, ErrorCode};

/// The query parameter carrying the last `Seq` seen.
pub const RESUME_PARAM: &str = "resume";
/// The header carrying the last `Seq` seen (for clients that can set headers).
pub const RESUME_HEADER: &str = "extws-resume";
/// The `Type` of the message that says pushes were lost before the replay.
pub const GAP_TYPE: &str = "ResumeGap";
/// Close code after an `invalid_resume` error (a malformed or impossible `Seq`).
pub const CLOSE_BAD_RESUME: u16 = 4400;

/// Why a resume request is refused: the client gets a `HandlerException` with code
/// `invalid_resume`, then the connection closes with [`CLOSE_BAD_RESUME`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResumeError {
    /// Not a non-negative decimal integer that fits 64 bits.
    #[error("resume must be the last Seq received, a non-negative integer; got {0}")]
    Malformed(String),
    /// Greater than any `Seq` this user has been given.
    #[error("resume Seq {requested} is ahead of the latest Seq of this user ({latest})")]
    Ahead {
        /// What the client sent.
        requested: u64,
        /// The user's latest `Seq` (or the first a fresh history would get).
        latest: u64,
    },
}

impl ResumeError {
    /// The error envelope sent before closing.
    pub fn envelope(&self) -> String {
        envelope::error(ErrorCode::InvalidResume, &self.to_string(), None)
    }
}

/// What the client asked for: no resume, a `Seq`, or something unusable.
pub type Requested = Result<Option<u64>, ResumeError>;

/// Parses a decimal `Seq`: digits only, at most 20, within `u64`.
pub fn parse(text: &str) -> Result<u64, ResumeError> {
    let shown = || {
        let mut s: String = text.chars().take(24).collect();
        if s.len() < text.len() {
            s.push('…');
        }
        format!("{s:?}")
    };
    if text.is_empty() || text.len() > 20 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ResumeError::Malformed(shown()));
    }
    text.parse().map_err(|_| ResumeError::Malformed(shown()))
}

/// The resume `Seq` of an upgrade request: the `Extws-Resume` header, else the `resume` query
/// parameter; both present must agree.
pub fn from_request(request: &http::Request<()>) -> Requested {
    let header = match request.headers().get(RESUME_HEADER) {
        Some(v) => {
            let text = v
                .to_str()
                .map_err(|_| ResumeError::Malformed("header".into()))?;
            Some(parse(text.trim())?)
        }
        None => None,
    };
    let query = request.uri().query().unwrap_or("");
    let param = query
        .split('&')
        .find_map(|piece| piece.strip_prefix("resume="))
        .map(parse)
        .transpose()?;
    match (header, param) {
        (Some(h), Some(p)) if h != p => Err(ResumeError::Malformed(format!(
            "header {h} and query {p} disagree"
        ))),
        (h, p) => Ok(h.or(p)),
    }
}

/// The resume `Seq` of an `Auth` message's `Data.resume`: a JSON integer or a decimal string;
/// `None` when absent or `null`.
pub fn from_auth(value: Option<&serde_json::Value>) -> Requested {
    match value {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(serde_json::Value::String(s)) => parse(s).map(Some),
        Some(serde_json::Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| ResumeError::Malformed(n.to_string())),
        Some(other) => Err(ResumeError::Malformed(
            other.to_string().chars().take(24).collect(),
        )),
    }
}

/// What to send before live pushes, and the `Seq` up to which live pushes are duplicates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// A `ResumeGap` (if pushes were lost), then the missed pushes, oldest first.
    pub frames: Vec<String>,
    /// Live pushes with a `Seq` at most this were already replayed (or seen).
    pub floor: u64,
}

/// The plan for a client resuming after `after`, from what the history holds.
pub fn plan(after: u64, read: HistoryRead) -> Result<Plan, ResumeError> {
    let Some(latest) = read.latest else {
        // No history (none yet, or forgotten): whatever came after `after` is gone.
        let fresh = fresh_start(read.now_ms);
        if after > fresh {
            return Err(ResumeError::Ahead {
                requested: after,
                latest: fresh,
            });
        }
        return Ok(Plan {
            frames: vec![gap(after, None, None)],
            floor: after,
        });
    };
    if after > latest {
        return Err(ResumeError::Ahead {
            requested: after,
            latest,
        });
    }
    let first = read.entries.first().map(|(seq, _)| *seq);
    let mut frames = Vec::with_capacity(read.entries.len() + 1);
    if after < latest && first != Some(after + 1) {
        frames.push(gap(after, first, Some(latest)));
    }
    frames.extend(read.entries.into_iter().map(|(_, envelope)| envelope));
    Ok(Plan {
        frames,
        floor: latest,
    })
}

/// The plan when there is no history to read (the tenant keeps none, or the store is
/// unreachable): the client learns that pushes may have been lost.
pub fn no_history(after: u64) -> Plan {
    Plan {
        frames: vec![gap(after, None, None)],
        floor: after,
    }
}

/// `{"Type":"ResumeGap","Data":{"resume":after,"first":first,"latest":latest}}`: `first` is
/// the oldest `Seq` replayed after it (null: none), `latest` the user's newest (null: none).
fn gap(after: u64, first: Option<u64>, latest: Option<u64>) -> String {
    let num = |n: Option<u64>| n.map_or_else(|| "null".to_string(), |n| n.to_string());
    let data = format!(
        r#"{{"resume":{after},"first":{},"latest":{}}}"#,
        num(first),
        num(latest)
    );
    envelope::reply(GAP_TYPE, &data, None)
}

#[cfg(test)]
#[path = "resume_tests.rs"]
mod tests;
