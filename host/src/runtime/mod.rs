//! The WebAssembly side: engine, bindings, host imports, limits and component invocation.

pub mod bindings;
pub mod component;
pub mod engine;
pub mod host;
pub mod limits;

pub use component::{
    ComponentSpec, ConnectionInstances, Invocation, InvokeError, Lifecycle, LoadError,
    LoadedComponent,
};
pub use engine::{EngineSettings, Runtime};
pub use host::{Capabilities, PreopenedDir};
pub use limits::Limits;
