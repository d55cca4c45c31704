//! WASI for a guest: nothing ambient. No network, no inherited stdio or environment; only the
//! tenant's granted environment variables and read-only directory. Guest stdout and stderr
//! become `tracing` events tagged with tenant and component, one per line.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::AsyncWrite;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder};

use crate::capabilities::log::{LogBudget, MAX_LOG_LINE};
use crate::capabilities::{CallerInfo, Capabilities, truncate};

/// The WASI context of one store.
pub(super) fn context(caller: &CallerInfo, capabilities: &Capabilities) -> anyhow::Result<WasiCtx> {
    let mut wasi = WasiCtxBuilder::new();
    wasi.stdout(GuestOutput::new(caller, capabilities, "stdout"))
        .stderr(GuestOutput::new(caller, capabilities, "stderr"))
        .allow_tcp(false)
        .allow_udp(false)
        .allow_ip_name_lookup(false)
        .envs(&capabilities.env);
    if let Some(dir) = &capabilities.read_only_dir {
        wasi.preopened_dir(&dir.host, &dir.guest, FsPerms::ReadOnly)
            .map_err(anyhow::Error::from)?;
    }
    Ok(wasi.build())
}

/// A guest's stdout or stderr.
#[derive(Clone)]
struct GuestOutput {
    tenant: Arc<str>,
    component: Arc<str>,
    stream: &'static str,
    budget: Arc<LogBudget>,
}

impl GuestOutput {
    fn new(caller: &CallerInfo, capabilities: &Capabilities, stream: &'static str) -> Self {
        Self {
            tenant: caller.tenant.clone(),
            component: caller.component.clone(),
            stream,
            budget: capabilities.log.clone(),
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

/// Buffers a stream into lines and logs each.
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
        if !o.budget.admit(&o.tenant, text.len()) {
            return;
        }
        tracing::info!(target: "guest", tenant = &*o.tenant, component = &*o.component, stream = o.stream, "{text}");
    }

    fn flush_all(&mut self) {
        if !self.buf.is_empty() {
            let len = self.buf.len();
            self.emit(len);
        }
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
            self.flush_all();
        }
        Poll::Ready(Ok(data.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.flush_all();
        Poll::Ready(Ok(()))
    }
}

impl Drop for LineWriter {
    fn drop(&mut self) {
        self.flush_all();
    }
}
