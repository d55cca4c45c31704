//! The `push` import: messages to a user's connections or a topic's subscribers, on every
//! server of the tenant, and this connection's topic subscriptions. Denied (as `unavailable`)
//! when the server has no state and push. With push history on, a user push is appended to
//! the user's history (which assigns its `Seq`) and delivered from there. Every push is held
//! to the tenant's [`Ledger`](crate::capabilities::ledger::Ledger) (its whole frame, `Seq`
//! included) before it is stored or sent, and every subscription to its topic count.

use super::{PushError, PushGrant, Target, check_topic, envelope};
use crate::capabilities::{Ctx, NO_STATE_STORE};
use crate::wit::extws::handler::push;

fn to_wit(e: PushError) -> push::PushError {
    match e {
        PushError::Unavailable(m) => push::PushError::Unavailable(m),
        PushError::Invalid(m) => push::PushError::Invalid(m),
    }
}

impl Ctx<'_, PushGrant> {
    /// The grant and the tenant, or `unavailable` when the server has no push.
    fn grant(&self) -> Result<(&PushGrant, &str), push::PushError> {
        self.granted(|| push::PushError::Unavailable(NO_STATE_STORE.into()))
    }

    fn subscription(&self, topic: String, on: bool) -> Result<(), push::PushError> {
        let (grant, _) = self.grant()?;
        let Some(id) = self.caller.connection else {
            return Err(push::PushError::Invalid(
                "no connection to subscribe".into(),
            ));
        };
        check_topic(&topic).map_err(to_wit)?;
        let ledger = grant.ledger;
        grant
            .bus
            .hub()
            .subscribe(id, &topic, on, |subscribed| ledger.subscribe(subscribed))
            .map_err(|e| push::PushError::Invalid(e.to_string()))
    }

    /// The envelope of a push, or `invalid` when its frame (with a `Seq` when `sequenced`)
    /// would be over the tenant's frame limit.
    fn envelope(
        grant: &PushGrant,
        msg_type: &str,
        data: &str,
        sequenced: bool,
    ) -> Result<String, push::PushError> {
        let envelope = envelope(msg_type, data).map_err(to_wit)?;
        grant
            .ledger
            .push(&envelope, sequenced)
            .map_err(|e| push::PushError::Invalid(e.to_string()))?;
        Ok(envelope)
    }
}

impl push::Host for Ctx<'_, PushGrant> {
    async fn send_to_user(
        &mut self,
        user_id: i64,
        msg_type: String,
        data: String,
    ) -> Result<(), push::PushError> {
        let (grant, tenant) = self.grant()?;
        let sequenced = grant.history_policy.enabled();
        let mut head = Self::envelope(grant, &msg_type, &data, sequenced)?;
        if !sequenced {
            let target = Target::User(user_id);
            return grant
                .bus
                .publish(tenant, &target, head)
                .await
                .map_err(to_wit);
        }
        // Sequenced: stored in the history, then delivered with its Seq.
        head.pop(); // the closing brace: the history adds `,"Seq":N}`
        grant
            .history
            .append(tenant, user_id, head, grant.history_policy)
            .await
            .map(|_| ())
            .map_err(to_wit)
    }

    async fn publish(
        &mut self,
        topic: String,
        msg_type: String,
        data: String,
    ) -> Result<(), push::PushError> {
        check_topic(&topic).map_err(to_wit)?;
        let (grant, tenant) = self.grant()?;
        let envelope = Self::envelope(grant, &msg_type, &data, false)?;
        let target = Target::Topic(topic);
        grant
            .bus
            .publish(tenant, &target, envelope)
            .await
            .map_err(to_wit)
    }

    async fn subscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, true)
    }

    async fn unsubscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, false)
    }
}
