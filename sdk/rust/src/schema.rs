//! JSON Schema of message models, in the subset the host checks (see `sdk/README.md`): what
//! `#[derive(Model)]` builds and `describe` exports, so the host refuses bad `Data` before it
//! creates an instance.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value, json};

use crate::Model;

/// The named models a schema refers to (its `$defs`).
#[derive(Debug, Default)]
pub struct Defs(Map<String, Value>);

impl Defs {
    /// A `$ref` to model `M`, adding its schema to the definitions the first time.
    pub fn reference<M: Model + ?Sized>(&mut self) -> Value {
        if !self.0.contains_key(M::TYPE) {
            // Reserve the name first, so a model that contains itself ends.
            self.0.insert(M::TYPE.to_string(), Value::Bool(true));
            let schema = M::object_schema(self);
            self.0.insert(M::TYPE.to_string(), schema);
        }
        json!({ "$ref": format!("#/$defs/{}", M::TYPE) })
    }

    /// The complete schema of model `M`: its object schema with the definitions it uses.
    pub fn root<M: Model + ?Sized>() -> Value {
        let mut defs = Defs::default();
        let mut schema = M::object_schema(&mut defs);
        if !defs.0.is_empty() {
            schema["$defs"] = Value::Object(defs.0);
        }
        schema
    }
}

/// An object schema titled `title` (used by the derive).
pub fn object(title: &str, properties: Map<String, Value>, required: Vec<Value>) -> Value {
    let mut schema = json!({ "title": title, "type": "object", "properties": properties });
    if !required.is_empty() {
        schema["required"] = Value::Array(required);
    }
    schema
}

/// A type with a JSON Schema. Implemented for the JSON-shaped standard types and derived for
/// models.
pub trait Schema {
    /// `Option`s: the field may be absent (it is left out of `required`).
    const OPTIONAL: bool = false;
    /// The schema, adding the models it refers to to `defs`.
    fn schema(defs: &mut Defs) -> Value;
}

macro_rules! integer {
    ($($t:ty => $format:literal),*) => {$(
        impl Schema for $t {
            fn schema(_: &mut Defs) -> Value {
                json!({ "type": "integer", "format": $format })
            }
        }
    )*};
}

integer!(i8 => "int8", i16 => "int16", i32 => "int32", i64 => "int64",
         u8 => "uint8", u16 => "uint16", u32 => "uint32", u64 => "uint64");

impl Schema for f64 {
    fn schema(_: &mut Defs) -> Value {
        json!({ "type": "number" })
    }
}

impl Schema for f32 {
    fn schema(_: &mut Defs) -> Value {
        json!({ "type": "number" })
    }
}

impl Schema for bool {
    fn schema(_: &mut Defs) -> Value {
        json!({ "type": "boolean" })
    }
}

impl Schema for String {
    fn schema(_: &mut Defs) -> Value {
        json!({ "type": "string" })
    }
}

impl Schema for Value {
    fn schema(_: &mut Defs) -> Value {
        Value::Bool(true)
    }
}

impl<T: Schema> Schema for Option<T> {
    const OPTIONAL: bool = true;
    fn schema(defs: &mut Defs) -> Value {
        json!({ "anyOf": [T::schema(defs), { "type": "null" }] })
    }
}

impl<T: Schema> Schema for Vec<T> {
    fn schema(defs: &mut Defs) -> Value {
        json!({ "type": "array", "items": T::schema(defs) })
    }
}

impl<T: Schema> Schema for Box<T> {
    const OPTIONAL: bool = T::OPTIONAL;
    fn schema(defs: &mut Defs) -> Value {
        T::schema(defs)
    }
}

impl<T: Schema> Schema for BTreeMap<String, T> {
    fn schema(defs: &mut Defs) -> Value {
        json!({ "type": "object", "additionalProperties": T::schema(defs) })
    }
}

impl<T: Schema, S> Schema for HashMap<String, T, S> {
    fn schema(defs: &mut Defs) -> Value {
        json!({ "type": "object", "additionalProperties": T::schema(defs) })
    }
}

impl Schema for str {
    fn schema(_: &mut Defs) -> Value {
        json!({ "type": "string" })
    }
}

impl<T: Schema + ?Sized> Schema for &T {
    const OPTIONAL: bool = T::OPTIONAL;
    fn schema(defs: &mut Defs) -> Value {
        T::schema(defs)
    }
}
