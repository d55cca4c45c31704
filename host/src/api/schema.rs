//! The JSON Schema subset the SDKs emit, checked against a request's `Data` before anything is
//! instantiated. Only narrowing keywords the host understands are applied (`type`,
//! `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`, `anyOf`,
//! `oneOf` (as `anyOf`), `allOf`, `minimum`/`maximum` (and exclusive), `minLength`/`maxLength`,
//! `minItems`/`maxItems`, integer `format`s, local `$ref`); any other keyword is ignored, so the
//! host never refuses what the handler itself would accept. Errors name the field path.

use serde_json::Value;

/// Deepest nesting of `$ref`s and values checked (a self-referencing schema ends here).
const MAX_DEPTH: usize = 64;

/// A schema, with its own `$defs`.
#[derive(Debug, Clone)]
pub struct Schema(Value);

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
            Value::Object(_) | Value::Bool(_) => Ok(Self(value)),
            other => Err(format!("a schema is an object, not {}", short(&other))),
        }
    }

    /// The document.
    pub fn value(&self) -> &Value {
        &self.0
    }

    /// Checks `value`. `null` where the schema wants an object counts as `{}` (an absent
    /// `Data` arrives as `null`, and the SDKs decode it so).
    pub fn check(&self, value: &Value) -> Result<(), Mismatch> {
        let empty = Value::Object(Default::default());
        let value = if value.is_null() && wants_object(&self.0) {
            &empty
        } else {
            value
        };
        let mut path = String::new();
        check(&self.0, value, &self.0, &mut path, 0).map_err(|problem| Mismatch {
            path: problem.0,
            problem: problem.1,
        })
    }
}

fn wants_object(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        || (schema.get("properties").is_some() && schema.get("type").is_none())
}

type Failure = (String, String);

