//! The `push` import: messages to a user's connections or a topic's subscribers, on every
//! server of the tenant, and this connection's topic subscriptions. Denied (as `unavailable`)
//! when the server has no state and push. With push history on, a user push is appended to
//! the user's history (which assigns its `Seq`) and delivered from there.

use std::sync::Arc;

use super::super::bindings::extws::handler::push;
use super::{HostState, StateAccess};
use crate::push::{PushError, Target, check_topic};

fn to_wit(e: PushError) -> push::PushError {
    match e {
        PushError::Unavailable(m) => push::PushError::Unavailable(m),
        PushError::Invalid(m) => push::PushError::Invalid(m),
    }
}

/// Publishes one push. Takes the state owned: nothing of the store is held across the await
/// (the store is not `Sync`).
async fn push_to(
    (state, tenant): (StateAccess, Arc<str>),
    target: Target,
    msg_type: String,
    data: String,
) -> Result<(), push::PushError> {
    state
        .bus
        .push(&tenant, &target, &msg_type, &data)
        .await
        .map_err(to_wit)
}

impl HostState {
    fn subscription(&self, topic: String, on: bool) -> Result<(), push::PushError> {
        let (state, _) = self.state(push::PushError::Unavailable)?;
        let Some(id) = self.caller.connection else {
            return Err(push::PushError::Invalid(
                "no connection to subscribe".into(),
            ));
        };
        check_topic(&topic).map_err(to_wit)?;
        state.bus.hub().subscribe(id, &topic, on);
        Ok(())
    }
}

impl push::Host for HostState {
    async fn send_to_user(
        &mut self,
        user_id: i64,
        msg_type: String,
        data: String,
    ) -> Result<(), push::PushError> {
        let (state, tenant) = self.state(push::PushError::Unavailable)?;
        if !state.push_history.enabled() {
            return push_to((state, tenant), Target::User(user_id), msg_type, data).await;
        }
        // Sequenced: stored in the history, then delivered with its Seq.
        let mut head = crate::push::envelope(&msg_type, &data).map_err(to_wit)?;
        head.pop(); // the closing brace: the history adds `,"Seq":N}`
        state
            .history
            .append(&tenant, user_id, head, state.push_history)
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
        let state = self.state(push::PushError::Unavailable)?;
        push_to(state, Target::Topic(topic), msg_type, data).await
    }

    async fn subscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, true)
    }

    async fn unsubscribe(&mut self, topic: String) -> Result<(), push::PushError> {
        self.subscription(topic, false)
    }
}
