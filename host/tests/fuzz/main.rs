//! Property-based fuzzing (proptest, stable Rust) of the places untrusted bytes enter: the
//! envelope parser, the initData validator (against an oracle written from Telegram's
//! documented algorithm), the first-message `Auth` path, a bot update's body, the `extws.toml`
//! parser and the frame path of a live server.
//!
//! Each target is an ignored test run by `make fuzz` for `FUZZ_SECONDS` (default 60) and
//! reports its executions and findings ([`driver`]). What a run found stays here as ordinary
//! tests (the minimized input inlined, with what it found), which run in `make test`.

mod auth_message;
#[path = "../common/mod.rs"]
mod common;
mod config;
mod driver;
mod envelope;
mod frames;
mod init_data;
mod json;
mod webhook;
