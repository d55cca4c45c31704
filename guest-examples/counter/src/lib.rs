//! The counter example on the Rust SDK: a per-user counter in the tenant's key-value store, whose
//! new value is broadcast to everyone subscribed to the `counter` topic; presence through hooks.
//!
//! - `IncrementRequest {"by": n}` (default 1) → `IncrementResponse {"count": c}` and a push
//!   `CounterChanged {"user": id, "count": c}` to topic `counter`.
//! - `GetCountRequest {}` → `GetCountResponse {"count": c}`.
//! - `SubscribeRequest {}` → subscribes this connection to `counter`.
//! - `NotifyUserRequest {"user": id, "text": "..."}` → pushes `Notice {"text": ...}` to that
//!   user's connections (on any server).
//! - `PresenceRequest {}` → `PresenceResponse {"online": n}` (connections open, via hooks).

use extws_sdk::{Error, Model, User, kv, push};
use serde::{Deserialize, Serialize};

const TOPIC: &str = "counter";

#[derive(Deserialize, Model)]
struct IncrementRequest {
    by: Option<i64>,
}

#[derive(Serialize, Model)]
struct IncrementResponse {
    count: i64,
}

#[derive(Serialize, Model)]
struct CounterChanged {
    user: i64,
    count: i64,
}

#[derive(Deserialize, Model)]
struct GetCountRequest {}

#[derive(Serialize, Model)]
struct GetCountResponse {
    count: i64,
}

#[derive(Deserialize, Model)]
struct SubscribeRequest {}

#[derive(Serialize, Model)]
struct SubscribeResponse {
    topic: &'static str,
}

#[derive(Deserialize, Model)]
struct NotifyUserRequest {
    user: i64,
    text: Option<String>,
}

#[derive(Serialize, Model)]
struct Notice {
    text: Option<String>,
}

#[derive(Serialize, Model)]
struct NotifyUserResponse {
    sent: bool,
}

#[derive(Deserialize, Model)]
struct PresenceRequest {}

#[derive(Serialize, Model)]
struct PresenceResponse {
    online: i64,
}

fn signed_in(user: Option<User>) -> Result<i64, Error> {
    user.map(|u| u.id)
        .ok_or_else(|| Error::new("the counter needs an authenticated user"))
}

fn increment(req: IncrementRequest, user: Option<User>) -> Result<IncrementResponse, Error> {
    let user = signed_in(user)?;
    let count = kv::increment(&format!("count:{user}"), req.by.unwrap_or(1))?;
    push::publish(TOPIC, &CounterChanged { user, count })?;
    Ok(IncrementResponse { count })
}

fn get_count(_: GetCountRequest, user: Option<User>) -> Result<GetCountResponse, Error> {
    let count = kv::get(&format!("count:{}", signed_in(user)?))?;
    Ok(GetCountResponse {
        count: count.unwrap_or(0),
    })
}

fn subscribe(_: SubscribeRequest) -> Result<SubscribeResponse, Error> {
    push::subscribe(TOPIC)?;
    Ok(SubscribeResponse { topic: TOPIC })
}

fn notify_user(req: NotifyUserRequest) -> Result<NotifyUserResponse, Error> {
    push::to_user(req.user, &Notice { text: req.text })?;
    Ok(NotifyUserResponse { sent: true })
}

fn presence(_: PresenceRequest) -> Result<PresenceResponse, Error> {
    Ok(PresenceResponse {
        online: kv::get("presence:online")?.unwrap_or(0),
    })
}

fn joined(_: Option<User>) {
    let _ = kv::increment("presence:online", 1);
}

fn left(_: Option<User>) {
    let _ = kv::increment("presence:online", -1);
}

extws_sdk::export! {
    handlers: [increment, get_count, subscribe, notify_user, presence],
    on_connect: joined,
    on_disconnect: left,
    pushes: [CounterChanged, Notice],
}
