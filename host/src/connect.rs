//! Authentication ends here, whatever the transport. A connection authenticated at the
//! handshake ([`crate::gateway`], before the 101) or by its first message ([`Pending`], within
//! the tenant's first-message timeout, before the `AuthResponse`) becomes a [`Registered`]
//! connection in one function, [`register`]: its push mailbox registered, its resume planned
//! (after registering, so a push during the history read is in one or the other) and its
//! `on-connect` hooks run — all before the client can see that it is connected, so a push sent
//! once it can is never lost.

use std::sync::Arc;

use tokio::sync::watch;

use tracing::{debug, info, warn};

use crate::auth::{AUTH_MESSAGE_TYPE, Session};
use crate::capabilities::PushGrant;
use crate::capabilities::push::Mailbox;
use crate::capabilities::push::resume::{self, Plan, Requested, ResumeError};
use crate::dispatch::{self, CLOSE_UNAUTHENTICATED, Checked, Close, Dispatcher, Outcome};
use crate::envelope::ErrorCode;
use crate::runtime::Hook;
use crate::tenants::{Tenant, TokenBucket};

/// A connection upgraded without initData, waiting for `{"Type":"Auth",...}`.
pub struct Pending {
    tenant: Arc<Tenant>,
    bucket: TokenBucket,
    /// What its request asked to resume (the `Auth` message may replace it).
    resume: Requested,
}

/// What a frame before authentication produced.
pub enum FirstMessage {
    /// Not authenticated yet: send this (and maybe close).
    Refused(Outcome),
    /// A valid `Auth` message.
    Authenticated(Box<SignedIn>),
}

/// A valid `Auth` message: who signed in, what to resume, and the `AuthResponse` to send once
/// the connection is registered.
pub struct SignedIn {
    /// The session its initData yields.
    pub session: Session,
    /// What to resume: the `Auth` message's `resume`, else the request's.
    pub resume: Requested,
    /// The `AuthResponse` envelope.
    pub response: String,
}

impl Pending {
    /// A connection of `tenant` waiting for its first message; `resume` is what its request
    /// asked ([`resume::from_request`]).
    pub fn new(tenant: Arc<Tenant>, resume: Requested) -> Self {
        let bucket = dispatch::new_bucket(&tenant);
        Self {
            tenant,
            bucket,
            resume,
        }
    }

    /// The tenant.
    pub fn tenant(&self) -> &Arc<Tenant> {
        &self.tenant
    }

    /// Handles a binary frame before authentication (UTF-8 JSON like a text frame).
    pub fn on_binary(&mut self, bytes: &[u8]) -> FirstMessage {
        match dispatch::binary_text(&self.tenant, &mut self.bucket, bytes) {
            Ok(text) => self.on_text(text),
            Err(outcome) => FirstMessage::Refused(outcome),
        }
    }

    /// Handles a text frame before authentication: only `Auth` is accepted; a failed one
    /// closes with 4401.
    pub fn on_text(&mut self, text: &str) -> FirstMessage {
        let request = match dispatch::check(&self.tenant, &mut self.bucket, text) {
            Checked::Request(request) => request,
            Checked::Refused(outcome) => return FirstMessage::Refused(outcome),
        };
        let tenant = &self.tenant;
        if request.msg_type != AUTH_MESSAGE_TYPE {
            tenant
                .metrics
                .message(&tenant.name, "any", "unauthenticated");
            let message =
                "authenticate first: send {\"Type\":\"Auth\",\"Data\":{\"initData\":\"...\"}}";
            let reply = tenant
                .ledger
                .error(ErrorCode::Unauthenticated, message, request.id);
            return FirstMessage::Refused(Outcome::reply(reply));
        }
        let (raw, resume) = auth_data(request.data);
        match tenant.auth.validate(&raw) {
            Ok(session) => {
                let user = serde_json::to_string(&session.user).unwrap_or_else(|_| "null".into());
                let data = format!(r#"{{"user":{user}}}"#);
                FirstMessage::Authenticated(Box::new(SignedIn {
                    session,
                    resume: match resume {
                        Some(asked) => asked,
                        None => std::mem::replace(&mut self.resume, Ok(None)),
                    },
                    response: tenant.ledger.reply("AuthResponse", &data, request.id),
                }))
            }
            Err(e) => {
                warn!(reason = e.kind(), "authentication failed");
                tenant.metrics.auth_failure(&tenant.name, e.kind());
                let close = Close::new(CLOSE_UNAUTHENTICATED, &e.to_string());
                FirstMessage::Refused(Outcome::close(close))
            }
        }
    }

    /// The rate bucket, carried over to the authenticated connection.
    pub(crate) fn into_bucket(self) -> TokenBucket {
        self.bucket
    }
}

/// The initData of an `Auth` message's `Data` (empty, so refused as missing, unless `Data` is
/// an object with one string `initData`) and the resume it asks (`None`: absent or `null`).
/// `make fuzz` (`auth_message`) found `Data` read from an array of its values, and a `resume`
/// no JSON value can hold (a lone surrogate escape) refusing a valid initData as missing.
fn auth_data(data: &str) -> (String, Option<Requested>) {
    #[derive(serde::Deserialize)]
    struct AuthData<'a> {
        #[serde(rename = "initData")]
        init_data: String,
        #[serde(borrow, default)]
        resume: Option<&'a serde_json::value::RawValue>,
    }
    // serde reads a struct from an array of its values too: `Data` must be an object.
    let parsed = serde_json::from_str::<AuthData>(data).ok();
    let Some(d) = parsed.filter(|_| data.starts_with('{')) else {
        return (String::new(), None);
    };
    let resume = d.resume.map(|raw| match serde_json::from_str(raw.get()) {
        Ok(value) => resume::from_auth(Some(&value)),
        Err(_) => Err(ResumeError::Malformed(raw.get().chars().take(24).collect())),
    });
    (d.init_data, resume)
}

