//! Per-store host state and the linking of the world's imports: [`wasi`] (no ambient
//! capabilities; guest stdio to `tracing`), `wasi:http` (the `http` capability's hooks), and
//! every `extws:handler` interface, each projected onto its capability's
//! [`Ctx`](crate::capabilities::Ctx) in [`link`] — one line per capability.

mod wasi;

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::{WasiHttpCtxView, WasiHttpView};

use super::limits::{Limiter, Limits};
use crate::capabilities::http::HttpHooks;
use crate::capabilities::{ALWAYS, CallerInfo, Capabilities, Ctx, Grant};
use crate::wit::extws::handler::{kv, log, push, session, telegram, types};

/// Most WASI resources (pollables, streams, ...) one store may hold at once. A guest that
/// keeps creating them without dropping any gets `limit` instead of growing host memory.
const MAX_HOST_RESOURCES: usize = 10_000;

/// Everything one `Store` holds. A store never outlives one call (or one connection / one
/// pooled instance, per lifecycle) and never crosses tenants.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    http: wasmtime_wasi_http::WasiHttpCtx,
    http_hooks: HttpHooks,
    /// The tenant's grants (one copy, shared by all its stores).
    capabilities: Arc<Capabilities>,
    /// Memory and table limits.
    pub limiter: Limiter,
    /// Who is calling (replaced per call on a kept instance), with the call's deadline.
    pub caller: CallerInfo,
}

impl HostState {
    /// Fresh state with the given limits and only the granted capabilities: no network, no
    /// inherited stdio, environment and files only as `capabilities` says.
    pub fn new(
        caller: CallerInfo,
        limits: &Limits,
        capabilities: &Arc<Capabilities>,
    ) -> anyhow::Result<Self> {
        let mut table = ResourceTable::new();
        table.set_max_capacity(MAX_HOST_RESOURCES);
        Ok(Self {
            wasi: wasi::context(&caller, capabilities)?,
            table,
            http: wasmtime_wasi_http::WasiHttpCtx::new(),
            http_hooks: HttpHooks {
                grant: capabilities.http.clone(),
            },
            capabilities: capabilities.clone(),
            limiter: Limiter::new(limits),
            caller,
        })
    }

    /// What a capability's host functions see: its grant (by `pick`) and the caller.
    fn ctx<G>(&mut self, pick: fn(&Capabilities) -> Option<&G>) -> Ctx<'_, G> {
        Ctx {
            grant: pick(&self.capabilities),
            caller: &self.caller,
        }
    }
}

/// Links WASI, `wasi:http` and every `extws:handler` interface, each onto its capability.
pub fn link(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    wasmtime_wasi::p2::add_to_linker_async(linker)?;
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(linker)?;
    types::add_to_linker::<_, HasSelf<_>>(linker, |s| s)?;
    session::add_to_linker::<_, Grant<_>>(linker, |s| s.ctx(|_| Some(&ALWAYS)))?;
    log::add_to_linker::<_, Grant<_>>(linker, |s| s.ctx(|c| Some(&*c.log)))?;
    kv::add_to_linker::<_, Grant<_>>(linker, |s| s.ctx(|c| c.kv.as_ref()))?;
    push::add_to_linker::<_, Grant<_>>(linker, |s| s.ctx(|c| c.push.as_ref()))?;
    telegram::add_to_linker::<_, Grant<_>>(linker, |s| s.ctx(|c| c.telegram.as_deref()))?;
    Ok(())
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for HostState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.http_hooks,
        }
    }
}

impl types::Host for HostState {}
