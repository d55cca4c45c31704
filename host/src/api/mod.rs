//! A component's description of its own API (the `describe` export of world
//! `described-handler`, which the SDKs generate): per request `Type` the JSON Schema of its
//! `Data`, the `Type` and schema of its reply; the `Type`s it pushes; the hooks it implements.
//! The host checks `Data` against the request schema before creating an instance
//! ([`Api::check`]), and `extws-wasm describe` prints it or [`typescript`] declarations.

pub mod schema;
pub mod typescript;

use std::collections::BTreeMap;

use serde_json::Value;

pub use schema::{Mismatch, Schema};

/// One request `Type`'s entry.
#[derive(Debug, Clone)]
pub struct TypeApi {
    /// The schema of its `Data`.
    pub request: Schema,
    /// The `Type` of a successful reply.
    pub reply: Option<String>,
    /// The schema of that reply's `Data`.
    pub reply_schema: Option<Schema>,
}

/// What `describe` returned, checked.
#[derive(Debug, Clone)]
pub struct Api {
    /// Per request `Type`.
    pub types: BTreeMap<String, TypeApi>,
    /// The `Type`s the component pushes, with their schemas.
    pub pushes: BTreeMap<String, Schema>,
    /// The hooks it implements (`on-connect`, `on-disconnect`).
    pub hooks: Vec<String>,
    /// The document as returned.
    pub document: Value,
}

impl Api {
    /// Parses `describe`'s JSON; `Err` says what is wrong with it.
    pub fn parse(json: &str) -> Result<Self, String> {
        let document: Value =
            serde_json::from_str(json).map_err(|e| format!("describe did not return JSON: {e}"))?;
        let types_json = document
            .get("types")
            .and_then(Value::as_object)
            .ok_or("describe: no \"types\" object")?;
        let mut types = BTreeMap::new();
        for (name, entry) in types_json {
            let at = |what: &str| format!("describe: types.{name}: {what}");
            let request = entry.get("request").cloned().unwrap_or(Value::Bool(true));
            let request = Schema::new(request).map_err(|e| at(&e))?;
            let reply = match entry.get("reply") {
                None | Some(Value::Null) => None,
                Some(Value::String(t)) => Some(t.clone()),
                Some(_) => return Err(at("\"reply\" must be a Type name")),
            };
            let reply_schema = match entry.get("reply_schema") {
                None | Some(Value::Null) => None,
                Some(s) => Some(Schema::new(s.clone()).map_err(|e| at(&e))?),
            };
            types.insert(
                name.clone(),
                TypeApi {
                    request,
                    reply,
                    reply_schema,
                },
            );
        }
        let mut pushes = BTreeMap::new();
        if let Some(p) = document.get("pushes").and_then(Value::as_object) {
            for (name, s) in p {
                let schema =
                    Schema::new(s.clone()).map_err(|e| format!("describe: pushes.{name}: {e}"))?;
                pushes.insert(name.clone(), schema);
            }
        }
        let hooks = match document.get("hooks") {
            None => Vec::new(),
            Some(Value::Array(h)) => h
                .iter()
                .map(|v| v.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .ok_or("describe: \"hooks\" must list hook names")?,
            Some(_) => return Err("describe: \"hooks\" must be a list".into()),
        };
        Ok(Self {
            types,
            pushes,
            hooks,
            document,
        })
    }

    /// Checks `data` (JSON text) for a request of `msg_type`; types without a schema pass.
    pub fn check(&self, msg_type: &str, data: &str) -> Result<(), Mismatch> {
        let Some(entry) = self.types.get(msg_type) else {
            return Ok(());
        };
        let value: Value = serde_json::from_str(data).map_err(|e| Mismatch {
            path: String::new(),
            problem: format!("not JSON: {e}"),
        })?;
        entry.request.check(&value)
    }

    /// Whether it says it implements `hook` (its export name).
    pub fn has_hook(&self, hook: &str) -> bool {
        self.hooks.iter().any(|h| h == hook)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descriptions_parse_and_check() {
        let api = Api::parse(
            r#"{"types":{"CalculateRequest":{"request":{"type":"object","properties":{"numbers":{"type":"array","items":{"type":"integer"}}},"required":["numbers"]},"reply":"CalculateResponse","reply_schema":{"type":"object"}}},"hooks":["on-connect"]}"#,
        )
        .unwrap();
        assert!(api.check("CalculateRequest", r#"{"numbers":[1]}"#).is_ok());
        let e = api
            .check("CalculateRequest", r#"{"numbers":[1.5]}"#)
            .unwrap_err();
        assert_eq!(e.to_string(), "numbers[0]: expected an integer, got 1.5");
        assert!(
            api.check("WhoAmIRequest", "[]").is_ok(),
            "no schema, no check"
        );
        assert!(api.has_hook("on-connect") && !api.has_hook("on-disconnect"));
        for bad in [
            "[]",
            "{}",
            r#"{"types":{"A":{"request":1}}}"#,
            r#"{"types":{},"hooks":[1]}"#,
        ] {
            assert!(Api::parse(bad).is_err(), "{bad}");
        }
    }
}
