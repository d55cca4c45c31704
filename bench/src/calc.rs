//! The calc handler compiled into the `native` baseline: the same behaviour as the Rust guest
//! (`guest-examples/calc`, contract in `guest-examples/CONFORMANCE.md`), without a sandbox.

use extws_wasm::auth::TelegramUser;
use serde::Serialize;

const INVALID: &str = r#"invalid CalculateRequest: expected {"numbers": [integers]}"#;
const OVERFLOW: &str = "overflow: the sum does not fit in a signed 64-bit integer";

/// A reply: `Ok((Type, Data JSON))` or `Err(handler error message)`.
pub type Outcome = Result<(&'static str, String), String>;

/// Handles one request exactly as the calc guest does.
pub fn handle(msg_type: &str, data: &str, user: Option<&TelegramUser>) -> Outcome {
    match msg_type {
        "CalculateRequest" => calculate(data),
        "WhoAmIRequest" => who_am_i(user),
        other => Err(format!("calc does not handle {other}")),
    }
}

fn calculate(data: &str) -> Outcome {
    let numbers = parse_numbers(data).ok_or_else(|| INVALID.to_string())?;
    let sum = numbers
        .iter()
        .try_fold(0i64, |acc, n| acc.checked_add(*n))
        .ok_or_else(|| OVERFLOW.to_string())?;
    Ok(("CalculateResponse", format!(r#"{{"result":{sum}}}"#)))
}

fn parse_numbers(data: &str) -> Option<Vec<i64>> {
    let value: serde_json::Value = serde_json::from_str(data).ok()?;
    let numbers = value.as_object()?.get("numbers")?.as_array()?;
    numbers.iter().map(|n| n.as_i64()).collect()
}

#[derive(Serialize)]
struct WhoAmI<'a> {
    user: Option<&'a TelegramUser>,
}

fn who_am_i(user: Option<&TelegramUser>) -> Outcome {
    let data = serde_json::to_string(&WhoAmI { user }).map_err(|e| e.to_string())?;
    Ok(("WhoAmIResponse", data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_refuses_like_the_guest() {
        assert_eq!(
            handle("CalculateRequest", r#"{"numbers":[1,2,3]}"#, None),
            Ok(("CalculateResponse", r#"{"result":6}"#.to_string()))
        );
        assert_eq!(
            handle("CalculateRequest", r#"{"numbers":[1.5]}"#, None),
            Err(INVALID.to_string())
        );
        assert_eq!(
            handle(
                "CalculateRequest",
                r#"{"numbers":[9223372036854775807,1]}"#,
                None
            ),
            Err(OVERFLOW.to_string())
        );
        assert_eq!(
            handle("WhoAmIRequest", "null", None),
            Ok(("WhoAmIResponse", r#"{"user":null}"#.to_string()))
        );
    }
}
