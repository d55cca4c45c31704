//! A schema document into [`Node`]s: keywords decoded once, local `$ref`s resolved to the node
//! compiled for their target (each target once, so a schema may refer to itself).

use std::collections::HashMap;

use serde_json::Value;

use super::{Additional, IntFormat, Kind, MAX_DEPTH, Node, NodeId};

/// The nodes of `root`, the root itself first.
pub(super) fn compile(root: &Value) -> Vec<Node> {
    let mut compiler = Compiler {
        root,
        nodes: Vec::new(),
        refs: HashMap::new(),
    };
    compiler.node(root, 0);
    compiler.nodes
}

struct Compiler<'a> {
    root: &'a Value,
    nodes: Vec<Node>,
    /// `$ref` text → the node of its target.
    refs: HashMap<String, NodeId>,
}

impl Compiler<'_> {
    fn node(&mut self, schema: &Value, depth: usize) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node::default());
        // Deeper than the check ever looks: leave it unconstrained.
        if depth > MAX_DEPTH {
            return id;
        }
        let Value::Object(s) = schema else {
            self.nodes[id].never = matches!(schema, Value::Bool(false));
            return id;
        };
        let mut n = Node {
            reference: s
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| self.reference(r, depth)),
            types: s.get("type").and_then(kinds),
            format_name: s.get("format").and_then(Value::as_str).map(str::to_string),
            enumeration: s.get("enum").and_then(Value::as_array).cloned(),
            constant: s.get("const").cloned(),
            wants_object: s.get("type").and_then(Value::as_str) == Some("object")
                || (s.contains_key("properties") && !s.contains_key("type")),
            ..Node::default()
        };
        n.format = n.format_name.as_deref().map(int_format);
        for key in ["anyOf", "oneOf"] {
            if let Some(options) = s.get(key).and_then(Value::as_array) {
                let options = options.iter().map(|o| self.node(o, depth + 1)).collect();
                n.any_of.push(options);
            }
        }
        if let Some(all) = s.get("allOf").and_then(Value::as_array) {
            n.all_of = all.iter().map(|o| self.node(o, depth + 1)).collect();
        }
        let float = |k: &str| s.get(k).and_then(Value::as_f64);
        n.number = [
            float("minimum"),
            float("maximum"),
            float("exclusiveMinimum"),
            float("exclusiveMaximum"),
        ];
        let count = |k: &str| s.get(k).and_then(Value::as_u64);
        n.length = [count("minLength"), count("maxLength")];
        n.count = [count("minItems"), count("maxItems")];
        if let Some(required) = s.get("required").and_then(Value::as_array) {
            n.required = required
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
        }
        if let Some(properties) = s.get("properties").and_then(Value::as_object) {
            let mut compiled: Vec<(String, NodeId)> = properties
                .iter()
                .map(|(name, p)| (name.clone(), self.node(p, depth + 1)))
                .collect();
            compiled.sort_by(|a, b| a.0.cmp(&b.0));
            n.properties = compiled;
        }
        n.additional = match s.get("additionalProperties") {
            Some(Value::Bool(false)) => Additional::None,
            Some(extra @ Value::Object(_)) => Additional::Schema(self.node(extra, depth + 1)),
            _ => Additional::Any,
        };
        n.items = s.get("items").map(|item| self.node(item, depth + 1));
        self.nodes[id] = n;
        id
    }

    /// `#`, `#/$defs/Name` or `#/definitions/Name` (JSON pointer escapes included); `None`
    /// when it points nowhere in this document (such a `$ref` constrains nothing).
    fn reference(&mut self, reference: &str, depth: usize) -> Option<NodeId> {
        if let Some(&id) = self.refs.get(reference) {
            return Some(id);
        }
        let target = self.root.pointer(reference.strip_prefix('#')?)?;
        // Known before it is compiled, so that the target may refer to itself.
        self.refs.insert(reference.to_string(), self.nodes.len());
        Some(self.node(target, depth + 1))
    }
}

fn kinds(types: &Value) -> Option<Vec<Kind>> {
    match types {
        Value::String(t) => Some(vec![kind(t)]),
        Value::Array(ts) => Some(ts.iter().filter_map(Value::as_str).map(kind).collect()),
        _ => None,
    }
}

fn kind(name: &str) -> Kind {
    match name {
        "null" => Kind::Null,
        "boolean" => Kind::Boolean,
        "string" => Kind::String,
        "array" => Kind::Array,
        "object" => Kind::Object,
        "number" => Kind::Number,
        "integer" => Kind::Integer,
        _ => Kind::Other,
    }
}

fn int_format(name: &str) -> IntFormat {
    match name {
        "int64" => IntFormat::Int64,
        "int32" => IntFormat::Int32,
        "int16" => IntFormat::Int16,
        "int8" => IntFormat::Int8,
        "uint64" => IntFormat::Uint64,
        "uint32" => IntFormat::Uint32,
        "uint16" => IntFormat::Uint16,
        "uint8" => IntFormat::Uint8,
        _ => IntFormat::Other,
    }
}
