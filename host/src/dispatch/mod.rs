//! An authenticated connection's messages, without the socket: a frame in, the replies to send
//! and whether to close out. The frame's size, envelope and rate are checked here; the `Type`
//! then goes through the one call path ([`crate::call::run`], origin `Client`) and each
//! [`crate::call::Answer`] becomes a reply envelope, held to the tenant's frame limit (its
//! [`crate::capabilities::ledger::Ledger`]). Every row of the error table can be tested
//! without a network. (Before authentication, frames go to [`crate::connect::Pending`].)

use std::sync::Arc;
use std::time::Instant;

use tracing::warn;

use crate::auth::Session;
use crate::call::{self, Call};
use crate::capabilities::CallerInfo;
use crate::capabilities::push::ConnectionId;
use crate::capabilities::session::to_wit_user;
use crate::envelope::{self, EnvelopeError, ErrorCode};
use crate::origin::Origin;
use crate::runtime::{ConnectionInstances, Hook};
use crate::tenants::{Tenant, TokenBucket};
use crate::wit::User;

mod close;
pub use close::{CLOSE_UNAUTHENTICATED, Close, valid_close_code};

/// What one frame produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Envelopes to send, in order.
    pub replies: Vec<String>,
    /// Close after sending them.
    pub close: Option<Close>,
}

impl Outcome {
    pub(crate) fn reply(text: String) -> Self {
        Self {
            replies: vec![text],
            close: None,
        }
    }

    pub(crate) fn close(close: Close) -> Self {
        Self {
            replies: Vec::new(),
            close: Some(close),
        }
    }
}

/// A frame checked for size and shape: the request, or what to send instead.
pub(crate) enum Checked<'a> {
    /// A request envelope.
    Request(envelope::Request<'a>),
    /// Refused before any handler: send this.
    Refused(Outcome),
}

/// Checks one text frame's size, envelope and rate, counting refusals (shared by
/// authenticated connections and first-message authentication).
pub(crate) fn check<'a>(tenant: &Tenant, bucket: &mut TokenBucket, text: &'a str) -> Checked<'a> {
    if text.len() > tenant.ledger.max_frame_bytes {
        return Checked::Refused(Outcome::close(Close::too_big(&format!(
            "{} bytes, the limit is {}",
            text.len(),
            tenant.ledger.max_frame_bytes
        ))));
    }
    // Every frame takes a token, a malformed one too: parsing costs the server as much.
    let parsed = envelope::parse(text);
    if !bucket.take(Instant::now()) {
        let id = parsed.as_ref().ok().and_then(|r| r.id);
        return Checked::Refused(rate_limited(tenant, id));
    }
    match parsed {
        Ok(request) => Checked::Request(request),
        Err(e) => Checked::Refused(invalid_message(tenant, &e)),
    }
}

/// The `rate_limited` reply, counted.
fn rate_limited(tenant: &Tenant, id: Option<&serde_json::value::RawValue>) -> Outcome {
    tenant.metrics.message(&tenant.name, "any", "rate_limited");
    let message = "too many messages: slow down";
    Outcome::reply(tenant.ledger.error(ErrorCode::RateLimited, message, id))
}

/// The `invalid_message` reply, counted.
fn invalid_message(tenant: &Tenant, e: &EnvelopeError) -> Outcome {
    tenant
        .metrics
        .message(&tenant.name, "invalid", "invalid_message");
    let reply = envelope::error(ErrorCode::InvalidMessage, &e.to_string(), None);
    Outcome::reply(reply)
}

/// A binary frame as text, or (taking a token, like any frame) the `invalid_message` reply
/// when it is not UTF-8.
pub(crate) fn binary_text<'a>(
    tenant: &Tenant,
    bucket: &mut TokenBucket,
    bytes: &'a [u8],
) -> Result<&'a str, Outcome> {
    std::str::from_utf8(bytes).map_err(|_| {
        if !bucket.take(Instant::now()) {
            return rate_limited(tenant, None);
        }
        invalid_message(tenant, &EnvelopeError::NotUtf8)
    })
}

