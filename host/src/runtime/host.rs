//! Per-store host state and the host side of the world's imports: `log`, `session`, and WASI
//! with no capabilities (guest stdout/stderr become `tracing` events).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::bindings::extws::handler::{kv, log, push, session, types};
use super::limits::{Limiter, Limits};
use crate::auth::{InitDataContext, TelegramUser};

/// Longest log line (bytes) a guest can emit in one record; longer ones are truncated.
const MAX_LOG_LINE: usize = 4096;

/// A tenant's access to state and push: the shared store and bus, and its quota.
#[derive(Clone)]
pub struct StateAccess {
    /// The key-value store (namespaced by tenant inside).
    pub kv: crate::state::KvStore,
    /// This tenant's quota.
    pub quota: crate::state::Quota,
    /// The push bus.
    pub bus: crate::push::Bus,
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
}

impl std::fmt::Debug for CallerInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallerInfo")
            .field("tenant", &self.tenant)
            .field("component", &self.component)
            .field("connection", &self.connection)
            .finish_non_exhaustive()
    }
}

/// What a tenant grants its guests beyond nothing. Resolved at startup; immutable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Environment variables the guest sees (and no others).
    pub env: Vec<(String, String)>,
    /// A host directory the guest may read (never write), and where it appears in the guest.
    pub read_only_dir: Option<PreopenedDir>,
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
    /// Memory and table limits.
    pub limiter: Limiter,
    /// Identity of the caller, for `session` and log records.
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
        let mut wasi = WasiCtxBuilder::new();
        wasi.stdout(GuestOutput::new(&caller, "stdout"))
            .stderr(GuestOutput::new(&caller, "stderr"))
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .envs(&capabilities.env);
        if let Some(dir) = &capabilities.read_only_dir {
            wasi.preopened_dir(&dir.host, &dir.guest, FsPerms::ReadOnly)
                .map_err(anyhow::Error::from)?;
        }
        Ok(Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: Limiter::new(limits),
            caller,
        })
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

impl log::Host for HostState {
    fn log(&mut self, level: log::Level, message: String) {
        let message = truncate(&message, MAX_LOG_LINE);
        let (tenant, component) = (&*self.caller.tenant, &*self.caller.component);
        match level {
            log::Level::Trace => tracing::trace!(target: "guest", tenant, component, "{message}"),
            log::Level::Debug => tracing::debug!(target: "guest", tenant, component, "{message}"),
            log::Level::Info => tracing::info!(target: "guest", tenant, component, "{message}"),
            log::Level::Warn => tracing::warn!(target: "guest", tenant, component, "{message}"),
            log::Level::Error => tracing::error!(target: "guest", tenant, component, "{message}"),
        }
    }
}

impl session::Host for HostState {
    fn init_data(&mut self) -> Option<types::InitDataInfo> {
        self.caller.init_data.as_deref().map(to_wit_init_data)
    }

    fn tenant(&mut self) -> String {
        self.caller.tenant.to_string()
    }
}

fn kv_error(e: crate::state::KvError) -> kv::KvError {
    use crate::state::KvError as E;
    match e {
        E::QuotaExceeded(m) => kv::KvError::QuotaExceeded(m),
        E::Unavailable(m) => kv::KvError::Unavailable(m),
        E::Invalid(m) => kv::KvError::Invalid(m),
    }
}

fn push_error(e: crate::push::PushError) -> push::PushError {
    use crate::push::PushError as E;
    match e {
        E::Unavailable(m) => push::PushError::Unavailable(m),
        E::Invalid(m) => push::PushError::Invalid(m),
    }
}

impl HostState {
    fn state(&self) -> Result<&StateAccess, String> {
        self.caller
            .state
            .as_ref()
            .ok_or_else(|| "this server has no state store".to_string())
    }

    /// The store and namespace, owned so no borrow of the state is held across an await;
    /// `unavailable` builds the caller's error when the server has no state.
    fn access<E>(&self, unavailable: fn(String) -> E) -> Result<(StateAccess, Arc<str>), E> {
        let state = self.state().map_err(unavailable)?;
        Ok((state.clone(), self.caller.tenant.clone()))
    }

    fn kv(&self) -> Result<(StateAccess, Arc<str>), kv::KvError> {
        self.access(kv::KvError::Unavailable)
    }

    fn push_parts(&self) -> Result<(StateAccess, Arc<str>), push::PushError> {
        self.access(push::PushError::Unavailable)
    }
}

