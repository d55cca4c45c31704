//! Unit tests of the schema checks.
use super::*;
use serde_json::json;

fn calc() -> Schema {
    Schema::new(json!({
        "title": "CalculateRequest", "type": "object",
        "properties": {"numbers": {"type": "array", "items": {"type": "integer", "format": "int64"}}},
        "required": ["numbers"]
    }))
    .unwrap()
}

fn problem(schema: &Schema, data: &str) -> String {
    schema
        .check(&serde_json::from_str(data).unwrap())
        .unwrap_err()
        .to_string()
}

#[test]
fn integers_are_64_bit_and_only_integers() {
    let s = calc();
    for ok in [
        r#"{"numbers":[]}"#,
        r#"{"numbers":[-9223372036854775808,9223372036854775807]}"#,
        r#"{"numbers":[1],"extra":true}"#,
    ] {
        assert!(s.check(&serde_json::from_str(ok).unwrap()).is_ok(), "{ok}");
    }
    assert_eq!(
        problem(&s, r#"{"numbers":[1,1.5]}"#),
        "numbers[1]: expected an integer, got 1.5"
    );
    assert_eq!(
        problem(&s, r#"{"numbers":["1"]}"#),
        r#"numbers[0]: expected an integer, got "1""#
    );
    assert_eq!(
        problem(&s, r#"{"numbers":[true]}"#),
        "numbers[0]: expected an integer, got true"
    );
    assert_eq!(
        problem(&s, r#"{"numbers":[9223372036854775808]}"#),
        "numbers[0]: expected an integer, got 9223372036854775808"
    );
    assert_eq!(
        problem(&s, r#"{"numbers":"x"}"#),
        r#"numbers: expected an array, got "x""#
    );
    assert_eq!(problem(&s, "{}"), "missing field numbers");
    assert_eq!(problem(&s, "null"), "missing field numbers");
    assert_eq!(problem(&s, "[1]"), "expected an object, got [1]");
}

#[test]
fn refs_options_and_nesting() {
    let s = Schema::new(json!({
        "type": "object",
        "properties": {
            "user": {"anyOf": [{"$ref": "#/$defs/User"}, {"type": "null"}]},
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}},
            "mode": {"enum": ["a", "b"]},
            "n": {"type": "integer", "format": "uint8", "minimum": 1}
        },
        "additionalProperties": false,
        "$defs": {"User": {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]}}
    }))
    .unwrap();
    assert!(
        s.check(&json!({"user": null, "tags": ["x"], "mode": "a", "n": 3}))
            .is_ok()
    );
    assert!(s.check(&json!({"user": {"id": 1}})).is_ok());
    assert_eq!(problem(&s, r#"{"user":{}}"#), "user: missing field id");
    assert_eq!(
        problem(&s, r#"{"user":{"id":"x"}}"#),
        r#"user.id: expected an integer, got "x""#
    );
    assert_eq!(
        problem(&s, r#"{"tags":["long"]}"#),
        "tags[0]: has 4 characters, at most 3 allowed"
    );
    assert_eq!(
        problem(&s, r#"{"mode":"c"}"#),
        r#"mode: "c" is not one of ["a","b"]"#
    );
    assert_eq!(
        problem(&s, r#"{"n":300}"#),
        "n: expected an integer (uint8), got 300"
    );
    assert_eq!(problem(&s, r#"{"n":0}"#), "n: 0 is less than 1");
    assert_eq!(problem(&s, r#"{"other":1}"#), "other: is not a known field");
    // A schema that refers to itself ends at the depth limit instead of overflowing.
    let looped = Schema::new(json!({"$ref": "#"})).unwrap();
    assert!(looped.check(&json!(1)).is_ok());
}

#[test]
fn paths_name_array_items_and_fields_at_every_depth() {
    let s = Schema::new(json!({
        "type": "array",
        "items": {"type": "object", "properties": {
            "b": {"type": "array", "items": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/N"}]}}
        }},
        "$defs": {"N": {"type": "integer", "format": "int32"}}
    }))
    .unwrap();
    assert!(s.check(&json!([{"b": [1, null]}, {}])).is_ok());
    assert_eq!(
        problem(&s, r#"[{"b":[]},{"b":[1,null,"x"]}]"#),
        r#"[1].b[2]: expected an integer (int32), got "x""#
    );
    assert_eq!(
        problem(&s, r#"[{"b":[4294967296]}]"#),
        "[0].b[0]: expected an integer (int32), got 4294967296"
    );
}