/// An authenticated connection, registered: what it sends first, then its live loop.
pub struct Registered {
    /// Its message handling.
    pub dispatcher: Dispatcher,
    /// Its pushes (none when the server has no push).
    pub mailbox: Option<Mailbox>,
    /// Live pushes with a `Seq` up to this were replayed already.
    pub floor: u64,
    /// Frames to send before anything else (the resume's), in order.
    pub first: Vec<String>,
    /// Close after sending them (a refused resume).
    pub close: Option<Close>,
    /// Wakes up when pushes to this connection's user may have been lost on their way to
    /// this server: it then catches up from the history ([`catch_up`]). `None` without a user
    /// or a history.
    pub losses: Option<watch::Receiver<u64>>,
}

/// Registers an authenticated connection of `tenant`: its push mailbox, its resume plan, its
/// `on-connect` hooks. Call it before the client can see that it is connected. `bucket`: the
/// rate bucket it used while pending, if it was.
pub async fn register(
    tenant: Arc<Tenant>,
    session: Session,
    resume: Requested,
    bucket: Option<TokenBucket>,
) -> Registered {
    if let Some(user) = &session.user {
        tracing::Span::current().record("user", user.id);
    }
    let mut plan = resume.clone().map(|_| Plan::default());
    let mut mailbox = None;
    let mut losses = None;
    if let Some(push) = &tenant.capabilities().push {
        let user = session.user.as_ref().map(|u| u.id);
        if user.is_some() && push.history_policy.enabled() {
            losses = Some(push.bus.hub().losses());
        }
        let registered = push.bus.hub().register(tenant.name.clone(), user);
        if let (Ok(Some(after)), Some(user)) = (&resume, user) {
            plan = replay_plan(push, &tenant.name, user, *after).await;
        }
        mailbox = Some(registered);
    }
    let id = mailbox.as_ref().map(|m: &Mailbox| m.id);
    let mut dispatcher = Dispatcher::with_bucket(tenant, session, id, bucket);
    dispatcher.run_hooks(Hook::Connect).await;
    let (first, floor, close) = match plan {
        Ok(plan) => {
            if !plan.frames.is_empty() {
                debug!(frames = plan.frames.len(), "resumed");
            }
            (plan.frames, plan.floor, None)
        }
        Err(e) => {
            info!(error = %e, "resume refused");
            let close = Close::bad_resume(&e.to_string());
            (vec![e.envelope()], 0, Some(close))
        }
    };
    Registered {
        dispatcher,
        mailbox,
        floor,
        first,
        close,
        losses,
    }
}

/// What a connection of `tenant`'s `user` that has had every push up to `after` sends to catch
/// up when pushes may have been lost on their way to it: the history's entries after `after`
/// (after a `ResumeGap` if it no longer reaches back that far, or cannot be read now), and the
/// new floor. `None` when the tenant keeps no history (its pushes are best-effort).
pub async fn catch_up(tenant: &Tenant, user: i64, after: u64) -> Option<Plan> {
    let push = tenant.capabilities().push.as_ref()?;
    if !push.history_policy.enabled() {
        return None;
    }
    // A Seq ahead of the history cannot happen here (it was delivered from it): keep quiet.
    replay_plan(push, &tenant.name, user, after).await.ok()
}

/// What a client of `tenant`'s `user` resuming after `after` gets before live pushes.
async fn replay_plan(
    push: &PushGrant,
    tenant: &str,
    user: i64,
    after: u64,
) -> Result<Plan, ResumeError> {
    let policy = push.history_policy;
    if !policy.enabled() {
        return Ok(resume::no_history(after));
    }
    match push.history.read(tenant, user, after, policy).await {
        Ok(read) => resume::plan(after, read),
        Err(e) => {
            warn!(error = %e, "resume: history unreachable; the client gets a gap");
            Ok(resume::no_history(after))
        }
    }
}