/// Validates and publishes one push (owned arguments: nothing of the store is held across the
/// await).
async fn push_to(
    (state, tenant): (StateAccess, Arc<str>),
    target: crate::push::Target,
    msg_type: String,
    data: String,
) -> Result<(), push::PushError> {
    if serde_json::from_str::<&serde_json::value::RawValue>(&data).is_err() {
        return Err(push::PushError::Invalid("data is not JSON".into()));
    }
    if msg_type.is_empty() {
        return Err(push::PushError::Invalid("empty msg-type".into()));
    }
    let envelope = crate::envelope::reply(&msg_type, &data, None);
    state
        .bus
        .publish(&tenant, &target, envelope)
        .await
        .map_err(push_error)
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, kv::KvError> {
        let (s, ns) = self.kv()?;
        s.kv.get(&ns, &key).await.map_err(kv_error)
    }

    async fn set(
        &mut self,
        key: String,
        value: Vec<u8>,
        ttl_ms: Option<u64>,
    ) -> Result<(), kv::KvError> {
        let (s, ns) = self.kv()?;
        let ttl = ttl_ms.map(std::time::Duration::from_millis);
        s.kv.set(&ns, &key, value, ttl, s.quota)
            .await
            .map_err(kv_error)
    }

    async fn delete(&mut self, key: String) -> Result<bool, kv::KvError> {
        let (s, ns) = self.kv()?;
        s.kv.delete(&ns, &key).await.map_err(kv_error)
    }

    async fn increment(&mut self, key: String, delta: i64) -> Result<i64, kv::KvError> {
        let (s, ns) = self.kv()?;
        s.kv.increment(&ns, &key, delta, s.quota)
            .await
            .map_err(kv_error)
    }

    async fn compare_and_swap(
        &mut self,
        key: String,
        expected: Option<Vec<u8>>,
        new: Vec<u8>,
    ) -> Result<bool, kv::KvError> {
        let (s, ns) = self.kv()?;
        s.kv.compare_and_swap(&ns, &key, expected, new, s.quota)
            .await
            .map_err(kv_error)
    }

    async fn list_keys(&mut self, prefix: String, limit: u32) -> Result<Vec<String>, kv::KvError> {
        let (s, ns) = self.kv()?;
        s.kv.list_keys(&ns, &prefix, limit).await.map_err(kv_error)
    }
}

impl push::Host for HostState {
    async fn send_to_user(
        &mut self,
        user_id: i64,
        msg_type: String,
        data: String,
    ) -> Result<(), push::PushError> {
        push_to(
            self.push_parts()?,
            crate::push::Target::User(user_id),
            msg_type,
            data,
        )
        .await
    }

    async fn publish(
        &mut self,
        topic: String,
        msg_type: String,
        data: String,
    ) -> Result<(), push::PushError> {
        if topic.is_empty() || topic.len() > 256 {
            return Err(push::PushError::Invalid(
                "topic must be 1 to 256 bytes".into(),
            ));
        }
        push_to(
            self.push_parts()?,
            crate::push::Target::Topic(topic),
            msg_type,
            data,
        )
        .await
    }

    async fn subscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, true)
    }

    async fn unsubscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, false)
    }
}

impl HostState {
    fn subscription(&self, topic: String, on: bool) -> Result<(), push::PushError> {
        let state = self.state().map_err(push::PushError::Unavailable)?;
        let Some(id) = self.caller.connection else {
            return Err(push::PushError::Invalid(
                "no connection to subscribe".into(),
            ));
        };
        if topic.is_empty() || topic.len() > 256 {
            return Err(push::PushError::Invalid(
                "topic must be 1 to 256 bytes".into(),
            ));
        }
        state.bus.hub().subscribe(id, &topic, on);
        Ok(())
    }
}

/// The WIT `user` record for a Telegram user.
pub fn to_wit_user(u: &TelegramUser) -> types::User {
    types::User {
        id: u.id,
        is_bot: u.is_bot,
        first_name: u.first_name.clone(),
        last_name: u.last_name.clone(),
        username: u.username.clone(),
        language_code: u.language_code.clone(),
        is_premium: u.is_premium,
        added_to_attachment_menu: u.added_to_attachment_menu,
        allows_write_to_pm: u.allows_write_to_pm,
        photo_url: u.photo_url.clone(),
    }
}

fn to_wit_init_data(c: &InitDataContext) -> types::InitDataInfo {
    types::InitDataInfo {
        auth_date: c.auth_date,
        query_id: c.query_id.clone(),
        chat_type: c.chat_type.clone(),
        chat_instance: c.chat_instance.clone(),
        start_param: c.start_param.clone(),
        can_send_after: c.can_send_after,
        chat: c.chat.as_ref().map(|ch| types::Chat {
            id: ch.id,
            chat_type: ch.chat_type.clone(),
            title: ch.title.clone(),
            username: ch.username.clone(),
            photo_url: ch.photo_url.clone(),
        }),
        receiver: c.receiver.as_ref().map(to_wit_user),
    }
}

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

/// A guest's stdout or stderr: each line becomes a `tracing` event tagged with the tenant and
/// component.
#[derive(Clone)]
struct GuestOutput {
    tenant: Arc<str>,
    component: Arc<str>,
    stream: &'static str,
}

impl GuestOutput {
    fn new(caller: &CallerInfo, stream: &'static str) -> Self {
        Self {
            tenant: caller.tenant.clone(),
            component: caller.component.clone(),
            stream,
        }
    }
}

impl IsTerminal for GuestOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for GuestOutput {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(LineWriter {
            out: self.clone(),
            buf: Vec::new(),
        })
    }
}

struct LineWriter {
    out: GuestOutput,
    buf: Vec<u8>,
}

impl LineWriter {
    fn emit(&mut self, upto: usize) {
        let line: Vec<u8> = self.buf.drain(..upto).collect();
        let text = String::from_utf8_lossy(&line);
        let text = truncate(text.trim_end_matches(['\n', '\r']), MAX_LOG_LINE);
        let o = &self.out;
        tracing::info!(target: "guest", tenant = &*o.tenant, component = &*o.component, stream = o.stream, "{text}");
    }
}

impl AsyncWrite for LineWriter {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.buf.extend_from_slice(data);
        while let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
            self.emit(pos + 1);
        }
        if self.buf.len() > MAX_LOG_LINE {
            let len = self.buf.len();
            self.emit(len);
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        if !self.buf.is_empty() {
            let len = self.buf.len();
            self.emit(len);
        }
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        if !self.buf.is_empty() {
            let len = self.buf.len();
            self.emit(len);
        }
    }
}
