//! The WebAssembly side, which knows nothing of sockets, envelopes or metrics:
//!
//! * [`engine`] — the one `Engine` and `Linker`, pool settings and the epoch ticker;

//! * [`component`] — a loaded component: check, ask its Types, invoke, hooks;
//! * `compiled` — compiled components by file, shared by the tenants that load one file;
//! * [`instances`] — the lifecycles (fresh, pooled, per connection), one policy each;
//! * [`invoke`] — one call's inputs, its deadline and the classification of its errors;
//! * [`limits`] — per-call and per-tenant limits and the store's `ResourceLimiter`;
//! * [`host`] — the host side of each imported interface, one file per interface.

mod compiled;
pub mod component;
pub mod engine;
pub mod host;
pub mod instances;
pub mod invoke;
pub mod limits;

pub use component::{
    ComponentSpec, Hook, InstanceObserver, LoadContext, LoadError, LoadedComponent,
};
pub use engine::{EngineSettings, Runtime};

pub use instances::{ConnectionInstances, Lifecycle};
pub use invoke::{Invocation, InvokeError};
pub use limits::Limits;
