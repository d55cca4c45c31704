//! The calc example on the Rust SDK: guest-examples/CONFORMANCE.md in one function per message.
use extws_sdk::{Error, Model, User};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, Model)]
struct CalculateRequest {
    numbers: Vec<i64>,
}

#[derive(Serialize, Model)]
struct CalculateResponse {
    result: i64,
}

#[derive(Deserialize, Model)]
struct WhoAmIRequest {}

#[derive(Serialize, Model)]
struct WhoAmIResponse {
    user: Option<User>,
}

fn calculate(req: CalculateRequest) -> Result<CalculateResponse, Error> {
    let sum = req
        .numbers
        .iter()
        .try_fold(0i64, |sum, n| sum.checked_add(*n));
    let overflow = || Error::new("overflow: the sum does not fit in a signed 64-bit integer");
    Ok(CalculateResponse {
        result: sum.ok_or_else(overflow)?,
    })
}

fn who_am_i(_: WhoAmIRequest, user: Option<User>) -> Result<WhoAmIResponse, Error> {
    Ok(WhoAmIResponse { user })
}

extws_sdk::export!(calculate, who_am_i);
