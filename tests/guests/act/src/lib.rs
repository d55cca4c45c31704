//! Test guest `act`: a handler that acts in the world.
//! - `Telegram` `{"method": M, "params": {...}}` calls the Bot API through the `telegram`
//!   import and answers `TelegramResult` `{"result": ...}` or `{"error": {"kind": ..., ...}}`.
//! - `Fetch` `{"url": U, "follow": N}` GETs `U` over `wasi:http`, following up to N redirects
//!   itself (each hop a new request the host checks), and answers `FetchResult`
//!   `{"status", "body", "hops"}` or `{"error": "..."}` with the host's error code. It uses the
//!   `wasip2` bindings step by step, so a refusal is reported as the host gave it: `wstd`
//!   sends the body and awaits the response at once, and when the host refuses a request its
//!   body stream closing may be reported first, as "connection reset".
//! - `FetchWstd` `{"url": U}` does the same GET with `wstd` (an ordinary client), for the
//!   successful path.
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

/// One GET with the wasip2 bindings: status, `Location`, body.
fn get(url: &wstd::http::Uri) -> Result<(u16, Option<String>, String), String> {
    use wasip2::http::outgoing_handler;
    use wasip2::http::types::{Fields, Method, OutgoingBody, OutgoingRequest, Scheme};
    use wasip2::io::streams::StreamError;
    let request = OutgoingRequest::new(Fields::new());
    let _ = request.set_method(&Method::Get);
    let scheme = match url.scheme_str() {
        Some("https") => Scheme::Https,
        _ => Scheme::Http,
    };
    let _ = request.set_scheme(Some(&scheme));
    let _ = request.set_authority(url.authority().map(|a| a.as_str()));
    let _ = request.set_path_with_query(url.path_and_query().map(|p| p.as_str()));
    let body = request.body().map_err(|_| "no body")?;
    let response = outgoing_handler::handle(request, None).map_err(|e| format!("{e:?}"))?;
    // No body to send; a refused request has nobody reading it, so this may fail: the
    // response says why.
    let _ = OutgoingBody::finish(body, None);
    response.subscribe().block();
    let response = response
        .get()
        .ok_or("no response")?
        .map_err(|_| "response taken twice")?
        .map_err(|e| format!("{e:?}"))?;
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .first()
        .map(|l| String::from_utf8_lossy(l).into_owned());
    let incoming = response.consume().map_err(|_| "no body")?;
    let stream = incoming.stream().map_err(|_| "no body stream")?;
    let mut bytes = Vec::new();
    loop {
        match stream.blocking_read(64 * 1024) {
            Ok(chunk) => bytes.extend(chunk),
            Err(StreamError::Closed) => break,
            Err(StreamError::LastOperationFailed(e)) => return Err(e.to_debug_string()),
        }
    }
    Ok((
        status,
        location,
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

fn fetch(url: &str, follow: u64) -> Result<Value, String> {
    let mut url: wstd::http::Uri = url.parse().map_err(|e| format!("bad url: {e}"))?;
    let mut hops = 0;
    loop {
        let (status, location, body) = get(&url)?;
        if (300..400).contains(&status) && hops < follow {
            let location = location.ok_or("redirect without Location")?;
            url = location.parse().map_err(|e| format!("bad Location: {e}"))?;
            hops += 1;
            continue;
        }
        return Ok(json!({ "status": status, "body": body, "hops": hops }));
    }
}

async fn fetch_wstd(url: &str, follow: u64) -> Result<Value, String> {
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
        vec![
            "Telegram".into(),
            "Fetch".into(),
            "FetchWstd".into(),
            "Environment".into(),
        ]
    }

    fn handle(t: String, data: String, _: Option<User>) -> Result<Response, HandlerError> {
        let data: Value = serde_json::from_str(&data).unwrap_or(Value::Null);
        let reply = match t.as_str() {
            "Telegram" => telegram_call(&data),
            "Fetch" | "FetchWstd" => {
                let url = data["url"].as_str().unwrap_or_default().to_string();
                let follow = data["follow"].as_u64().unwrap_or(0);
                let fetched = if t == "Fetch" {
                    fetch(&url, follow)
                } else {
                    wstd::runtime::block_on(fetch_wstd(&url, follow))
                };
                fetched.unwrap_or_else(|e| json!({ "error": e }))
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