/// An authenticated connection's message handling.
pub struct Dispatcher {
    tenant: Arc<Tenant>,
    session: Session,
    /// The user as the WIT record, converted once.
    wit_user: Option<User>,
    bucket: TokenBucket,
    instances: ConnectionInstances,
    connection: Option<ConnectionId>,
}

impl Dispatcher {
    /// A dispatcher for an authenticated connection of `tenant` (`connection`: its id for
    /// pushes, when the server has push).
    pub fn new(tenant: Arc<Tenant>, session: Session, connection: Option<ConnectionId>) -> Self {
        Self::with_bucket(tenant, session, connection, None)
    }

    /// As [`Dispatcher::new`], keeping the rate bucket the connection used before it
    /// authenticated.
    pub(crate) fn with_bucket(
        tenant: Arc<Tenant>,
        session: Session,
        connection: Option<ConnectionId>,
        bucket: Option<TokenBucket>,
    ) -> Self {
        let bucket = bucket.unwrap_or_else(|| new_bucket(&tenant));
        Self {
            wit_user: session.user.as_ref().map(to_wit_user),
            session,
            tenant,
            bucket,
            instances: ConnectionInstances::default(),
            connection,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }

    /// The connection's session.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Handles a binary frame: UTF-8 JSON like a text frame.
    pub async fn on_binary(&mut self, bytes: &[u8]) -> Outcome {
        match binary_text(&self.tenant, &mut self.bucket, bytes) {
            Ok(text) => self.on_text(text).await,
            Err(outcome) => outcome,
        }
    }

    /// Handles one text frame.
    pub async fn on_text(&mut self, text: &str) -> Outcome {
        let request = match check(&self.tenant, &mut self.bucket, text) {
            Checked::Request(request) => request,
            Checked::Refused(outcome) => return outcome,
        };
        let call = Call {
            origin: Origin::Client,
            msg_type: &request.msg_type,
            data: request.data,
            user: self.wit_user.as_ref(),
            init_data: self.session.init_data.clone(),
            connection: self.connection,
        };
        let answers = call::run(&self.tenant, call, &mut self.instances).await;
        let mut outcome = Outcome::default();
        for answer in answers {
            if let Some((code, reason)) = answer.close_requested() {
                outcome.close = Some(Close::new(valid_close_code(code), reason));
            }
            // The whole frame counts against the tenant's limit: a reply over it becomes a
            // `limit` error, an error's message is cut to fit.
            let ledger = &self.tenant.ledger;
            outcome.replies.push(match answer.result {
                Ok(response) => ledger.reply(&response.msg_type, &response.data, request.id),
                Err(e) => ledger.error(e.code(), &e.to_string(), request.id),
            });
        }
        outcome
    }

    /// Calls `hook` on every component of the tenant that exports it; failures are logged.
    pub async fn run_hooks(&mut self, hook: Hook) {
        let routing = self.tenant.handlers();
        for component in routing.components.iter().filter(|c| c.has_hook(hook)) {
            let caller = CallerInfo {
                tenant: self.tenant.name.clone(),
                component: component.name.clone(),
                init_data: self.session.init_data.clone(),
                connection: self.connection,
                origin: Origin::Client,
                deadline: None,
            };
            if let Err(e) = component
                .call_hook(hook, self.wit_user.as_ref(), caller)
                .await
            {
                warn!(component = %component.name, hook = hook.export(), error = %e, "hook failed");
            }
        }
    }
}

/// A connection's rate bucket, from its tenant's limits.
pub(crate) fn new_bucket(tenant: &Tenant) -> TokenBucket {
    let limits = tenant.limits();
    TokenBucket::new(limits.rate_per_second, limits.rate_burst)
}
