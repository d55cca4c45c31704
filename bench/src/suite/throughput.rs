//! The throughput scenarios ([`SCENARIOS`]) against one system, pinned, with this run's
//! windows.

use crate::ctx::{Ctx, System};
use crate::load::LoadSpec;
use crate::records::ThroughputRun;
use crate::report::SCENARIOS;

impl Ctx<'_> {
    pub(super) fn throughput(&self, system: &System) -> anyhow::Result<Vec<ThroughputRun>> {
        let mut runs = Vec::new();
        self.runs(system, &mut runs, |url| {
            SCENARIOS
                .iter()
                .map(|&(scenario, connections, depth)| {
                    (scenario, LoadSpec::calc(url, connections, depth))
                })
                .collect()
        })?;
        Ok(runs)
    }
}
