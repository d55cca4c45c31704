//! Server push (`push` import) with reply models: the pushed `Type` is the model's name.

use crate::bindings::extws::handler::push;
use crate::{Reply, Result};

/// Sends `message` to every open connection of user `user_id` in this tenant, on every node.
pub fn to_user<M: Reply>(user_id: i64, message: &M) -> Result<()> {
    let data = serde_json::to_string(message)?;
    Ok(push::send_to_user(user_id, M::TYPE, &data)?)
}

/// Sends `message` to every connection subscribed to `topic`.
pub fn publish<M: Reply>(topic: &str, message: &M) -> Result<()> {
    let data = serde_json::to_string(message)?;
    Ok(push::publish(topic, M::TYPE, &data)?)
}

/// Subscribes the calling connection to `topic`.
pub fn subscribe(topic: &str) -> Result<()> {
    Ok(push::subscribe(topic)?)
}

/// Unsubscribes the calling connection from `topic`.
pub fn unsubscribe(topic: &str) -> Result<()> {
    Ok(push::unsubscribe(topic)?)
}
