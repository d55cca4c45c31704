//! The JSON Schema subset the SDKs emit, checked against a request's `Data` before anything is
//! instantiated. Only narrowing keywords the host understands are applied (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`,
//! `oneOf` (as `anyOf`), `allOf`, `minimum`/`maximum` (and exclusive), `minLength`/`maxLength`,
//! `minItems`/`maxItems`, integer `format`s, local `$ref`); any other keyword is ignored, so the
//! host never refuses what the handler itself would accept. Errors name the field path.
//!
//! A schema is compiled once, when the component is loaded, into a tree of [`Node`]s with its
//! keywords decoded and its `$ref`s resolved ([`compile`]); checking a value walks that tree
//! ([`check`]) and builds the field path only when something fails.

mod check;
mod compile;

use serde_json::Value;

/// Deepest nesting of `$ref`s and values checked (a self-referencing schema ends here).
const MAX_DEPTH: usize = 64;

/// A schema, with its own `$defs`, and its compiled form.
#[derive(Debug, Clone)]
pub struct Schema {
    document: Value,
    nodes: Vec<Node>,
}

/// Why a value does not match: where (`numbers[0]`, empty at the top) and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The field path, e.g. `user.id` or `numbers[2]`; empty for the value itself.
    pub path: String,
    /// What is wrong, e.g. `expected an integer, got 1.5`.
    pub problem: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.problem)
        } else {
            write!(f, "{}: {}", self.path, self.problem)
        }
    }
}

impl Schema {
    /// Wraps a schema document; `Err` if it is not an object or a boolean.
    pub fn new(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(_) | Value::Bool(_) => Ok(Self {
                nodes: compile::compile(&value),
                document: value,
            }),
            other => Err(format!("a schema is an object, not {}", short(&other))),
        }
    }

    /// The document.
    pub fn value(&self) -> &Value {
        &self.document
    }

    /// Checks `value`. `null` where the schema wants an object counts as `{}` (an absent
    /// `Data` arrives as `null`, and the SDKs decode it so).
    pub fn check(&self, value: &Value) -> Result<(), Mismatch> {
        let empty = Value::Object(Default::default());
        let value = if value.is_null() && self.nodes[ROOT].wants_object {
            &empty
        } else {
            value
        };
        check::node(&self.nodes, ROOT, value, 0).map_err(check::Failure::into_mismatch)
    }
}

/// The index of a node in [`Schema::nodes`].
type NodeId = usize;

/// The root's index.
const ROOT: NodeId = 0;

/// One (sub)schema with the keywords the host applies, decoded.
#[derive(Debug, Clone, Default)]
struct Node {
    /// `false`: nothing matches.
    never: bool,
    /// A resolved `$ref`.
    reference: Option<NodeId>,
    /// `type`, if given (one or a list).
    types: Option<Vec<Kind>>,
    /// `format` of an integer.
    format: Option<IntFormat>,
    /// `format` as written, for messages.
    format_name: Option<String>,
    /// `enum`.
    enumeration: Option<Vec<Value>>,
    /// `const`.
    constant: Option<Value>,
    /// `anyOf`, then `oneOf` (checked as `anyOf`).
    any_of: Vec<Vec<NodeId>>,
    /// `allOf`.
    all_of: Vec<NodeId>,
    /// `minimum`, `maximum`, `exclusiveMinimum`, `exclusiveMaximum`.
    number: [Option<f64>; 4],
    /// `minLength` and `maxLength`.
    length: [Option<u64>; 2],
    /// `minItems` and `maxItems`.
    count: [Option<u64>; 2],
    /// `required`.
    required: Vec<String>,
    /// `properties`, sorted by name.
    properties: Vec<(String, NodeId)>,
    /// `additionalProperties`.
    additional: Additional,
    /// `items`.
    items: Option<NodeId>,
    /// Whether it says `type: object`, or has `properties` and no `type`.
    wants_object: bool,
}

/// What `additionalProperties` allows.
#[derive(Debug, Clone, Copy, Default)]
enum Additional {
    /// Absent or `true`.
    #[default]
    Any,
    /// `false`.
    None,
    /// A schema.
    Schema(NodeId),
}

/// A `type` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Null,
    Boolean,
    String,
    Array,
    Object,
    Number,
    Integer,
    /// A name this subset does not know: it constrains nothing.
    Other,
}

/// An integer `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IntFormat {
    Int64,
    Int32,
    Int16,
    Int8,
    Uint64,
    Uint32,
    Uint16,
    Uint8,
    /// Any other format: no narrowing.
    Other,
}

/// A short rendering of a value for messages.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() <= 40 {
        return text;
    }
    let cut: String = text.chars().take(37).collect();
    format!("{cut}...")
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
