//! Cold start: process start to the first reply, per non-extws system and per guest language
//! (fresh) with the compile cache warm and off.

use std::time::{Duration, Instant};

use anyhow::bail;

use super::LANGUAGES;
use crate::ctx::{Ctx, Mode, System, extws_config};
use crate::load;
use crate::records::{ColdStart, median};
use crate::report::Results;
use crate::servers::ServerCmd;

impl Ctx<'_> {
    fn cold_start_runs(&self, cmd: &ServerCmd, runs: usize) -> anyhow::Result<(Vec<f64>, f64)> {
        let (mut total, mut listening) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t0 = Instant::now();
            let server = cmd.spawn(Duration::from_secs(600))?;
            let t_listen = t0.elapsed();
            let reply = self
                .rt
                .block_on(load::one_request(&server.url(&self.query)))?;
            let t_reply = t0.elapsed();
            server.stop();
            if !reply.contains(load::CALC_REPLY) {
                bail!("unexpected reply: {reply}");
            }
            total.push((t_reply.as_secs_f64() * 10_000.0).round() / 10.0);
            listening.push(t_listen.as_secs_f64() * 1000.0);
        }
        Ok((total, (median(&listening) * 10.0).round() / 10.0))
    }

    pub(super) fn cold_starts(&self, systems: &[System], results: &mut Results) {
        let runs = self.params.cold_runs;
        let mut record = |system: &str, cache: &str, r: anyhow::Result<(Vec<f64>, f64)>| match r {
            Ok((ms, listening)) => {
                eprintln!(
                    "  {system:<24} cold start (cache {cache}): median {:.1} ms",
                    median(&ms)
                );
                results.cold_start.push(ColdStart {
                    system: system.into(),
                    cache: cache.into(),
                    median_ms: median(&ms),
                    runs_ms: ms,
                    listening_median_ms: listening,
                });
            }
            Err(e) => results
                .notes
                .push(format!("{system}: cold start ({cache}) failed: {e:#}")),
        };
        for s in systems.iter().filter(|s| s.info.kind != "extws-wasm") {
            record(&s.info.name, "n/a", self.cold_start_runs(&s.cmd, runs));
        }
        for lang in LANGUAGES {
            let Some(component) = self.component(lang) else {
                continue;
            };
            let name = format!("extws {lang}/fresh");
            if !self.args.only.is_empty()
                && !self.args.only.iter().any(|o| name.contains(o.as_str()))
            {
                continue;
            }
            let Ok(config) = self.write_config(
                &format!("cold-{lang}-fresh"),
                &extws_config(&component, "fresh", 1000),
            ) else {
                continue;
            };
            let warm = self.extws_cmd(&config, None);
            // One unmeasured start fills the cache.
            let filled = self.cold_start_runs(&warm, 1);
            record(
                &name,
                "warm",
                filled.and_then(|_| self.cold_start_runs(&warm, runs)),
            );
            if lang == "rust" || self.args.mode == Mode::Full {
                let off = self.extws_cmd(&config, Some("off"));
                let off_runs = if lang == "rust" { runs } else { runs.min(3) };
                record(&name, "off", self.cold_start_runs(&off, off_runs));
            }
        }
    }
}
