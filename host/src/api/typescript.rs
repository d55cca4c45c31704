//! TypeScript declarations from an [`Api`]: one interface per request, reply and push model,
//! and an `Api` type for `clients/js`'s `ExtwsClient<Api>`, which then types
//! `request(Type, Data)`, its reply, and `on(PushType, fn)`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::Value;

use super::{Api, Schema};

/// The declarations, headed by where they came from (`source`, e.g. the component's file).
pub fn declarations(api: &Api, source: &str) -> String {
    let mut named = Named::default();
    let mut requests = Vec::new();
    for (msg_type, entry) in &api.types {
        let data = named.model(msg_type, &entry.request);
        let reply = match (&entry.reply, &entry.reply_schema) {
            (Some(t), Some(s)) => named.model(t, s),
            _ => "unknown".to_string(),
        };
        requests.push(format!(
            "    {}: {{ data: {data}; reply: {reply} }};",
            key(msg_type)
        ));
    }
    let pushes: Vec<String> = api
        .pushes
        .iter()
        .map(|(t, s)| format!("    {}: {};", key(t), named.model(t, s)))
        .collect();
    let mut out = format!(
        "// The API of {source}, as `extws-wasm describe --typescript` generated it.\n\
         // Use it with clients/js: `new ExtwsClient<Api>(url, options)` types `request` and `on`.\n\n"
    );
    for body in named.interfaces.values() {
        out.push_str(body);
        out.push('\n');
    }
    let block = |lines: &[String]| {
        if lines.is_empty() {
            "{}".to_string()
        } else {
            format!("{{\n{}\n  }}", lines.join("\n"))
        }
    };
    let _ = write!(
        out,
        "/** Request Type -> its Data and the Data of its reply; push Type -> its Data. */\n\
         export interface Api {{\n  requests: {};\n  pushes: {};\n}}\n",
        block(&requests),
        block(&pushes)
    );
    out
}

/// The interfaces written so far, by name.
#[derive(Default)]
struct Named {
    interfaces: BTreeMap<String, String>,
}

impl Named {
    /// The type of a model called `name` with `schema`: an interface of that name for an
    /// object, an inline type otherwise.
    fn model(&mut self, name: &str, schema: &Schema) -> String {
        let root = schema.value();
        let object = root.get("properties").is_some()
            && root.get("type").and_then(Value::as_str).unwrap_or("object") == "object";
        if !object || !is_identifier(name) {
            return self.expr(root, root, 0);
        }
        if !self.interfaces.contains_key(name) {
            // Reserve the name first: a model may refer to itself.
            self.interfaces.insert(name.to_string(), String::new());
            let body = self.object(root, root, 0);
            self.interfaces.insert(
                name.to_string(),
                format!("export interface {name} {body}\n"),
            );
        }
        name.to_string()
    }

    fn object(&mut self, schema: &Value, root: &Value, depth: usize) -> String {
        let required: Vec<&str> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut out = String::from("{\n");
        if let Some(props) = schema.get("properties").and_then(Value::as_object) {
            for (field, s) in props {
                let optional = if required.contains(&field.as_str()) {
                    ""
                } else {
                    "?"
                };
                let ty = self.expr(s, root, depth + 1);
                let _ = writeln!(out, "{}  {}{optional}: {ty};", indent(depth), key(field));
            }
        }
        if let Some(extra @ Value::Object(_)) = schema.get("additionalProperties") {
            let ty = self.expr(extra, root, depth + 1);
            let _ = writeln!(out, "{}  [key: string]: {ty};", indent(depth));
        }
        out.push_str(&indent(depth));
        out.push('}');
        out
    }

