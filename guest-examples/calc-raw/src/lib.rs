//! The calc example handler: sums numbers and tells the caller who they are.
//!
//! Its exact behaviour is the contract in `guest-examples/CONFORMANCE.md`, shared by the same
//! example in every guest language.

wit_bindgen::generate!({
    world: "handler",
    path: "../../wit",
});

use serde::Serialize;

struct Calc;

const INVALID: &str = r#"invalid CalculateRequest: expected {"numbers": [integers]}"#;
const OVERFLOW: &str = "overflow: the sum does not fit in a signed 64-bit integer";

impl Guest for Calc {
    fn message_types() -> Vec<String> {
        vec!["CalculateRequest".into(), "WhoAmIRequest".into()]
    }

    fn handle(
        msg_type: String,
        data: String,
        user: Option<User>,
    ) -> Result<Response, HandlerError> {
        match msg_type.as_str() {
            "CalculateRequest" => calculate(&data),
            "WhoAmIRequest" => who_am_i(user.as_ref()),
            other => Err(error(format!("calc does not handle {other}"))),
        }
    }
}

fn calculate(data: &str) -> Result<Response, HandlerError> {
    let numbers = parse_numbers(data).ok_or_else(|| error(INVALID.into()))?;
    let sum = numbers
        .iter()
        .try_fold(0i64, |acc, n| acc.checked_add(*n))
        .ok_or_else(|| error(OVERFLOW.into()))?;
    Ok(Response {
        msg_type: "CalculateResponse".into(),
        data: format!(r#"{{"result":{sum}}}"#),
    })
}

/// `{"numbers": [i64, ...]}`, or None when the request does not have that shape.
fn parse_numbers(data: &str) -> Option<Vec<i64>> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let numbers = value.as_object()?.get("numbers")?.as_array()?;
    numbers.iter().map(|n| n.as_i64()).collect()
}

/// Telegram's WebAppUser field names, in the contract's order; absent fields are omitted.
#[derive(Serialize)]
struct UserJson<'a> {
    id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_bot: Option<bool>,
    first_name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    language_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    is_premium: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    added_to_attachment_menu: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allows_write_to_pm: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    photo_url: Option<&'a str>,
}

#[derive(Serialize)]
struct WhoAmI<'a> {
    user: Option<UserJson<'a>>,
}

fn who_am_i(user: Option<&User>) -> Result<Response, HandlerError> {
    let user = user.map(|u| UserJson {
        id: u.id,
        is_bot: u.is_bot,
        first_name: &u.first_name,
        last_name: u.last_name.as_deref(),
        username: u.username.as_deref(),
        language_code: u.language_code.as_deref(),
        is_premium: u.is_premium,
        added_to_attachment_menu: u.added_to_attachment_menu,
        allows_write_to_pm: u.allows_write_to_pm,
        photo_url: u.photo_url.as_deref(),
    });
    let data = serde_json::to_string(&WhoAmI { user }).map_err(|e| error(e.to_string()))?;
    Ok(Response {
        msg_type: "WhoAmIResponse".into(),
        data,
    })
}

fn error(message: String) -> HandlerError {
    HandlerError {
        message,
        close_connection: false,
        close_code: None,
    }
}

export!(Calc);
