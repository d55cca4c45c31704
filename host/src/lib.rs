//! extws-wasm: a WebSocket server for Telegram Mini Apps whose message handlers are sandboxed
//! WebAssembly components.
//!
//! Layout (each module owns one concern):
//!
//! * [`cli`] — the command line; its doc comments are `--help`.
//! * [`config`] — flags turned into one validated [`Config`] of tenants and pool sizes.
//! * [`server`] — [`Prepared`] (compile and check everything) and [`run`] (accept loop,
//!   graceful shutdown, the `listening on ws://ADDR` line).
//! * [`connection`] — the handshake (tenant routing, auth → HTTP 401 before the upgrade) and the
//!   per-connection message loop.
//! * [`http`] — plain HTTP on the same port: `/healthz`, `/readyz`, `/metrics`, static files.
//! * [`metrics`] — Prometheus metrics per tenant.
//! * [`state`] — the key-value store (embedded redb or Redis), quotas, TTL.
//! * [`push`] — server push: the hub of this server's connections and the bus between servers.
//! * [`envelope`] — the `{"Type","Data","Id"}` JSON in and out, `HandlerException` envelopes.
//! * [`auth`] — initData transports and sessions; [`auth::telegram`] is the pure validator.
//! * [`tenants`] — each tenant's route, auth, limits and admission (concurrency, connections).
//! * [`routing`] — `Type` → component tables, swapped atomically by hot reload (`--watch`).
//! * [`runtime`] — wasmtime: engine and pool settings, `bindgen!` bindings, host imports,
//!   limits, and invoking one component.
//! * [`tools`] — the one-shot subcommands `call` and `sign-init-data`.
//! * [`componentize`] — core module + WIT → component (`componentize` subcommand).
//! * [`scaffold`] — `new`: a handler project from the example in a language.

pub mod auth;
pub mod cli;
pub mod componentize;
pub mod config;
pub mod connection;
pub mod envelope;
pub mod http;
pub mod metrics;
pub mod push;
pub mod routing;
pub mod runtime;
pub mod scaffold;
pub mod server;
pub mod state;
pub mod tenants;
pub mod tools;

pub use config::Config;
pub use server::{Prepared, run};
