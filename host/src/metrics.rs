//! Prometheus metrics: connections, messages by outcome, invocation latency, instances and
//! auth failures, per tenant. One registry per server (passed to whoever counts), served at
//! `GET /metrics` in the text format.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Labels of per-tenant metrics.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct TenantLabel {
    /// Tenant name.
    pub tenant: String,
}

/// Labels of message outcomes. `type` is a routed Type, or `unknown` / `invalid` so a client
/// cannot create unbounded label values.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct MessageLabels {
    /// Tenant name.
    pub tenant: String,
    /// Message Type (`unknown`, `reserved`, `invalid` or `any` for refusals before routing).
    pub r#type: String,
    /// `ok`, `invalid_data`, `handler_error`, `handler_failed`, `timeout`, `limit`, `overloaded`,
    /// `rate_limited`, `unknown_type`, `forbidden_type`, `invalid_message`, `unauthenticated`.
    pub outcome: String,
}

/// Labels of instance creation.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InstanceLabels {
    /// Tenant name.
    pub tenant: String,
    /// `fresh`, `pooled` or `connection`.
    pub lifecycle: String,
}

/// Labels of authentication failures.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AuthLabels {
    /// Tenant name.
    pub tenant: String,
    /// The failure kind (`bad_signature`, `expired`, ...).
    pub reason: String,
}

/// Labels of bot updates. `kind` is one of Telegram's update kinds (`message`,
/// `callback_query`, ..., `successful_payment`) or `other`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UpdateLabels {
    /// Tenant name.
    pub tenant: String,
    /// The update's kind.
    pub kind: String,
    /// `handled`, `duplicate`, `unclaimed`, `retry` (not run: Telegram will send it again),
    /// `invalid` or `too_large`.
    pub outcome: String,
}

/// Labels of `getUpdates` calls.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct PollLabels {
    /// Tenant name.
    pub tenant: String,
    /// `ok` or `error` (the Bot API unreachable, refusing, or answering nonsense).
    pub outcome: String,
}

/// All metrics of one server.
pub struct Metrics {
    registry: Registry,
    /// Open connections per tenant.
    pub connections_open: Family<TenantLabel, Gauge>,
    /// Accepted connections per tenant.
    pub connections_total: Family<TenantLabel, Counter>,
    /// Messages by tenant, Type and outcome.
    pub messages: Family<MessageLabels, Counter>,
    /// Handler call latency (instantiation included) per tenant, in seconds.
    pub invocation_seconds: Family<TenantLabel, Histogram>,
    /// Instances created, by tenant and lifecycle.
    pub instances_created: Family<InstanceLabels, Counter>,
    /// Authentication failures by tenant and reason.
    pub auth_failures: Family<AuthLabels, Counter>,
    /// Bot updates by tenant, kind and outcome.
    pub telegram_updates: Family<UpdateLabels, Counter>,
    /// `getUpdates` calls by tenant and outcome.
    pub telegram_polls: Family<PollLabels, Counter>,
}

fn latency_histogram() -> Histogram {
    // 10 µs .. ~5 s.
    Histogram::new(exponential_buckets(1e-5, 2.5, 15))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// An empty registry with every family registered.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("extws");
        let m = Self {
            connections_open: Family::default(),
            connections_total: Family::default(),
            messages: Family::default(),
            invocation_seconds: Family::new_with_constructor(latency_histogram),
            instances_created: Family::default(),
            auth_failures: Family::default(),
            telegram_updates: Family::default(),
            telegram_polls: Family::default(),
            registry: Registry::default(),
        };
        registry.register(
            "connections_open",
            "Open WebSocket connections",
            m.connections_open.clone(),
        );
        registry.register(
            "connections",
            "Accepted WebSocket connections",
            m.connections_total.clone(),
        );
        registry.register("messages", "Messages by outcome", m.messages.clone());
        registry.register(
            "invocation_seconds",
            "Handler call latency including instantiation",
            m.invocation_seconds.clone(),
        );
        registry.register(
            "instances_created",
            "Component instances created",
            m.instances_created.clone(),
        );
        registry.register(
            "auth_failures",
            "Refused initData by reason",
            m.auth_failures.clone(),
        );
        registry.register(
            "telegram_updates",
            "Bot updates by kind and outcome",
            m.telegram_updates.clone(),
        );
        registry.register(
            "telegram_polls",
            "getUpdates calls by outcome",
            m.telegram_polls.clone(),
        );
        Self { registry, ..m }
    }

    /// Counts one bot update's outcome.
    pub fn update(&self, tenant: &str, kind: &str, outcome: &str) {
        let labels = UpdateLabels {
            tenant: tenant.to_string(),
            kind: kind.to_string(),
            outcome: outcome.to_string(),
        };
        self.telegram_updates.get_or_create(&labels).inc();
    }

    /// Counts one `getUpdates` call.
    pub fn poll(&self, tenant: &str, ok: bool) {
        let labels = PollLabels {
            tenant: tenant.to_string(),
            outcome: if ok { "ok" } else { "error" }.to_string(),
        };
        self.telegram_polls.get_or_create(&labels).inc();
    }

    /// Counts one message outcome.
    pub fn message(&self, tenant: &str, msg_type: &str, outcome: &str) {
        self.messages
            .get_or_create(&MessageLabels {
                tenant: tenant.into(),
                r#type: msg_type.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts one authentication failure.
    pub fn auth_failure(&self, tenant: &str, reason: &str) {
        self.auth_failures
            .get_or_create(&AuthLabels {
                tenant: tenant.into(),
                reason: reason.into(),
            })
            .inc();
    }

    /// Records one handler call's latency.
    pub fn invocation(&self, tenant: &str, seconds: f64) {
        self.invocation_seconds
            .get_or_create(&self::tenant(tenant))
            .observe(seconds);
    }

    /// Counts one new instance.
    pub fn instance(&self, tenant: &str, lifecycle: &str) {
        self.instances_created
            .get_or_create(&InstanceLabels {
                tenant: tenant.into(),
                lifecycle: lifecycle.into(),
            })
            .inc();
    }

    /// The registry in Prometheus text format.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

/// Labels for a tenant.
pub fn tenant(name: &str) -> TenantLabel {
    TenantLabel {
        tenant: name.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_encoded() {
        let m = Metrics::new();
        m.instance("t", "fresh");
        m.auth_failure("t", "expired");
        let text = m.encode();
        assert!(
            text.contains(r#"extws_instances_created_total{tenant="t",lifecycle="fresh"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"extws_auth_failures_total{tenant="t",reason="expired"} 1"#),
            "{text}"
        );
    }
}