fn fail(path: &str, problem: String) -> Result<(), Failure> {
    Err((path.to_string(), problem))
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

fn check(
    schema: &Value,
    value: &Value,
    root: &Value,
    path: &mut String,
    depth: usize,
) -> Result<(), Failure> {
    if depth > MAX_DEPTH {
        return Ok(()); // too deep to judge: the handler decides
    }
    let Value::Object(s) = schema else {
        return match schema {
            Value::Bool(false) => fail(path, "no value is allowed here".into()),
            _ => Ok(()),
        };
    };
    if let Some(reference) = s.get("$ref").and_then(Value::as_str)
        && let Some(target) = resolve(root, reference)
    {
        check(target, value, root, path, depth + 1)?;
    }
    if let Some(types) = s.get("type") {
        check_type(types, s.get("format").and_then(Value::as_str), value, path)?;
    }
    if let Some(options) = s.get("enum").and_then(Value::as_array)
        && !options.contains(value)
    {
        return fail(
            path,
            format!(
                "{} is not one of {}",
                short(value),
                short(&Value::Array(options.clone()))
            ),
        );
    }
    if let Some(constant) = s.get("const")
        && constant != value
    {
        return fail(
            path,
            format!("expected {}, got {}", short(constant), short(value)),
        );
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = s.get(key).and_then(Value::as_array) {
            any_of(options, value, root, path, depth)?;
        }
    }
    if let Some(all) = s.get("allOf").and_then(Value::as_array) {
        for schema in all {
            check(schema, value, root, path, depth + 1)?;
        }
    }
    check_bounds(s, value, path)?;
    match value {
        Value::Object(fields) => check_object(s, fields, root, path, depth),
        Value::Array(items) => {
            if let Some(item) = s.get("items") {
                for (i, v) in items.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{i}]"));
                    check(item, v, root, path, depth + 1)?;
                    path.truncate(len);
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `#`, `#/$defs/Name` or `#/definitions/Name` (JSON pointer escapes included).
fn resolve<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    root.pointer(pointer)
}

fn any_of(
    options: &[Value],
    value: &Value,
    root: &Value,
    path: &mut String,
    depth: usize,
) -> Result<(), Failure> {
    let mut first = None;
    for option in options {
        let len = path.len();
        match check(option, value, root, path, depth + 1) {
            Ok(()) => return Ok(()),
            Err(e) => {
                path.truncate(len);
                // The most telling failure: of an option that is not just `null`.
                let null_only = option.get("type").and_then(Value::as_str) == Some("null");
                if first.is_none() || !null_only && first.as_ref().is_some_and(|(_, n)| *n) {
                    first = Some((e, null_only));
                }
            }
        }
    }
    match first {
        Some((e, _)) => Err(e),
        None => Ok(()),
    }
}

fn check_type(
    types: &Value,
    format: Option<&str>,
    value: &Value,
    path: &str,
) -> Result<(), Failure> {
    let wanted: Vec<&str> = match types {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return Ok(()),
    };
    if wanted.iter().any(|t| is_type(t, format, value)) {
        return Ok(());
    }
    let article = |t: &str| match t {
        "integer" => match format {
            Some("int64") | None => "an integer".to_string(),
            Some(f) => format!("an integer ({f})"),
        },
        "object" | "array" => format!("an {t}"),
        "null" => "null".to_string(),
        t => format!("a {t}"),
    };
    let expected: Vec<String> = wanted.iter().map(|t| article(t)).collect();
    fail(
        path,
        format!("expected {}, got {}", expected.join(" or "), short(value)),
    )
}

fn is_type(wanted: &str, format: Option<&str>, value: &Value) -> bool {
    match wanted {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        "number" => value.is_number(),
        "integer" => {
            let (Some(n), signed) = (value.as_number(), value.is_i64()) else {
                return false;
            };
            if !n.is_i64() && !n.is_u64() {
                return false; // 1.5, 1e3 and 1.0 are not integers to the SDKs
            }
            let fits = |lo: i64, hi: i64| value.as_i64().is_some_and(|v| (lo..=hi).contains(&v));
            match format {
                Some("int64") => signed,
                Some("int32") => fits(i32::MIN.into(), i32::MAX.into()),
                Some("int16") => fits(i16::MIN.into(), i16::MAX.into()),
                Some("int8") => fits(i8::MIN.into(), i8::MAX.into()),
                Some("uint64") => value.is_u64(),
                Some("uint32") => fits(0, u32::MAX.into()),
                Some("uint16") => fits(0, u16::MAX.into()),
                Some("uint8") => fits(0, u8::MAX.into()),
                _ => true,
            }
        }
        _ => true, // unknown type names constrain nothing here
    }
}

fn check_bounds(
    s: &serde_json::Map<String, Value>,
    value: &Value,
    path: &str,
) -> Result<(), Failure> {
    let bound = |k: &str| s.get(k).and_then(Value::as_f64);
    if let Some(n) = value.as_f64() {
        if let Some(min) = bound("minimum")
            && n < min
        {
            return fail(path, format!("{} is less than {min}", short(value)));
        }
        if let Some(max) = bound("maximum")
            && n > max
        {
            return fail(path, format!("{} is more than {max}", short(value)));
        }
        if let Some(min) = bound("exclusiveMinimum")
            && n <= min
        {
            return fail(path, format!("{} is not more than {min}", short(value)));
        }
        if let Some(max) = bound("exclusiveMaximum")
            && n >= max
        {
            return fail(path, format!("{} is not less than {max}", short(value)));
        }
    }
    let count = |k: &str| s.get(k).and_then(Value::as_u64);
    let (len, what) = match value {
        Value::String(t) => (t.chars().count() as u64, "characters"),
        Value::Array(a) => (a.len() as u64, "items"),
        _ => return Ok(()),
    };
    let (min, max) = if what == "items" {
        (count("minItems"), count("maxItems"))
    } else {
        (count("minLength"), count("maxLength"))
    };
    if let Some(min) = min
        && len < min
    {
        return fail(path, format!("has {len} {what}, at least {min} needed"));
    }
    if let Some(max) = max
        && len > max
    {
        return fail(path, format!("has {len} {what}, at most {max} allowed"));
    }
    Ok(())
}

fn check_object(
    s: &serde_json::Map<String, Value>,
    fields: &serde_json::Map<String, Value>,
    root: &Value,
    path: &mut String,
    depth: usize,
) -> Result<(), Failure> {
    if let Some(required) = s.get("required").and_then(Value::as_array) {
        for name in required.iter().filter_map(Value::as_str) {
            if !fields.contains_key(name) {
                return fail(path, format!("missing field {name}"));
            }
        }
    }
    let properties = s.get("properties").and_then(Value::as_object);
    for (name, v) in fields {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(name);
        match properties.and_then(|p| p.get(name)) {
            Some(schema) => check(schema, v, root, path, depth + 1)?,
            None => match s.get("additionalProperties") {
                Some(Value::Bool(false)) => {
                    return fail(path, "is not a known field".into());
                }
                Some(extra @ Value::Object(_)) => check(extra, v, root, path, depth + 1)?,
                _ => {}
            },
        }
        path.truncate(len);
    }
    Ok(())
}

#[cfg(test)]
#[path = "schema_tests.rs"]
mod tests;
