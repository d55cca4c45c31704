//! A value against compiled [`Node`]s. The field path of a failure is collected while the
//! failure returns up the tree, so a value that matches costs no path strings at all.

use serde_json::{Map, Value};

use super::{Additional, IntFormat, Kind, MAX_DEPTH, Mismatch, Node, NodeId, short};

/// A mismatch on its way up: the path so far, innermost segment first.
pub(super) struct Failure {
    path: Vec<Segment>,
    problem: String,
}

enum Segment {
    Field(String),
    Index(usize),
}

impl Failure {
    /// The path rendered as `user.tags[2]`.
    pub(super) fn into_mismatch(self) -> Mismatch {
        let mut path = String::new();
        for segment in self.path.iter().rev() {
            match segment {
                Segment::Field(name) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(name);
                }
                Segment::Index(i) => path.push_str(&format!("[{i}]")),
            }
        }
        Mismatch {
            path,
            problem: self.problem,
        }
    }
}

fn fail(problem: String) -> Result<(), Failure> {
    Err(Failure {
        path: Vec::new(),
        problem,
    })
}

/// `result`, with `segment` added to its failure's path.
fn under(segment: impl FnOnce() -> Segment, result: Result<(), Failure>) -> Result<(), Failure> {
    result.map_err(|mut f| {
        f.path.push(segment());
        f
    })
}

