//! Limit values, from `serve`/`call` flags or from `[tenant.limits]`, turned into [`Limits`]
//! by one set of rules; errors name the key as the user wrote it (`--timeout-ms` or
//! `limits.timeout_ms`).

use std::time::Duration;

use anyhow::bail;
use serde::Deserialize;

use crate::capabilities::ledger::{DEFAULT_MAX_TOPICS, Ledger};
use crate::cli::LimitArgs;
use crate::runtime::Limits;

/// Largest `max_message_bytes` a tenant may set (64 MiB).
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Every limit a user can set; `None` keeps the default. Also `[tenant.limits]` in a file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitValues {
    /// Wall-clock deadline of one call, in milliseconds.
    pub timeout_ms: Option<u64>,
    /// Optional instruction budget of one call.
    pub fuel: Option<u64>,
    /// Linear memory of one instance, in MiB.
    pub max_memory_mib: Option<usize>,
    /// Calls of the tenant running at once.
    pub max_concurrency: Option<usize>,
    /// Calls that may wait for a slot.
    pub max_queue: Option<usize>,
    /// Open connections of the tenant.
    pub max_connections: Option<usize>,
    /// Open connections of one Telegram user.
    pub max_connections_per_user: Option<usize>,
    /// Open connections from one address while their first-message auth is pending.
    pub max_connections_per_ip: Option<usize>,
    /// Largest accepted frame and largest frame sent (reply or push, envelope included), in
    /// bytes.
    pub max_message_bytes: Option<usize>,
    /// Topics one connection may be subscribed to at once.
    pub max_topics_per_connection: Option<usize>,
    /// Sustained messages per second per connection.
    pub rate_per_second: Option<f64>,
    /// Burst of messages per connection.
    pub rate_burst: Option<u32>,
}

impl LimitValues {
    /// The limits and the tenant's ledger (frame size, topics), checked; `key` spells a key's
    /// name (given in snake case) as the user wrote it.
    pub fn resolve(&self, key: impl Fn(&str) -> String) -> anyhow::Result<(Limits, Ledger)> {
        let d = Limits::default();
        let limits = Limits {
            timeout: self.timeout_ms.map_or(d.timeout, Duration::from_millis),
            fuel: self.fuel.or(d.fuel),
            // Saturating: `m << 20` wrapped, so `make fuzz` found 2^44 + 1 MiB accepted as 1 MiB.
            max_memory_bytes: self
                .max_memory_mib
                .map_or(d.max_memory_bytes, |m| m.saturating_mul(1 << 20)),
            max_concurrency: self.max_concurrency.unwrap_or(d.max_concurrency),
            max_queue: self.max_queue.unwrap_or(d.max_queue),
            max_connections: self.max_connections.unwrap_or(d.max_connections),
            max_connections_per_user: self
                .max_connections_per_user
                .unwrap_or(d.max_connections_per_user),
            max_connections_per_ip: self
                .max_connections_per_ip
                .unwrap_or(d.max_connections_per_ip),
            rate_per_second: self.rate_per_second.unwrap_or(d.rate_per_second),
            rate_burst: self.rate_burst.unwrap_or(d.rate_burst),
            ..d
        };
        let ledger = Ledger {
            max_frame_bytes: self.max_message_bytes.unwrap_or(1 << 20),
            max_topics_per_connection: self.max_topics_per_connection.unwrap_or(DEFAULT_MAX_TOPICS),
        };
        let max_message_bytes = ledger.max_frame_bytes;
        fn at_least_one(name: &'static str, value: usize) -> Option<(&'static str, &'static str)> {
            (value == 0).then_some((name, "at least 1"))
        }
        let problem = [
            at_least_one("timeout_ms", limits.timeout.as_millis() as usize),
            (limits.fuel == Some(0)).then_some(("fuel", "at least 1 (omit it to disable)")),
            (!(1 << 20..=4 << 30).contains(&limits.max_memory_bytes))
                .then_some(("max_memory_mib", "between 1 and 4096")),
            at_least_one("max_concurrency", limits.max_concurrency),
            at_least_one("max_connections", limits.max_connections),
            at_least_one("max_connections_per_user", limits.max_connections_per_user),
            at_least_one("max_connections_per_ip", limits.max_connections_per_ip),
            (!(limits.rate_per_second > 0.0 && limits.rate_per_second.is_finite()))
                .then_some(("rate_per_second", "a positive number")),
            at_least_one("rate_burst", limits.rate_burst as usize),
            (!(64..=MAX_MESSAGE_BYTES).contains(&max_message_bytes))
                .then_some(("max_message_bytes", "between 64 and 67108864")),
            at_least_one(
                "max_topics_per_connection",
                ledger.max_topics_per_connection,
            ),
        ]
        .into_iter()
        .flatten()
        .next();
        if let Some((name, rule)) = problem {
            bail!("{} must be {rule}", key(name));
        }
        Ok((limits, ledger))
    }
}

/// The sandbox limits and the tenant's ledger from flags (the same rules as a file's).
pub fn limits(args: &LimitArgs) -> anyhow::Result<(Limits, Ledger)> {
    LimitValues {
        timeout_ms: Some(args.timeout_ms),
        fuel: None,
        max_memory_mib: Some(args.max_memory_mib),
        max_concurrency: Some(args.max_concurrency),
        max_queue: Some(args.max_queue),
        max_connections: Some(args.max_connections),
        max_connections_per_user: Some(args.max_connections_per_user),
        max_connections_per_ip: Some(args.max_connections_per_ip),
        max_message_bytes: Some(args.max_message_bytes),
        max_topics_per_connection: Some(args.max_topics_per_connection),
        rate_per_second: Some(args.rate_per_second),
        rate_burst: Some(args.rate_burst),
    }
    .resolve(flag)
}

/// A key spelled as a flag: `timeout_ms` → `--timeout-ms`.
pub fn flag(name: &str) -> String {
    format!("--{}", name.replace('_', "-"))
}

/// A key spelled as in `extws.toml`: `timeout_ms` → `limits.timeout_ms`.
pub fn file_key(name: &str) -> String {
    format!("limits.{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_rule_names_the_key_as_written() {
        let values = LimitValues {
            max_concurrency: Some(0),
            ..Default::default()
        };
        let flag_error = values.resolve(flag).unwrap_err().to_string();
        assert_eq!(flag_error, "--max-concurrency must be at least 1");
        let file_error = values.resolve(file_key).unwrap_err().to_string();
        assert_eq!(file_error, "limits.max_concurrency must be at least 1");
        let (limits, ledger) = LimitValues::default().resolve(flag).unwrap();
        assert_eq!((limits, ledger), (Limits::default(), Ledger::default()));
        for bad in [
            LimitValues {
                max_message_bytes: Some(63),
                ..Default::default()
            },
            LimitValues {
                rate_per_second: Some(f64::NAN),
                ..Default::default()
            },
            LimitValues {
                max_memory_mib: Some(5000),
                ..Default::default()
            },
            // Found by `make fuzz` (target config): wrapped to 1 MiB and was accepted.
            LimitValues {
                max_memory_mib: Some((1 << 44) + 1),
                ..Default::default()
            },
        ] {
            assert!(bad.resolve(flag).is_err(), "{bad:?}");
        }
    }
}
