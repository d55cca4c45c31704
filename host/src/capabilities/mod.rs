//! What a guest may do beyond computing, one folder per capability (Spin's factors are the
//! model): each resolves its settings into an immutable grant at startup, implements its WIT
//! interface on a [`Ctx`] (the tenant's grant, or none: denied with a WIT error, never a
//! trap, and the call's [`CallerInfo`]), and keeps its own limits and tests.
//!
//! * [`kv`] — durable key-value state per tenant, within its quota.
//! * [`push`] — server push: the bus between servers, this server's [`push::hub`], push
//!   [`push::history`] (per-user `Seq`s) and session [`push::resume`].
//! * [`telegram`] — the Bot API as the tenant's bot: token, allowed methods, flood limits.
//! * [`http`] — outbound HTTP (`wasi:http`) to allowed origins, and the one HTTP client the
//!   host uses for guests (the Bot API's too).
//! * [`session`], [`log`] — who is calling and the host's log: granted to every guest.
//! * [`services`] — the backends kv and push share (embedded store or Redis), opened once.
//! * [`ledger`] — each tenant's limits on what its guests make the host store or send, listed
//!   in one table, with the frame and topic checks.
//!
//! Adding a capability: a folder here, its interface in `wit/handler.wit`, its SDK wrappers,
//! and one line in `runtime::host::link`.

pub mod http;
pub mod kv;
pub mod ledger;
pub mod log;
pub mod push;
pub mod services;
pub mod session;
pub mod telegram;

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Instant;

use crate::auth::InitDataContext;
use crate::origin::Origin;

pub use http::HttpGrant;
pub use kv::KvGrant;
pub use push::PushGrant;
pub use services::Services;

/// What a tenant grants its guests beyond nothing, resolved once (at startup and on reload)
/// and shared by all its stores. A capability that is `None` is denied.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Environment variables the guest sees (and no others).
    pub env: Vec<(String, String)>,
    /// A host directory the guest may read (never write), and where it appears in the guest.
    pub read_only_dir: Option<PreopenedDir>,
    /// Outbound HTTP (`wasi:http`) to allowed origins; none: every request is denied.
    pub http: Option<Arc<HttpGrant>>,
    /// The Bot API as the tenant's bot; none: every `telegram.call` is denied.
    pub telegram: Option<Arc<telegram::BotApi>>,
    /// Key-value state; none when the server has no state store (`unavailable`).
    pub kv: Option<KvGrant>,
    /// Server push; none when the server has no state store (`unavailable`).
    pub push: Option<PushGrant>,
    /// The tenant's guest log volume (the `log` import, stdout and stderr), always granted
    /// within [`log::LogBudget`]'s limits.
    pub log: Arc<log::LogBudget>,
}

/// A read-only directory grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreopenedDir {
    /// Directory on the host.
    pub host: std::path::PathBuf,
    /// Absolute path at which the guest sees it, e.g. `/data`.
    pub guest: String,
}

/// Who is calling, for one call: identity only, no capability (those are in
/// [`Capabilities`]).
#[derive(Clone)]
pub struct CallerInfo {
    /// Tenant name.
    pub tenant: Arc<str>,
    /// Component name (its file stem).
    pub component: Arc<str>,
    /// The validated initData context of the connection (none without auth).
    pub init_data: Option<Arc<InitDataContext>>,
    /// The calling connection, for `push.subscribe` (none for updates and the CLI).
    pub connection: Option<push::ConnectionId>,
    /// Where the call comes from (`session.origin`).
    pub origin: Origin,
    /// When the current call must end (set when a call is armed), for host calls that wait.
    pub deadline: Option<Instant>,
}

impl CallerInfo {
    /// A caller with no session or connection, as the CLI calls.
    pub fn new(tenant: Arc<str>, component: Arc<str>) -> Self {
        Self {
            tenant,
            component,
            init_data: None,
            connection: None,
            origin: Origin::Cli,
            deadline: None,
        }
    }
}

impl std::fmt::Debug for CallerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerInfo")
            .field("tenant", &self.tenant)
            .field("component", &self.component)
            .field("connection", &self.connection)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

/// What one capability's host functions see during a call: the tenant's grant (none: the
/// capability is denied) and the caller.
pub struct Ctx<'a, G> {
    /// The grant.
    pub grant: Option<&'a G>,
    /// The caller.
    pub caller: &'a CallerInfo,
}

impl<'a, G> Ctx<'a, G> {
    /// The grant and the caller's tenant (the namespace it acts in), or the capability's
    /// denial (a WIT error, never a trap) when the tenant does not have it.
    pub fn granted<E>(&self, denied: impl FnOnce() -> E) -> Result<(&'a G, &'a str), E> {
        match self.grant {
            Some(grant) => Ok((grant, &self.caller.tenant)),
            None => Err(denied()),
        }
    }
}

/// Why kv and push are denied: they are granted by the server's state store.
pub const NO_STATE_STORE: &str = "this server has no state store";

/// The linker's marker for a capability whose host functions run on a [`Ctx`] of `G`.
pub struct Grant<G>(PhantomData<fn() -> G>);

impl<G: Send + Sync + 'static> wasmtime::component::HasData for Grant<G> {
    type Data<'a> = Ctx<'a, G>;
}

/// The grant of an identity-only interface (`session`, `log`): always given.
#[derive(Debug, Clone, Copy, Default)]
pub struct Always;

/// The one [`Always`] grant, for projections.
pub static ALWAYS: Always = Always;

/// `s` cut to at most `max` bytes on a character boundary.
pub fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
