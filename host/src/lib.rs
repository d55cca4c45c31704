//! extws-wasm: a WebSocket server for Telegram Mini Apps whose message handlers are sandboxed
//! WebAssembly components.
//!
//! Layout, in layers: each module depends only on modules listed below it, never up
//! (`host/tests/layout.rs` checks it). `docs/architecture.md` walks one message through them.
//!
//! **Commands** — what `main.rs` runs besides `serve`:
//!
//! * [`tools`] — the one-shot subcommands `call`, `describe`, `check`, `sign-init-data` and
//!   `telegram` (a tenant's webhook at Telegram).
//! * [`scaffold`] — `new`: a handler project from the example in a language.
//! * [`componentize`] — core module + WIT → component (`componentize` subcommand).
//!
//! **Edge** — the listening port:
//!
//! * [`server`] — [`Prepared`] (compile and check everything), [`run`] (accept loop, reload,
//!   bounded graceful shutdown, the `listening on ws://ADDR` line).
//! * [`watch`] — `--watch`: reload a component when its file changes.
//! * [`gateway`] — the request head, read once: plain HTTP, a webhook, or an upgrade admitted
//!   to a tenant (route, auth → HTTP 401 before the upgrade, connection slot), or a refusal.
//! * [`updates`] — bot updates (webhook or `getUpdates` polling) into the one call path as
//!   origin `Update`, at most once per tenant.
//! * [`web`] — plain HTTP on the same port: `/healthz`, `/readyz`, `/metrics`, static files.
//!
//! **Connection** — one upgraded WebSocket:
//!
//! * [`connection`] — the connection's loop: socket, timers, pushes, shutdown.
//! * [`connect`] — where authentication ends (handshake or first message): the connection is
//!   registered for pushes and its hooks run before the client can see it is connected.
//! * [`dispatch`] — an authenticated connection's frame in, replies and close out; no sockets.
//!
//! **Call** — the one way a `Type` reaches a component:
//!
//! * [`call`] — origin policy, handlers, schema, admission, invocation, metrics, in one order.
//!
//! **Tenants**:
//!
//! * [`tenants`] — each tenant's route, auth, limits, capabilities and admission.
//! * [`handlers`] — a tenant's `Type` → component table, swapped atomically by hot reload.
//! * [`config`] — flags and `extws.toml` turned into one validated [`Config`].
//! * [`cli`] — the command line's types; their doc comments are `--help`.
//!
//! **Sandbox** — wasmtime, which knows nothing of sockets, envelopes or metrics:
//!
//! * [`runtime`] — engine, linker, lifecycles, invocation under a deadline, the store's state.
//! * [`api`] — a component's self-description (`describe`): JSON Schema per `Type`, checked
//!   before an instance is created, and TypeScript declarations for `clients/js`.
//!
//! **Capabilities** — what a guest may do beyond computing, one folder each:
//!
//! * [`capabilities`] — kv, push (with its history and resume), telegram, http, session and
//!   log: settings → an immutable grant, the WIT host side, limits.
//!
//! **Infrastructure**:
//!
//! * [`state`] — the key-value store's backends: embedded redb or Redis.
//! * [`auth`] — initData transports and sessions; [`auth::telegram`] is the pure validator.
//! * [`metrics`] — Prometheus metrics per tenant, one registry per server.
//! * [`shutdown`] — the [`shutdown::Shutdown`] signal every connection listens to.
//! * [`envelope`] — the `{"Type","Data","Id"}` JSON in and out, `HandlerException` envelopes.
//! * [`origin`] — where a call comes from, and the `Type` namespaces reserved to each origin.
//! * [`wit`] — the bindings of `wit/handler.wit` (wasmtime's `bindgen!`).

pub mod api;
pub mod auth;
pub mod call;
pub mod capabilities;
pub mod cli;
pub mod componentize;
pub mod config;
pub mod connect;
pub mod connection;
pub mod dispatch;
pub mod envelope;
pub mod gateway;
pub mod handlers;
pub mod metrics;
pub mod origin;
pub mod runtime;
pub mod scaffold;
pub mod server;
pub mod shutdown;
pub mod state;
pub mod tenants;
pub mod tools;
pub mod updates;
pub mod watch;
pub mod web;
pub mod wit;

pub use config::Config;
pub use server::{Prepared, run};
