//! Test guest `hoard`: tries every way to make the host store or send bytes (`Hoard`) and
//! reports how far it got and the host's first refusal. See README.md.
wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
use extws::handler::{kv, log, push};
use serde_json::{Value, json};

struct G;

fn push_error(e: push::PushError) -> String {
    match e {
        push::PushError::Unavailable(m) => format!("unavailable: {m}"),
        push::PushError::Invalid(m) => format!("invalid: {m}"),
    }
}

fn kv_error(e: kv::KvError) -> String {
    match e {
        kv::KvError::QuotaExceeded(m) => format!("quota-exceeded: {m}"),
        kv::KvError::Unavailable(m) => format!("unavailable: {m}"),
        kv::KvError::Invalid(m) => format!("invalid: {m}"),
    }
}

/// One attempt number `i`.
fn once(what: &str, i: u64, bytes: usize, user: i64, topic: &str) -> Result<(), String> {
    let payload = || format!("\"{}\"", "x".repeat(bytes.saturating_sub(2)));
    match what {
        "kv" => kv::set(&format!("k{i}"), &vec![b'x'; bytes], None).map_err(kv_error),
        "history" => push::send_to_user(user + i as i64, "Hoarded", &payload()).map_err(push_error),
        "user" => push::send_to_user(user, "Hoarded", &payload()).map_err(push_error),
        "publish" => push::publish(topic, "Hoarded", &payload()).map_err(push_error),
        "subscribe" => push::subscribe(&format!("t{i}")).map_err(push_error),
        "unsubscribe" => push::unsubscribe(&format!("t{i}")).map_err(push_error),
        "log" => {
            let line = "x".repeat(bytes);
            log::log(log::Level::Info, &line);
            eprintln!("{line}");
            Ok(())
        }
        other => Err(format!("unknown what {other:?}")),
    }
}

impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Hoard".into()]
    }

    fn handle(_: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let what = data["what"].as_str().unwrap_or_default();
        let n = data["n"].as_u64().unwrap_or(1);
        let bytes = data["bytes"].as_u64().unwrap_or(16) as usize;
        let user = data["user"].as_i64().unwrap_or(1);
        let topic = data["topic"].as_str().unwrap_or("t0");
        let mut ok = 0;
        let mut error = None;
        for i in 0..n {
            match once(what, i, bytes, user, topic) {
                Ok(()) => ok += 1,
                Err(e) => {
                    error = Some(e);
                    break;
                }
            }
        }
        Ok(Response {
            msg_type: "HoardResult".into(),
            data: json!({ "ok": ok, "error": error }).to_string(),
        })
    }
}
export!(G);
