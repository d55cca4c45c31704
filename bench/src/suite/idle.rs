//! Idle authenticated connections held open: the server's RSS per connection.

use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::ctx::{Ctx, System, extws_config};
use crate::load;
use crate::procstat;
use crate::records::IdleRun;

impl Ctx<'_> {
    pub(super) fn idle(&self, system: &System, n: usize) -> anyhow::Result<IdleRun> {
        let cmd = if system.info.kind == "extws-wasm" {
            let component = self.component("rust").context("calc-rust.wasm")?;
            let config = self.write_config(
                "idle-rust-fresh",
                &extws_config(&component, "fresh", n + 100),
            )?;
            self.extws_cmd(&config, None)
        } else {
            system.cmd.clone()
        };
        let server = cmd.spawn(Duration::from_secs(300))?;
        let url = server.url(&self.query);
        self.rt.block_on(load::one_request(&url))?;
        std::thread::sleep(Duration::from_millis(300));
        let before = procstat::memory(server.pid)?;
        procstat::reset_peak(server.pid);
        let started = Instant::now();
        let sockets = self.rt.block_on(load::connect_all(&url, n, 128))?;
        let connect_s = started.elapsed().as_secs_f64();
        std::thread::sleep(Duration::from_millis(1500));
        let after = procstat::memory(server.pid)?;
        // Still answering with all of them open?
        self.rt.block_on(load::one_request(&url))?;
        let run = IdleRun {
            system: system.info.name.clone(),
            connections: n,
            rss_before_kib: before.rss_kib,
            rss_after_kib: after.rss_kib,
            peak_kib: after.hwm_kib,
            per_connection_kib: ((after.rss_kib as f64 - before.rss_kib as f64) / n as f64 * 100.0)
                .round()
                / 100.0,
            connect_s: (connect_s * 100.0).round() / 100.0,
        };
        eprintln!(
            "  {:<24} idle x{n}: {:.1} KiB per connection",
            run.system, run.per_connection_kib
        );
        drop(sockets);
        server.stop();
        Ok(run)
    }
}
