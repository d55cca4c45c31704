//! Test guest `act`: a handler that acts in the world.
//! - `Telegram` `{"method": M, "params": {...}}` calls the Bot API through the `telegram`
//!   import and answers `TelegramResult` `{"result": ...}` or `{"error": {"kind": ..., ...}}`.
//! - `Fetch` `{"url": U, "follow": N}` GETs `U` over `wasi:http` with `wstd` (an ordinary
//!   client), following up to N redirects itself (each hop a new request the host checks), and
//!   answers `FetchResult` `{"status", "body", "hops"}` or `{"error": "..."}`.
//! - `Environment` answers everything the guest can see of its environment (variables,
//!   arguments), so a test can check that no secret is among it.
use serde_json::{Value, json};

wit_bindgen::generate!({ world: "handler", path: "../../../wit" });
use extws::handler::telegram::{self, TelegramError};

struct G;

fn telegram_call(data: &Value) -> Value {
    let method = data["method"].as_str().unwrap_or_default();
    let params = data.get("params").cloned().unwrap_or(json!({})).to_string();
    match telegram::call(method, &params) {
        Ok(result) => {
            json!({ "result": serde_json::from_str::<Value>(&result).unwrap_or(Value::Null) })
        }
        Err(e) => json!({ "error": match e {
            TelegramError::Denied(m) => json!({"kind": "denied", "message": m}),
            TelegramError::Api(a) => json!({"kind": "api", "code": a.code,
                "description": a.description, "retry_after": a.retry_after}),
            TelegramError::RateLimited(s) => json!({"kind": "rate_limited", "seconds": s}),
            TelegramError::Unavailable(m) => json!({"kind": "unavailable", "message": m}),
            TelegramError::Invalid(m) => json!({"kind": "invalid", "message": m}),
        }}),
    }
}

async fn fetch(url: &str, follow: u64) -> Result<Value, String> {
    let client = wstd::http::Client::new();
    let mut url: wstd::http::Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
    let mut hops = 0;
    loop {
        let request = wstd::http::Request::get(url.clone())
            .body(wstd::http::Body::empty())
            .map_err(|e| e.to_string())?;
        let mut response = client.send(request).await.map_err(|e| format!("{e:?}"))?;
        let status = response.status();
        if status.is_redirection() && hops < follow {
            let location = response
                .headers()
                .get("location")
                .and_then(|l| l.to_str().ok())
                .ok_or("redirect without Location")?;
            url = location.parse().map_err(|e| format!("bad Location: {e}"))?;
            hops += 1;
            continue;
        }
        let body = response
            .body_mut()
            .str_contents()
            .await
            .map_err(|e| format!("{e:?}"))?
            .to_string();
        return Ok(json!({ "status": status.as_u16(), "body": body, "hops": hops }));
    }
}

impl Guest for G {
    fn message_types() -> Vec<String> {
        vec!["Telegram".into(), "Fetch".into(), "Environment".into()]
    }

    fn handle(t: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let reply = match t.as_str() {
            "Telegram" => telegram_call(&data),
            "Fetch" => {
                let url = data["url"].as_str().unwrap_or_default().to_string();
                let follow = data["follow"].as_u64().unwrap_or(0);
                match wstd::runtime::block_on(fetch(&url, follow)) {
                    Ok(v) => v,
                    Err(e) => json!({ "error": e }),
                }
            }
            _ => json!({
                "env": std::env::vars().collect::<Vec<_>>(),
                "args": std::env::args().collect::<Vec<_>>(),
            }),
        };
        Ok(Response {
            msg_type: format!("{t}Result"),
            data: reply.to_string(),
        })
    }
}
export!(G);
