//! Write [extws-wasm](https://github.com/extws/extws-wasm) message handlers in Rust: one typed
//! function per message.
//!
//! ```ignore
//! use extws_sdk::{Error, Model, User};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Deserialize, Model)]
//! struct CalculateRequest {
//!     numbers: Vec<i64>,
//! }
//!
//! #[derive(Serialize, Model)]
//! struct CalculateResponse {
//!     result: i64,
//! }
//!
//! fn calculate(req: CalculateRequest, _user: Option<User>) -> Result<CalculateResponse, Error> {
//!     Ok(CalculateResponse { result: req.numbers.iter().sum() })
//! }
//!
//! extws_sdk::export!(calculate);
//! ```
//!
//! - A request's `Type` is its struct's name (`#[extws(type = "...")]` to choose another); the
//!   reply's `Type` is the returned struct's name. `export!` lists every handler once: it
//!   generates `message-types`, routes `handle`, and exports the API as JSON Schema
//!   (`describe`), so the host refuses bad `Data` before it creates an instance and
//!   `extws-wasm describe` prints the API.
//! - `Data` that does not decode is a handler error naming the type and the field:
//!   `invalid CalculateRequest: numbers[0]: invalid type: floating point `1.5`, expected i64`.
//!   An absent `Data` decodes as `{}`.
//! - [`kv`], [`push`], [`telegram`], [`session`] and [`log`] are the host's imports with typed
//!   values; their errors convert into [`Error`] with `?`.
//! - The crate carries the WIT it implements (`wit/`, world `described-handler`): a handler
//!   crate depends on `extws-sdk` and `serde` only, and builds with
//!   `cargo build --target wasm32-wasip2`.

pub mod kv;
pub mod push;
pub mod schema;
pub mod telegram;

mod error;
mod user;

#[doc(hidden)]
pub mod __private;

pub use error::{Error, Result};
pub use extws_sdk_macros::Model;
pub use schema::Schema;
pub use user::User;

/// The WIT bindings (world `described-handler`), for what the typed API does not cover.
pub mod bindings {
    wit_bindgen::generate!({
        world: "described-handler",
        path: "wit",
        pub_export_macro: true,
        export_macro_name: "__export_component",
        default_bindings_module: "::extws_sdk::bindings",
    });
}

/// A message model: a request, reply or push body with a `Type` and a JSON Schema. Derive it
/// with `#[derive(Model)]`.
pub trait Model {
    /// Its `Type`: the struct's name unless `#[extws(type = "...")]` says otherwise.
    const TYPE: &'static str;
    /// Its schema as an object, adding the models it refers to to `defs`.
    fn object_schema(defs: &mut schema::Defs) -> serde_json::Value;
}

/// A model that can be a request (`Deserialize`).
pub trait Request: Model + serde::de::DeserializeOwned {}
impl<T: Model + serde::de::DeserializeOwned> Request for T {}

/// A model that can be a reply or a push (`Serialize`).
pub trait Reply: Model + serde::Serialize {}
impl<T: Model + serde::Serialize> Reply for T {}

/// A handler function: `fn(Req, Option<User>) -> Result<Rep, Error>` or `fn(Req) -> ...`.
/// `Args` only tells the two shapes apart.
pub trait Handler<Args>: Copy {
    /// What it takes.
    type Request: Request;
    /// What it returns.
    type Reply: Reply;
    /// Runs it.
    fn call(self, request: Self::Request, user: Option<User>) -> Result<Self::Reply>;
}

impl<F, Req, Rep> Handler<(Req, Option<User>)> for F
where
    F: Fn(Req, Option<User>) -> Result<Rep> + Copy,
    Req: Request,
    Rep: Reply,
{
    type Request = Req;
    type Reply = Rep;
    fn call(self, request: Req, user: Option<User>) -> Result<Rep> {
        self(request, user)
    }
}

impl<F, Req, Rep> Handler<(Req,)> for F
where
    F: Fn(Req) -> Result<Rep> + Copy,
    Req: Request,
    Rep: Reply,
{
    type Request = Req;
    type Reply = Rep;
    fn call(self, request: Req, _user: Option<User>) -> Result<Rep> {
        self(request)
    }
}

/// Exports the component: its handlers (one per request `Type`), and optionally the hooks
/// and the `Type`s it pushes (for `describe`), in this order:
///
/// ```ignore
/// extws_sdk::export!(calculate, who_am_i);
///
/// extws_sdk::export! {
///     handlers: [increment, get_count],
///     on_connect: joined,          // fn(Option<User>)
///     on_disconnect: left,         // fn(Option<User>)
///     pushes: [CounterChanged],
/// }
/// ```
#[macro_export]
macro_rules! export {
    (
        handlers: [$($handler:path),+ $(,)?]
        $(, on_connect: $connect:path)?
        $(, on_disconnect: $disconnect:path)?
        $(, pushes: [$($push:ty),* $(,)?])?
        $(,)?
    ) => {
        const _: () = {
            struct Component;

            impl $crate::bindings::Guest for Component {
                fn message_types() -> ::std::vec::Vec<::std::string::String> {
                    ::std::vec![$($crate::__private::type_of(&$handler).to_string()),+]
                }

                fn handle(
                    msg_type: ::std::string::String,
                    data: ::std::string::String,
                    user: ::std::option::Option<$crate::bindings::User>,
                ) -> ::std::result::Result<$crate::bindings::Response, $crate::bindings::HandlerError> {
                    let user = user.map($crate::User::from);
                    $(
                        if msg_type == $crate::__private::type_of(&$handler) {
                            return $crate::__private::run($handler, &data, user);
                        }
                    )+
                    ::std::result::Result::Err($crate::__private::unknown(&msg_type))
                }

                fn on_connect(user: ::std::option::Option<$crate::bindings::ConnectedUser>) {
                    $($connect(user.map($crate::User::from));)?
                    let _ = user;
                }

                fn on_disconnect(user: ::std::option::Option<$crate::bindings::ConnectedUser>) {
                    $($disconnect(user.map($crate::User::from));)?
                    let _ = user;
                }

                fn describe() -> ::std::string::String {
                    let mut api = $crate::__private::Description::default();
                    $(api.handler(&$handler);)+
                    $($(api.push::<$push>();)*)?
                    $(api.hook("on-connect", stringify!($connect));)?
                    $(api.hook("on-disconnect", stringify!($disconnect));)?
                    api.finish()
                }
            }

            $crate::bindings::__export_component!(Component);
        };
    };
    ($($handler:path),+ $(,)?) => {
        $crate::export!(handlers: [$($handler),+]);
    };
}

/// The host's log (`log` import): records go to the server's log with the tenant and
/// component.
pub mod log {
    use crate::bindings::extws::handler::log::{Level, log};

    /// Logs at debug level.
    pub fn debug(message: &str) {
        log(Level::Debug, message);
    }
    /// Logs at info level.
    pub fn info(message: &str) {
        log(Level::Info, message);
    }
    /// Logs a warning.
    pub fn warn(message: &str) {
        log(Level::Warn, message);
    }
    /// Logs an error.
    pub fn error(message: &str) {
        log(Level::Error, message);
    }
}

/// The calling connection's session (`session` import).
pub mod session {
    pub use crate::bindings::extws::handler::session::{CallOrigin, init_data, origin, tenant};
    pub use crate::bindings::extws::handler::types::{Chat, InitDataInfo};
}
