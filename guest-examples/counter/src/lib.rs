//! The counter example: a per-user counter in the tenant's key-value store, whose new value is
//! broadcast to everyone subscribed to the `counter` topic; presence through lifecycle hooks.
//!
//! Requests:
//! - `IncrementRequest {"by": n}` (default 1) → `IncrementResponse {"count": c}` and a push
//!   `CounterChanged {"user": id, "count": c}` to topic `counter`.
//! - `GetCountRequest {}` → `GetCountResponse {"count": c}`.
//! - `SubscribeRequest {}` → subscribes this connection to `counter`.
//! - `NotifyUserRequest {"user": id, "text": "..."}` → pushes `Notice {"text": ...}` to that
//!   user's connections (on any server).
//! - `PresenceRequest {}` → `PresenceResponse {"online": n}` (connections open, via hooks).

wit_bindgen::generate!({
    world: "handler-with-hooks",
    path: "../../wit",
});

use extws::handler::{kv, push};

struct Counter;

const TOPIC: &str = "counter";

fn error(message: String) -> HandlerError {
    HandlerError {
        message,
        close_connection: false,
        close_code: None,
    }
}

fn kv_error(e: kv::KvError) -> HandlerError {
    error(match e {
        kv::KvError::QuotaExceeded(m) => format!("quota exceeded: {m}"),
        kv::KvError::Unavailable(m) => format!("store unavailable: {m}"),
        kv::KvError::Invalid(m) => format!("invalid: {m}"),
    })
}

fn push_error(e: push::PushError) -> HandlerError {
    error(match e {
        push::PushError::Unavailable(m) => format!("push unavailable: {m}"),
        push::PushError::Invalid(m) => format!("invalid push: {m}"),
    })
}

fn reply(msg_type: &str, data: serde_json::Value) -> Result<Response, HandlerError> {
    Ok(Response {
        msg_type: msg_type.into(),
        data: data.to_string(),
    })
}

fn user_id(user: &Option<User>) -> Result<i64, HandlerError> {
    user.as_ref()
        .map(|u| u.id)
        .ok_or_else(|| error("the counter needs an authenticated user".into()))
}

impl Guest for Counter {
    fn message_types() -> Vec<String> {
        [
            "IncrementRequest",
            "GetCountRequest",
            "SubscribeRequest",
            "NotifyUserRequest",
            "PresenceRequest",
        ]
        .map(String::from)
        .to_vec()
    }

    fn handle(
        msg_type: String,
        data: String,
        user: Option<User>,
    ) -> Result<Response, HandlerError> {
        let data: serde_json::Value = serde_json::from_str(&data).unwrap_or_default();
        match msg_type.as_str() {
            "IncrementRequest" => {
                let id = user_id(&user)?;
                let by = data["by"].as_i64().unwrap_or(1);
                let count = kv::increment(&format!("count:{id}"), by).map_err(kv_error)?;
                let event = serde_json::json!({"user": id, "count": count});
                push::publish(TOPIC, "CounterChanged", &event.to_string()).map_err(push_error)?;
                reply("IncrementResponse", serde_json::json!({"count": count}))
            }
            "GetCountRequest" => {
                let id = user_id(&user)?;
                let value = kv::get(&format!("count:{id}")).map_err(kv_error)?;
                let count: i64 = value
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                reply("GetCountResponse", serde_json::json!({"count": count}))
            }
            "SubscribeRequest" => {
                push::subscribe(TOPIC).map_err(push_error)?;
                reply("SubscribeResponse", serde_json::json!({"topic": TOPIC}))
            }
            "NotifyUserRequest" => {
                let target = data["user"]
                    .as_i64()
                    .ok_or_else(|| error("NotifyUserRequest needs a numeric \"user\"".into()))?;
                let notice = serde_json::json!({"text": data["text"]});
                push::send_to_user(target, "Notice", &notice.to_string()).map_err(push_error)?;
                reply("NotifyUserResponse", serde_json::json!({"sent": true}))
            }
            "PresenceRequest" => {
                let online = kv::get("presence:online")
                    .map_err(kv_error)?
                    .and_then(|v| String::from_utf8(v).ok())
                    .and_then(|s| s.parse::<i64>().ok())
                    .unwrap_or(0);
                reply("PresenceResponse", serde_json::json!({"online": online}))
            }
            other => Err(error(format!("counter does not handle {other}"))),
        }
    }

    fn on_connect(_user: Option<User>) {
        let _ = kv::increment("presence:online", 1);
    }

    fn on_disconnect(_user: Option<User>) {
        let _ = kv::increment("presence:online", -1);
    }
}

export!(Counter);
