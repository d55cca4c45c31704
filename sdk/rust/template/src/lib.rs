//! {{name}}: an extws-wasm handler on the Rust SDK (extws-sdk/ holds the SDK, its README the API).
//!
//! `GreetRequest {"name": "..."}` -> `GreetResponse {"text": "..."}`. Add a message by writing
//! its request and reply structs and a function, and listing the function in `export!`.

use extws_sdk::{Error, Model, User};
use serde::{Deserialize, Serialize};

/// A request: its `Type` is the struct's name, its `Data` these fields.
#[derive(Deserialize, Model)]
struct GreetRequest {
    name: String,
}

/// The reply, `Type` `GreetResponse`.
#[derive(Serialize, Model)]
struct GreetResponse {
    text: String,
}

fn greet(req: GreetRequest, user: Option<User>) -> Result<GreetResponse, Error> {
    if req.name.trim().is_empty() {
        return Err(Error::new("name is empty"));
    }
    let by = user.map_or_else(|| "nobody".to_string(), |u| u.first_name);
    Ok(GreetResponse { text: format!("Hello, {}! (asked by {by})", req.name) })
}

extws_sdk::export!(greet);
