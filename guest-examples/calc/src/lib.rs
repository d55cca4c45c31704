//! The calc example on the Rust SDK: guest-examples/CONFORMANCE.md, one function per message.
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
const OVERFLOW: &str = "overflow: the sum does not fit in a signed 64-bit integer";

fn calculate(req: CalculateRequest) -> Result<CalculateResponse, Error> {
    let sum = req.numbers.into_iter().try_fold(0, i64::checked_add);
    let result = sum.ok_or(Error::new(OVERFLOW))?;
    Ok(CalculateResponse { result })
}

fn who_am_i(_: WhoAmIRequest, user: Option<User>) -> Result<WhoAmIResponse, Error> {
    Ok(WhoAmIResponse { user })
}

extws_sdk::export!(calculate, who_am_i);
