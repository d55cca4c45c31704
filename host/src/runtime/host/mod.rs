//! Per-store host state and the host side of the world's imports, one file per interface:
//! [`wasi`] (no ambient capabilities; guest stdio to `tracing`), [`log`], [`session`], [`kv`],
//! [`push`], [`telegram`] (the Bot API) and [`http`] (`wasi:http`, allow-listed). Each interface
//! reads only its own part of the state.

mod http;
mod kv;
mod log;
mod push;
mod session;
mod telegram;
mod wasi;

use std::sync::Arc;
use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::extws::handler::types;
use super::limits::{Limiter, Limits};
use crate::auth::InitDataContext;

pub use http::HttpGrant;
pub use session::{to_wit_init_data, to_wit_user};

/// Most WASI resources (pollables, streams, ...) one store may hold at once. A guest that
/// keeps creating them without dropping any gets `limit` instead of growing host memory.
const MAX_HOST_RESOURCES: usize = 10_000;

/// A tenant's access to state and push: the shared store and bus, and its quota.
#[derive(Clone)]
pub struct StateAccess {
    /// The key-value store (namespaced by tenant inside).
    pub kv: crate::state::KvStore,
    /// This tenant's quota.
    pub quota: crate::state::Quota,
    /// The push bus.
    pub bus: crate::push::Bus,
    /// The push history store.
    pub history: crate::state::HistoryStore,
    /// This tenant's push history policy (size 0: user pushes are best-effort).
    pub push_history: crate::state::HistoryPolicy,
}

/// Who is calling: the tenant and component a store belongs to, and the connection's session.
#[derive(Clone)]
pub struct CallerInfo {
    /// Tenant name.
    pub tenant: Arc<str>,
    /// Component name (its file stem).
    pub component: Arc<str>,
    /// The validated initData context of the connection (none without auth).
    pub init_data: Option<Arc<InitDataContext>>,
    /// The calling connection, for `push.subscribe` (none in `call` and hooks).
    pub connection: Option<crate::push::ConnectionId>,
    /// State and push, when the server has them.
    pub state: Option<StateAccess>,
    /// Where the call comes from (`session.origin`).
    pub origin: crate::origin::Origin,
}

impl CallerInfo {
    /// A caller with no session, connection or state.
    pub fn new(tenant: Arc<str>, component: Arc<str>) -> Self {
        Self {
            tenant,
            component,
            init_data: None,
            connection: None,
            state: None,
            origin: crate::origin::Origin::Cli,
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

/// What a tenant grants its guests beyond nothing. Resolved at startup; immutable.
#[derive(Debug, Clone, Default)]
pub struct Capabilities {
    /// Environment variables the guest sees (and no others).
    pub env: Vec<(String, String)>,
    /// A host directory the guest may read (never write), and where it appears in the guest.
    pub read_only_dir: Option<PreopenedDir>,
    /// Outbound HTTP (`wasi:http`) to allowed origins; none: every request is denied.
    pub http: Option<Arc<HttpGrant>>,
    /// The Bot API as the tenant's bot; none: every `telegram.call` is denied.
    pub telegram: Option<Arc<crate::telegram::BotApi>>,
}

/// A read-only directory grant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreopenedDir {
    /// Directory on the host.
    pub host: std::path::PathBuf,
    /// Absolute path at which the guest sees it, e.g. `/data`.
    pub guest: String,
}

/// Everything one `Store` holds. A store never outlives one call (or one connection / one
/// pooled instance, per lifecycle) and never crosses tenants.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: wasmtime_wasi_http::WasiHttpCtx,
    http_hooks: http::HttpHooks,
    telegram: Option<Arc<crate::telegram::BotApi>>,
    /// When the current call must end (set when a call is armed), for host calls that wait.
    pub deadline: Option<Instant>,
    /// Memory and table limits.
    pub limiter: Limiter,
    /// Identity of the caller, for `session`, `kv`, `push` and log records.
    pub caller: CallerInfo,
}

impl HostState {
    /// Fresh state with the given limits and only the granted capabilities: no network, no
    /// inherited stdio, environment and files only as `capabilities` says.
    pub fn new(
        caller: CallerInfo,
        limits: &Limits,
        capabilities: &Capabilities,
    ) -> anyhow::Result<Self> {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        Ok(Self {
            wasi: wasi::context(&caller, capabilities)?,
            table,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: http::HttpHooks {
                grant: capabilities.http.clone(),
            },
            telegram: capabilities.telegram.clone(),
            deadline: None,
            limiter: Limiter::new(limits),
            caller,
        })
    }

    /// The tenant's state and push, owned so no borrow of the store is held across an await;
    /// `unavailable` builds the interface's error when the server has no state.
    fn state<E>(&self, unavailable: fn(String) -> E) -> Result<(StateAccess, Arc<str>), E> {
        match &self.caller.state {
            Some(state) => Ok((state.clone(), self.caller.tenant.clone())),
            None => Err(unavailable("this server has no state store".into())),
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl types::Host for HostState {}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}
