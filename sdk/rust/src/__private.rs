//! What `export!` expands to. Not a public API.

pub use serde_json;

use serde_json::{Map, Value, json};

use crate::bindings::{HandlerError, Response};
use crate::schema::Defs;
use crate::{Error, Handler, Model, Reply, Request, User};

/// The request `Type` of a handler.
pub fn type_of<H: Handler<A>, A>(_: &H) -> &'static str {
    <H::Request as Model>::TYPE
}

/// Decodes `data`, runs the handler, encodes its reply.
pub fn run<H: Handler<A>, A>(
    handler: H,
    data: &str,
    user: Option<User>,
) -> Result<Response, HandlerError> {
    let request: H::Request = decode(data)?;
    let reply = handler.call(request, user).map_err(HandlerError::from)?;
    let data = serde_json::to_string(&reply)
        .map_err(|e| HandlerError::from(Error::new(format!("the reply does not encode: {e}"))))?;
    Ok(Response {
        msg_type: <H::Reply as Model>::TYPE.to_string(),
        data,
    })
}

/// `Data` as `R`, with an error naming the type, the field and the problem.
pub fn decode<R: Request>(data: &str) -> Result<R, HandlerError> {
    let data = if data.trim() == "null" { "{}" } else { data };
    let mut json = serde_json::Deserializer::from_str(data);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let problem = e.inner().to_string();
        // serde_json adds where in the text it stopped; the field path says it better.
        let problem = match problem.rfind(" at line ") {
            Some(at) => problem[..at].to_string(),
            None => problem,
        };
        let message = if path == "." || path.is_empty() {
            format!("invalid {}: {problem}", R::TYPE)
        } else {
            format!("invalid {}: {path}: {problem}", R::TYPE)
        };
        HandlerError::from(Error::new(message))
    })
}

/// The error for a `Type` no handler takes.
pub fn unknown(msg_type: &str) -> HandlerError {
    HandlerError::from(Error::new(format!("no handler for {msg_type}")))
}

/// The `describe` document, built entry by entry.
#[derive(Default)]
pub struct Description {
    types: Map<String, Value>,
    pushes: Map<String, Value>,
    hooks: Vec<Value>,
}

impl Description {
    /// Adds a handler's request and reply.
    pub fn handler<H: Handler<A>, A>(&mut self, _: &H) {
        let entry = json!({
            "request": Defs::root::<H::Request>(),
            "reply": <H::Reply as Model>::TYPE,
            "reply_schema": Defs::root::<H::Reply>(),
        });
        self.types
            .insert(<H::Request as Model>::TYPE.to_string(), entry);
    }

    /// Adds a pushed model.
    pub fn push<P: Reply>(&mut self) {
        self.pushes.insert(P::TYPE.to_string(), Defs::root::<P>());
    }

    /// Records an implemented hook (`function` only documents which one).
    pub fn hook(&mut self, hook: &str, _function: &str) {
        self.hooks.push(hook.into());
    }

    /// The JSON text.
    pub fn finish(self) -> String {
        let mut api = json!({
            "types": self.types,
            "hooks": self.hooks,
            "sdk": concat!("extws-sdk (Rust) ", env!("CARGO_PKG_VERSION")),
        });
        if !self.pushes.is_empty() {
            api["pushes"] = Value::Object(self.pushes);
        }
        api.to_string()
    }
}
