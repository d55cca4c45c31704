//! Bot updates into handlers. An [`Update`] from Telegram — posted to the tenant's
//! [`webhook`] or fetched by its [`polling`] task — becomes a message of `Type`
//! `telegram.<kind>` (`telegram.message`, `telegram.callback_query`,
//! `telegram.pre_checkout_query`, ...) to the components that claim that Type, with the
//! update's field as `Data` and its sender as `user`. Each update runs exactly once per tenant
//! ([`dedup`]: a lease, done after the handlers ran), whichever node or path it arrives by.
//!
//! A handler acts on an update through the `telegram` import (`answerPreCheckoutQuery`,
//! `sendMessage`, ...), which works the same in both modes and tells it the result; what it
//! returns is logged and dropped, since nobody is waiting for a reply.

pub mod dedup;
pub mod polling;
pub mod webhook;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;
use tracing::{Instrument, debug, info, info_span, warn};

use crate::auth::TelegramUser;
use crate::call::{self, Call, CallError};
use crate::capabilities::session::to_wit_user;
use crate::handlers::HandlerTable;
use crate::origin::Origin;
use crate::runtime::ConnectionInstances;
use crate::tenants::Tenant;
use dedup::Claim;

/// The prefix of every update `Type`.
pub const TYPE_PREFIX: &str = "telegram.";

/// The `Type` of a message that carries `successful_payment`, when a component claims it.
pub const SUCCESSFUL_PAYMENT: &str = "telegram.successful_payment";

/// Telegram's update kinds (the optional fields of `Update`) as of Bot API 9: metrics label
/// these by name and every other kind as `other`.
const KINDS: &[&str] = &[
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
    "successful_payment",
];

/// One update, parsed just enough to route it.
#[derive(Debug)]
pub struct Update {
    /// `update_id`.
    pub id: i64,
    /// The field that is set: `message`, `callback_query`, ...
    pub kind: String,
    /// That field's JSON object, the handler's `Data`.
    pub data: Box<RawValue>,
    /// Its `from` (or `user`), when it has one.
    pub from: Option<TelegramUser>,
    /// A `message` that carries `successful_payment`.
    pub successful_payment: bool,
}

impl Update {
    /// Parses an `Update` object. `Err` says what is wrong with it. `Data` is the update's
    /// field exactly as sent: `make fuzz` (`webhook`) found it re-serialized through
    /// `serde_json::Value`, which changed numbers (`-3.434206261684446e+280` arrived as
    /// `-3.4342062616844466e280`, an integer above `u64` as a float), and a sender dropped
    /// when the other of `from` and `user` was not a user.
    pub fn parse(json: &str) -> Result<Self, String> {
        // A repeated key: the last one counts (as it did through `serde_json::Map`).
        type Members = BTreeMap<String, Box<RawValue>>;
        let fields: Members =
            serde_json::from_str(json).map_err(|e| format!("not a JSON object: {e}"))?;
        let id = fields
            .get("update_id")
            .and_then(|v| serde_json::from_str::<i64>(v.get()).ok())
            .ok_or("no integer update_id")?;
        let (kind, value) = fields
            .iter()
            .find(|(k, v)| *k != "update_id" && v.get().starts_with('{'))
            .ok_or("no update field is set")?;
        let valid_kind =
            kind.len() <= 64 && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
        if kind.is_empty() || !valid_kind {
            return Err(format!("{kind:?} is not an update kind"));
        }
        let members: Members = serde_json::from_str(value.get()).unwrap_or_default();
        let user = |name: &str| {
            let raw = members.get(name)?;
            serde_json::from_str::<TelegramUser>(raw.get()).ok()
        };
        let paid = members
            .get("successful_payment")
            .is_some_and(|v| v.get() != "null");
        Ok(Self {
            id,
            successful_payment: kind == "message" && paid,
            from: user("from").or_else(|| user("user")),
            kind: kind.clone(),
            data: value.clone(),
        })
    }

    /// The `Type` it is delivered as in `routing`: `telegram.successful_payment` for a payment
    /// when a component claims that, else `telegram.<kind>`.
    pub fn msg_type(&self, routing: &HandlerTable) -> String {
        if self.successful_payment && !routing.for_type(SUCCESSFUL_PAYMENT).is_empty() {
            return SUCCESSFUL_PAYMENT.to_string();
        }
        format!("{TYPE_PREFIX}{}", self.kind)
    }
}

/// The label a kind is counted under: its name if Telegram defines it, else `other`.
pub fn kind_label(kind: &str) -> &str {
    if KINDS.contains(&kind) { kind } else { "other" }
}

