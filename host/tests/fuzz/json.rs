//! Generators of JSON text shared by the targets: values with the odd corners of the grammar
//! (escapes, exotic numbers, whitespace), envelopes built from them, and text mutations that
//! turn valid text into near-valid text.

use proptest::prelude::*;

/// JSON whitespace, mostly none.
fn ws() -> impl Strategy<Value = &'static str> {
    prop_oneof![8 => Just(""), 1 => Just(" "), 1 => Just("\n\t "), 1 => Just("\r\n")]
}

/// A JSON string literal: plain, fully `\u`-escaped, or with a lone surrogate.
pub fn string_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>().prop_map(|s| serde_json::to_string(&s).unwrap()),
        2 => "[A-Za-z]{1,12}".prop_map(|s| format!("\"{s}\"")),
        1 => any::<String>().prop_map(|s| {
            let escaped: String = s
                .encode_utf16()
                .map(|u| format!("\\u{u:04x}"))
                .collect();
            format!("\"{escaped}\"")
        }),
        1 => Just(r#""\ud800""#.to_string()),
        1 => Just(r#""a\/b\"c\\""#.to_string()),
    ]
}

/// A JSON number literal, including ones out of `f64` range.
fn number_literal() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| serde_json::to_string(&f).unwrap()),
        prop::sample::select(vec![
            "-0",
            "1e400",
            "-1E-400",
            "0.0000001",
            "1E+2",
            "123456789012345678901234567890"
        ])
        .prop_map(str::to_string),
    ]
}

/// Any JSON value as text (nested a few levels).
pub fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        Just("true".to_string()),
        Just("false".to_string()),
        number_literal(),
        string_literal(),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            (prop::collection::vec(inner.clone(), 0..5), ws())
                .prop_map(|(items, ws)| format!("[{ws}{}{ws}]", items.join(","))),
            (prop::collection::vec((string_literal(), inner), 0..5), ws()).prop_map(
                |(members, ws)| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("{k}{ws}:{ws}{v}"))
                        .collect();
                    format!("{{{ws}{}{ws}}}", members.join(","))
                }
            ),
        ]
    })
}

/// One member of an envelope: `"Key": value`.
#[derive(Debug, Clone)]
pub struct Member {
    /// The key as it appears in the text (a JSON string literal).
    pub key: String,
    /// The value's text.
    pub value: String,
}

/// The key literal of `name`, sometimes spelled with escapes (`"\u0054ype"` is `"Type"`).
fn key_literal(name: &'static str) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => Just(format!("\"{name}\"")),
        1 => Just(format!("\"\\u{:04x}{}\"", name.as_bytes()[0], &name[1..])),
    ]
}

/// Members of an envelope: `Type`, `Data` and `Id` each present or not (with values of any
/// kind), plus unknown keys, in any order and with any key repeated sometimes.
pub fn members() -> impl Strategy<Value = Vec<Member>> {
    let type_value = prop_oneof![
        4 => "[A-Za-z]{1,20}".prop_map(|s| format!("\"{s}\"")),
        2 => string_literal(),
        1 => value(),
    ];
    let known = (
        prop::option::weighted(0.9, (key_literal("Type"), type_value)),
        prop::option::weighted(0.7, (key_literal("Data"), value())),
        prop::option::weighted(0.5, (key_literal("Id"), value())),
        prop::collection::vec((string_literal(), value()), 0..3),
        any::<prop::sample::Index>(),
        prop::bool::weighted(0.1),
    );
    known.prop_flat_map(|(t, d, i, extra, dup, repeat)| {
        let mut members: Vec<Member> = [t, d, i]
            .into_iter()
            .flatten()
            .chain(extra)
            .map(|(key, value)| Member { key, value })
            .collect();
        if repeat && !members.is_empty() {
            let copy = members[dup.index(members.len())].clone();
            members.push(copy);
        }
        Just(members).prop_shuffle()
    })
}

/// The envelope's members as a JSON array of their values (a client serializing a tuple).
pub fn values_array(members: &[Member]) -> String {
    let values: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
    format!("[{}]", values.join(","))
}

/// The envelope text of `members`.
pub fn object(members: &[Member]) -> String {
    let inner: Vec<String> = members
        .iter()
        .map(|m| format!("{}:{}", m.key, m.value))
        .collect();
    format!("{{{}}}", inner.join(","))
}

/// An edit that turns text into near-valid text.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Cut the text at this point.
    Truncate(prop::sample::Index),
    /// Insert a token at this point.
    Insert(prop::sample::Index, &'static str),
    /// Remove a few characters at this point.
    Delete(prop::sample::Index, usize),
    /// Put the whole text in an array, before other values.
    WrapInArray(Vec<String>),
}

/// Mutations, from the tokens JSON is made of.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\\",
        "null",
        "\"Type\":\"X\"",
        "\u{0}",
        "\u{feff}",
        " ",
        "1",
        "\"Id\":",
        "\u{1F600}",
    ]);
    prop_oneof![
        any::<prop::sample::Index>().prop_map(Mutation::Truncate),
        (any::<prop::sample::Index>(), token).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<prop::sample::Index>(), 1usize..4).prop_map(|(i, n)| Mutation::Delete(i, n)),
        prop::collection::vec(value(), 0..3).prop_map(Mutation::WrapInArray),
    ]
}

/// `text` with `mutation` applied (always on character boundaries).
pub fn mutate(text: &str, mutation: &Mutation) -> String {
    let boundaries: Vec<usize> = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    let at = |i: &prop::sample::Index| boundaries[i.index(boundaries.len())];
    match mutation {
        Mutation::Truncate(i) => text[..at(i)].to_string(),
        Mutation::Insert(i, token) => {
            let at = at(i);
            format!("{}{token}{}", &text[..at], &text[at..])
        }
        Mutation::Delete(i, n) => {
            let start = i.index(boundaries.len());
            let end = (start + n).min(boundaries.len() - 1);
            format!("{}{}", &text[..boundaries[start]], &text[boundaries[end]..])
        }
        Mutation::WrapInArray(before) => {
            let items: Vec<&str> = [text]
                .into_iter()
                .chain(before.iter().map(String::as_str))
                .collect();
            format!("[{}]", items.join(","))
        }
    }
}
