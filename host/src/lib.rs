//! extws-wasm: a WebSocket server for Telegram Mini Apps whose message handlers are sandboxed
//! WebAssembly components.
//!
//! Layout (each module owns one concern; dependencies point down this list, never up):
//!
//! * [`cli`] — the command line; its doc comments are `--help`. CLI types stay here.
//! * [`config`] — flags and `extws.toml` turned into one validated [`Config`].
//! * [`server`] — [`Prepared`] (compile and check everything), [`run`] (accept loop, reload,
//!   bounded graceful shutdown, the `listening on ws://ADDR` line).
//! * [`shutdown`] — the [`shutdown::Shutdown`] signal every connection listens to.
//! * [`gateway`] — the request head, read once: plain HTTP, or an upgrade admitted to a tenant
//!   (route, auth → HTTP 401 before the upgrade, connection slot), or a refusal.
//! * [`http`] — plain HTTP on the same port: `/healthz`, `/readyz`, `/metrics`, static files.
//! * [`updates`] — bot updates (webhook or `getUpdates` polling) delivered to the components as
//!   `telegram.<kind>` messages, at most once per tenant.
//! * [`session`] — one upgraded connection's loop: socket, timers, pushes, shutdown.
//! * [`resume`] — session resume: the client's last `Seq`, checked, and the replay of the
//!   pushes it missed (with `ResumeGap` when they are gone) before live ones.
//! * [`dispatch`] — a frame in, replies and close out; no sockets.
//! * [`watch`] — `--watch`: reload a component when its file changes.
//! * [`tenants`] — each tenant's route, auth, limits and admission (calls, connections, rate).
//! * [`routing`] — a tenant's `Type` → component table, swapped atomically by hot reload.
//! * [`runtime`] — wasmtime: engine, bindings, lifecycles, invocation under a deadline, and
//!   the host side of each import; knows nothing of sockets, envelopes or metrics.
//! * [`api`] — a component's self-description (`describe`): JSON Schema per `Type`, checked
//!   before an instance is created, and TypeScript declarations for `clients/js`.
//! * [`state`] — [`state::Services`]: the key-value store (embedded redb or Redis), the push
//!   bus and the push history (per-user `Seq`s, bounded by size and age), shared by all
//!   tenants.
//! * [`telegram`] — the Bot API as a tenant's capability: token, allowed methods, flood limits.
//! * [`outbound`] — requests the host makes for guests: allowed origins, the internal-address
//!   rule, and the one HTTP client (used by `wasi:http` and the Bot API).
//! * [`push`] — server push: the bus between servers; [`push::hub`], this server's connections.
//! * [`envelope`] — the `{"Type","Data","Id"}` JSON in and out, `HandlerException` envelopes.
//! * [`metrics`] — Prometheus metrics per tenant, one registry per server.
//! * [`auth`] — initData transports and sessions; [`auth::telegram`] is the pure validator.
//! * [`tools`] — the one-shot subcommands `call`, `check` and `sign-init-data`.
//! * [`componentize`] — core module + WIT → component (`componentize` subcommand).
//! * [`scaffold`] — `new`: a handler project from the example in a language.

pub mod api;
pub mod auth;
pub mod call;
pub mod cli;
pub mod componentize;
pub mod config;
pub mod connect;
pub mod dispatch;
pub mod envelope;
pub mod gateway;
pub mod http;
pub mod metrics;
pub mod origin;
pub mod outbound;
pub mod push;
pub mod resume;
pub mod routing;
pub mod runtime;
pub mod scaffold;
pub mod server;
pub mod session;
pub mod shutdown;
pub mod state;
pub mod telegram;
pub mod tenants;
pub mod tools;
pub mod updates;
pub mod watch;

pub use config::Config;
pub use server::{Prepared, run};
