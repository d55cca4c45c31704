//! Shared harness of the integration tests: real servers on 127.0.0.1:0 running real
//! components from `target/guests/` (built by `make guests`), and real WebSocket clients.
//!
//! Everything is reachable as `common::NAME` (a test file says `use common::*;`); the files
//! only sort it by concern.
#![allow(dead_code)]

mod client;
mod eventually;
mod guests;
mod metrics;
mod process;
mod raw;
mod redis;
mod server;

pub mod fake_http;
pub mod fake_telegram;

// A test binary that uses nothing of one file would be told that glob is unused.
#[allow(unused_imports)]
pub use self::{
    client::*, eventually::*, guests::*, metrics::*, process::*, raw::*, redis::*, server::*,
};