    fn expr(&mut self, schema: &Value, root: &Value, depth: usize) -> String {
        if depth > 32 {
            return "unknown".into();
        }
        let Value::Object(s) = schema else {
            return "unknown".into();
        };
        if let Some(reference) = s.get("$ref").and_then(Value::as_str) {
            let name = reference.rsplit('/').next().unwrap_or("");
            return match root.pointer(reference.trim_start_matches('#')) {
                Some(target) if is_identifier(name) && reference != "#" => {
                    match Schema::new(target.clone()) {
                        Ok(def) => self.defined(name, &def, root),
                        Err(_) => "unknown".into(),
                    }
                }
                _ => "unknown".into(),
            };
        }
        if let Some(c) = s.get("const") {
            return c.to_string();
        }
        if let Some(options) = s.get("enum").and_then(Value::as_array) {
            return union(options.iter().map(Value::to_string).collect());
        }
        for k in ["anyOf", "oneOf"] {
            if let Some(options) = s.get(k).and_then(Value::as_array) {
                return union(
                    options
                        .iter()
                        .map(|o| self.expr(o, root, depth + 1))
                        .collect(),
                );
            }
        }
        let types: Vec<&str> = match s.get("type") {
            Some(Value::String(t)) => vec![t.as_str()],
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
            _ if s.contains_key("properties") => vec!["object"],
            _ => return "unknown".into(),
        };
        union(
            types
                .into_iter()
                .map(|t| match t {
                    "integer" | "number" => "number".to_string(),
                    "string" => "string".to_string(),
                    "boolean" => "boolean".to_string(),
                    "null" => "null".to_string(),
                    "array" => {
                        let item = s
                            .get("items")
                            .map_or("unknown".to_string(), |i| self.expr(i, root, depth + 1));
                        format!("Array<{item}>")
                    }
                    "object" if s.contains_key("properties") => self.object(schema, root, depth),
                    "object" => match s.get("additionalProperties") {
                        Some(extra @ Value::Object(_)) => {
                            format!("Record<string, {}>", self.expr(extra, root, depth + 1))
                        }
                        _ => "Record<string, unknown>".to_string(),
                    },
                    _ => "unknown".to_string(),
                })
                .collect(),
        )
    }

    /// A model under the schema's `$defs`: named after its key, with refs resolved in `root`.
    fn defined(&mut self, name: &str, def: &Schema, root: &Value) -> String {
        if self.interfaces.contains_key(name) {
            return name.to_string();
        }
        let value = def.value();
        if value.get("properties").is_none() {
            return self.expr(value, root, 1);
        }
        self.interfaces.insert(name.to_string(), String::new());
        let body = self.object(value, root, 0);
        self.interfaces.insert(
            name.to_string(),
            format!("export interface {name} {body}\n"),
        );
        name.to_string()
    }
}

fn union(mut parts: Vec<String>) -> String {
    parts.dedup();
    match parts.len() {
        0 => "never".into(),
        1 => parts.remove(0),
        _ => parts.join(" | "),
    }
}

fn indent(depth: usize) -> String {
    "  ".repeat(depth)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
}

/// A property or Type name as a key: bare when it is an identifier, quoted otherwise.
fn key(name: &str) -> String {
    if is_identifier(name) {
        name.to_string()
    } else {
        Value::String(name.to_string()).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_become_interfaces_and_the_api_maps_types() {
        let api = Api::parse(
            r##"{"types":{
                "CalculateRequest":{"request":{"type":"object","properties":{"numbers":{"type":"array","items":{"type":"integer","format":"int64"}}},"required":["numbers"]},
                                    "reply":"CalculateResponse","reply_schema":{"type":"object","properties":{"result":{"type":"integer"}},"required":["result"]}},
                "WhoAmIRequest":{"request":{"type":"object","properties":{}},"reply":"WhoAmIResponse",
                                 "reply_schema":{"type":"object","properties":{"user":{"anyOf":[{"$ref":"#/$defs/User"},{"type":"null"}]}},"required":["user"],
                                                 "$defs":{"User":{"type":"object","properties":{"id":{"type":"integer"},"first_name":{"type":"string"}},"required":["id","first_name"]}}}},
                "telegram.message":{"request":{"type":"object"}}},
              "pushes":{"CounterChanged":{"type":"object","properties":{"count":{"type":"integer"}},"required":["count"]}}}"##,
        )
        .unwrap();
        let ts = declarations(&api, "calc.wasm");
        for expected in [
            "export interface CalculateRequest {\n  numbers: Array<number>;\n}",
            "export interface CalculateResponse {\n  result: number;\n}",
            "export interface WhoAmIResponse {\n  user: User | null;\n}",
            "export interface User {\n",
            "\n  id: number;\n",
            "\n  first_name: string;\n",
            "CalculateRequest: { data: CalculateRequest; reply: CalculateResponse };",
            "\"telegram.message\": { data: Record<string, unknown>; reply: unknown };",
            "CounterChanged: CounterChanged;",
        ] {
            assert!(ts.contains(expected), "missing {expected:?} in\n{ts}");
        }
    }
}