/// The update kinds the components of `routing` claim, for `allowed_updates`
/// (`telegram.successful_payment` arrives as a `message`).
pub fn allowed_updates(routing: &HandlerTable) -> Vec<String> {
    let mut kinds: Vec<String> = routing
        .message_types()
        .into_iter()
        .filter_map(|t| t.strip_prefix(TYPE_PREFIX))
        .map(|k| match k {
            "successful_payment" => "message".to_string(),
            k => k.to_string(),
        })
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// What an operator should know about how `tenant` receives updates (printed by `check`,
/// logged by `serve`); `has_store`: the server has a state store to deduplicate with.
pub fn warnings(tenant: &Tenant, has_store: bool) -> Vec<String> {
    let mut out = Vec::new();
    let Some(updates) = &tenant.updates else {
        return out;
    };
    if allowed_updates(&tenant.handlers()).is_empty() {
        out.push(format!(
            "updates = {:?} but no component claims a telegram.* Type: every update is \
             acknowledged and dropped",
            updates.mode()
        ));
    }
    if !has_store {
        out.push(
            "no state store (--data-dir or --redis): an update Telegram sends twice runs twice"
                .into(),
        );
    }
    out
}

/// What became of an update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Every component that claims its Type ran it (a handler's failure is logged and
    /// counted, and the update is still done).
    Handled,
    /// It had run before: not run again.
    Duplicate,
    /// No component claims its Type: acknowledged, counted.
    Unclaimed,
    /// Not run here: the state store or every call slot was unavailable, or it is running
    /// elsewhere (its lease is held), so it must come again (the webhook answers 503, the
    /// poller asks for it again).
    Retry,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Handled => "handled",
            Outcome::Duplicate => "duplicate",
            Outcome::Unclaimed => "unclaimed",
            Outcome::Retry => "retry",
        }
    }
}

/// Runs `update` on the tenant's components that claim it, exactly once per tenant, within
/// the tenant's deadline (plus the time to claim it in the store).
pub async fn deliver(tenant: &Arc<Tenant>, update: &Update) -> Outcome {
    let span = info_span!("update", id = update.id, kind = %update.kind);
    let outcome = run(tenant, update).instrument(span).await;
    let kind = if update.successful_payment {
        "successful_payment"
    } else {
        kind_label(&update.kind)
    };
    tenant.metrics.update(&tenant.name, kind, outcome.as_str());
    outcome
}

async fn run(tenant: &Arc<Tenant>, update: &Update) -> Outcome {
    let table = tenant.handlers();
    let msg_type = update.msg_type(&table);
    if table.for_type(&msg_type).is_empty() {
        debug!(%msg_type, "no component claims this update");
        return Outcome::Unclaimed;
    }
    let run = match dedup::claim(tenant.store(), &tenant.name, update.id).await {
        Ok(Claim::Run(run)) => run,
        Ok(Claim::Duplicate) => {
            info!("already handled: not run again");
            return Outcome::Duplicate;
        }
        Ok(Claim::Busy) => {
            info!("being handled elsewhere (or its claim has not expired): leaving it for a retry");
            return Outcome::Retry;
        }
        Err(e) => {
            warn!(error = %e, "cannot claim the update: leaving it for a retry");
            return Outcome::Retry;
        }
    };
    let user = update.from.as_ref().map(to_wit_user);
    let call = Call {
        origin: Origin::Update {
            update_id: update.id,
        },
        msg_type: &msg_type,
        data: update.data.get(),
        user: user.as_ref(),
        init_data: None,
        connection: None,
    };
    let mut instances = ConnectionInstances::default();
    let answers = call::run(tenant, call, &mut instances).await;
    for answer in &answers {
        let component = answer.component.as_deref().unwrap_or("-");
        match &answer.result {
            Ok(reply) => {
                debug!(component, reply = %reply.msg_type, "handled (reply dropped)")
            }
            // Nothing ran: every call slot was taken and the queue full (admission comes
            // before any component runs).
            Err(CallError::Overloaded) => {
                warn!("no call slot: leaving the update for a retry");
                run.release().await;
                return Outcome::Retry;
            }
            Err(e) => info!(component, error = %e, "update handler failed"),
        }
    }
    run.done().await;
    Outcome::Handled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn updates_parse_to_their_kind_data_and_sender() {
        let u = Update::parse(
            r#"{"update_id":7,"callback_query":{"id":"q","from":{"id":42,"is_bot":false,"first_name":"A"},"data":"x"}}"#,
        )
        .unwrap();
        assert_eq!((u.id, u.kind.as_str()), (7, "callback_query"));
        assert_eq!(u.from.unwrap().id, 42);
        assert!(u.data.get().contains(r#""data":"x""#));
        assert!(!u.successful_payment);

        let paid = Update::parse(
            r#"{"update_id":8,"message":{"message_id":1,"from":{"id":5,"first_name":"B"},"successful_payment":{"currency":"XTR"}}}"#,
        )
        .unwrap();
        assert!(paid.successful_payment);

        let reaction =
            Update::parse(r#"{"update_id":9,"poll_answer":{"user":{"id":6,"first_name":"C"}}}"#)
                .unwrap();
        assert_eq!(reaction.from.unwrap().id, 6);

        for bad in [
            "[]",
            "{}",
            r#"{"update_id":"1","message":{}}"#,
            r#"{"update_id":1}"#,
            r#"{"update_id":1,"Bad-Kind":{}}"#,
        ] {
            assert!(Update::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(kind_label("message"), "message");
        assert_eq!(kind_label("something_new"), "other");
    }
}