/// Checks `value` against node `id`; `depth` counts `$ref`s followed and values entered.
pub(super) fn node(nodes: &[Node], id: NodeId, value: &Value, depth: usize) -> Result<(), Failure> {
    if depth > MAX_DEPTH {
        return Ok(()); // too deep to judge: the handler decides
    }
    let n = &nodes[id];
    if n.never {
        return fail("no value is allowed here".into());
    }
    if let Some(target) = n.reference {
        node(nodes, target, value, depth + 1)?;
    }
    if let Some(types) = &n.types {
        check_type(types, n, value)?;
    }
    if let Some(options) = &n.enumeration
        && !options.contains(value)
    {
        let listed = short(&Value::Array(options.clone()));
        return fail(format!("{} is not one of {listed}", short(value)));
    }
    if let Some(constant) = &n.constant
        && constant != value
    {
        return fail(format!(
            "expected {}, got {}",
            short(constant),
            short(value)
        ));
    }
    for options in &n.any_of {
        any_of(nodes, options, value, depth)?;
    }
    for &schema in &n.all_of {
        node(nodes, schema, value, depth + 1)?;
    }
    check_bounds(n, value)?;
    match value {
        Value::Object(fields) => check_object(nodes, n, fields, depth),
        Value::Array(items) => match n.items {
            Some(item) => items.iter().enumerate().try_for_each(|(i, v)| {
                under(|| Segment::Index(i), node(nodes, item, v, depth + 1))
            }),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

fn any_of(nodes: &[Node], options: &[NodeId], value: &Value, depth: usize) -> Result<(), Failure> {
    let mut first: Option<(Failure, bool)> = None;
    for &option in options {
        match node(nodes, option, value, depth + 1) {
            Ok(()) => return Ok(()),
            Err(e) => {
                // The most telling failure: of an option that is not just `null`.
                let null_only = nodes[option].types.as_deref() == Some(&[Kind::Null]);
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

fn check_type(wanted: &[Kind], n: &Node, value: &Value) -> Result<(), Failure> {
    if wanted.iter().any(|&t| is_type(t, n.format, value)) {
        return Ok(());
    }
    let article = |t: Kind| match t {
        Kind::Integer => match n.format_name.as_deref() {
            Some("int64") | None => "an integer".to_string(),
            Some(f) => format!("an integer ({f})"),
        },
        Kind::Object => "an object".into(),
        Kind::Array => "an array".into(),
        Kind::Null => "null".into(),
        Kind::Boolean => "a boolean".into(),
        Kind::String => "a string".into(),
        Kind::Number => "a number".into(),
        Kind::Other => unreachable!("an unknown type name matches everything"),
    };
    let expected: Vec<String> = wanted.iter().map(|&t| article(t)).collect();
    fail(format!(
        "expected {}, got {}",
        expected.join(" or "),
        short(value)
    ))
}

fn is_type(wanted: Kind, format: Option<IntFormat>, value: &Value) -> bool {
    match wanted {
        Kind::Null => value.is_null(),
        Kind::Boolean => value.is_boolean(),
        Kind::String => value.is_string(),
        Kind::Array => value.is_array(),
        Kind::Object => value.is_object(),
        Kind::Number => value.is_number(),
        Kind::Integer => {
            let Some(n) = value.as_number() else {
                return false;
            };
            if !n.is_i64() && !n.is_u64() {
                return false; // 1.5, 1e3 and 1.0 are not integers to the SDKs
            }
            let fits = |lo: i64, hi: i64| value.as_i64().is_some_and(|v| (lo..=hi).contains(&v));
            match format {
                Some(IntFormat::Int64) => n.is_i64(),
                Some(IntFormat::Int32) => fits(i32::MIN.into(), i32::MAX.into()),
                Some(IntFormat::Int16) => fits(i16::MIN.into(), i16::MAX.into()),
                Some(IntFormat::Int8) => fits(i8::MIN.into(), i8::MAX.into()),
                Some(IntFormat::Uint64) => n.is_u64(),
                Some(IntFormat::Uint32) => fits(0, u32::MAX.into()),
                Some(IntFormat::Uint16) => fits(0, u16::MAX.into()),
                Some(IntFormat::Uint8) => fits(0, u8::MAX.into()),
                Some(IntFormat::Other) | None => true,
            }
        }
        Kind::Other => true, // unknown type names constrain nothing here
    }
}

fn check_bounds(n: &Node, value: &Value) -> Result<(), Failure> {
    if let Some(x) = value.as_f64() {
        let [minimum, maximum, exclusive_minimum, exclusive_maximum] = n.number;
        if let Some(min) = minimum
            && x < min
        {
            return fail(format!("{} is less than {min}", short(value)));
        }
        if let Some(max) = maximum
            && x > max
        {
            return fail(format!("{} is more than {max}", short(value)));
        }
        if let Some(min) = exclusive_minimum
            && x <= min
        {
            return fail(format!("{} is not more than {min}", short(value)));
        }
        if let Some(max) = exclusive_maximum
            && x >= max
        {
            return fail(format!("{} is not less than {max}", short(value)));
        }
    }
    let (len, what, [min, max]) = match value {
        Value::String(t) if n.length != [None, None] => {
            (t.chars().count() as u64, "characters", n.length)
        }
        Value::Array(a) => (a.len() as u64, "items", n.count),
        _ => return Ok(()),
    };
    if let Some(min) = min
        && len < min
    {
        return fail(format!("has {len} {what}, at least {min} needed"));
    }
    if let Some(max) = max
        && len > max
    {
        return fail(format!("has {len} {what}, at most {max} allowed"));
    }
    Ok(())
}

fn check_object(
    nodes: &[Node],
    n: &Node,
    fields: &Map<String, Value>,
    depth: usize,
) -> Result<(), Failure> {
    if let Some(name) = n.required.iter().find(|name| !fields.contains_key(*name)) {
        return fail(format!("missing field {name}"));
    }
    for (name, v) in fields {
        let schema = n
            .properties
            .binary_search_by(|(p, _)| p.as_str().cmp(name))
            .map(|i| n.properties[i].1);
        let result = match (schema, n.additional) {
            (Ok(schema), _) => node(nodes, schema, v, depth + 1),
            (Err(_), Additional::None) => fail("is not a known field".into()),
            (Err(_), Additional::Schema(extra)) => node(nodes, extra, v, depth + 1),
            (Err(_), Additional::Any) => Ok(()),
        };
        under(|| Segment::Field(name.clone()), result)?;
    }
    Ok(())
}
