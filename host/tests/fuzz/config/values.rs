//! The values of a generated `extws.toml` (integers near powers of two, odd floats, any string,
//! wrong types) and the tables of one tenant.

use proptest::prelude::*;

/// A value as written in the document.
#[derive(Debug, Clone)]
pub enum Value {
    Int(i64),
    /// A float literal (`1.5`, `nan`, `-inf`, `1e3`).
    Float(&'static str),
    Bool(bool),
    Str(String),
    StrArray(Vec<String>),
    /// An inline table of strings.
    Table(Vec<(String, String)>),
    /// A literal of some other type than the key takes.
    WrongType(&'static str),
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

impl Value {
    pub fn render(&self) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Float(f) => f.to_string(),
            Value::Bool(b) => b.to_string(),
            Value::Str(s) => toml_string(s),
            Value::StrArray(items) => {
                let items: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Table(pairs) => {
                let pairs: Vec<String> = pairs
                    .iter()
                    .map(|(k, v)| format!("{} = {}", toml_string(k), toml_string(v)))
                    .collect();
                format!("{{ {} }}", pairs.join(", "))
            }
            Value::WrongType(literal) => literal.to_string(),
        }
    }
}

/// One `[table]` (or `[[array]]`) and its `key = value` lines.
#[derive(Debug, Clone)]
pub struct Table {
    pub header: Option<&'static str>,
    pub entries: Vec<(String, Value)>,
}

/// Integers a fuzzer tries: small ones, powers of two and their neighbours, any.
fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => 0i64..10,
        3 => (0u32..63, -2i64..=2).prop_map(|(k, d)| (1i64 << k).saturating_add(d)),
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, -1, 4096, 4097, 63, 64, 67_108_864, 67_108_865, 4_294_967_295, 4_294_967_296]),
        1 => any::<i64>(),
    ]
}

/// An integer that is usually within `valid`.
fn int_in(valid: std::ops::RangeInclusive<i64>) -> impl Strategy<Value = Value> {
    prop_oneof![6 => valid.prop_map(Value::Int), 1 => integer().prop_map(Value::Int)]
}

fn float() -> impl Strategy<Value = Value> {
    prop::sample::select(vec![
        "1.0",
        "0.5",
        "50.0",
        "1e3",
        "5e-324",
        "1.7976931348623157e308",
        "0.0",
        "-0.0",
        "-1.0",
        "nan",
        "inf",
        "-inf",
        "+inf",
    ])
    .prop_map(Value::Float)
}

/// A string: mostly the first of `good` (a valid one), often another of them, sometimes any.
pub fn string(good: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => Just(Value::Str(good[0].to_string())),
        6 => prop::sample::select(good).prop_map(|s| Value::Str(s.to_string())),
        1 => any::<String>().prop_map(Value::Str),
    ]
}

pub fn maybe(
    key: &'static str,
    p: f64,
    value: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Option<(String, Value)>> {
    prop::option::weighted(p, value.prop_map(move |v| (key.to_string(), v)))
}

pub fn entries(items: Vec<Option<(String, Value)>>) -> Vec<(String, Value)> {
    items.into_iter().flatten().collect()
}

pub fn tenant_tables() -> impl Strategy<Value = Vec<Table>> {
    let tenant = (
        maybe(
            "name",
            0.97,
            string(&["a", "acme", "t-1", "x_y", "a b", "", "é"]),
        ),
        maybe("route", 0.8, string(&["/", "/acme", "/a/b", "acme", ""])),
        maybe("host", 0.2, string(&["example.org", "Mini.Example"])),
        maybe("fanout", 0.2, any::<bool>().prop_map(Value::Bool)),
        maybe("static", 0.1, string(&["public", "missing", "c.wasm"])),
    );
    let auth = (
        maybe("none", 0.4, any::<bool>().prop_map(Value::Bool)),
        maybe(
            "bot_token",
            0.4,
            string(&["123:abc", " 1:x ", "nocolon", ""]),
        ),
        maybe("bot_token_env", 0.03, string(&["EXTWS_FUZZ_UNSET"])),
        maybe("bot_id", 0.3, int_in(0..=i64::MAX)),
        maybe(
            "telegram_key",
            0.3,
            string(&[
                "prod",
                "production",
                "test",
                "zz",
                "40055058a4ee38156a06562e52eece92a771bcd8346a8c4615cb7376eddf72ec",
                "00",
            ]),
        ),
        maybe("max_age", 0.3, int_in(0..=i64::MAX)),
        maybe(
            "transports",
            0.3,
            prop::collection::vec(
                prop::sample::select(vec![
                    "query",
                    "header",
                    "subprotocol",
                    "message",
                    "Query",
                    "smoke",
                ]),
                0..4,
            )
            .prop_map(|t| Value::StrArray(t.into_iter().map(str::to_string).collect())),
        ),
        maybe("first_message_timeout", 0.2, int_in(0..=i64::MAX)),
    );
    let limits = (
        (
            maybe("timeout_ms", 0.3, int_in(1..=i64::MAX)),
            maybe("fuel", 0.2, int_in(1..=i64::MAX)),
            maybe("max_memory_mib", 0.3, int_in(1..=4096)),
            maybe("max_concurrency", 0.3, int_in(1..=1000)),
            maybe("max_queue", 0.2, int_in(0..=1000)),
            maybe("max_connections", 0.2, int_in(1..=100_000)),
        ),
        (
            maybe("max_connections_per_user", 0.2, int_in(1..=1000)),
            maybe("max_connections_per_ip", 0.2, int_in(1..=1000)),
            maybe("max_message_bytes", 0.3, int_in(64..=67_108_864)),
            maybe(
                "rate_per_second",
                0.2,
                prop_oneof![float(), int_in(1..=1000)],
            ),
            maybe("rate_burst", 0.2, int_in(1..=u32::MAX as i64)),
        ),
    );
    let state = (
        maybe("max_keys", 0.2, int_in(0..=i64::MAX)),
        maybe("max_bytes", 0.2, int_in(0..=i64::MAX)),
    );
    let capabilities = (
        maybe(
            "env",
            0.2,
            prop::collection::btree_map("[A-Z]{1,4}", "[a-z]{0,4}", 0..3)
                .prop_map(|m| Value::Table(m.into_iter().collect())),
        ),
        maybe(
            "dir",
            0.1,
            (
                string(&["data", "missing", "c.wasm"]),
                string(&["/data", "data"]),
            )
                .prop_map(|(h, g)| match (h, g) {
                    (Value::Str(h), Value::Str(g)) => {
                        Value::Table(vec![("host".into(), h), ("guest".into(), g)])
                    }
                    _ => unreachable!(),
                }),
        ),
    );
    let component = (
        maybe("path", 0.97, string(&["c.wasm", "missing.wasm", "data"])),
        maybe(
            "lifecycle",
            0.3,
            string(&["fresh", "pooled", "connection", "Fresh", "warm"]),
        ),
        maybe("max_uses", 0.2, int_in(1..=u32::MAX as i64)),
        maybe("pool_size", 0.2, int_in(1..=64)),
    );
    let has = |p| prop::bool::weighted(p);
    (
        tenant,
        (has(0.98), auth),
        (has(0.5), limits),
        (has(0.2), state),
        (has(0.2), capabilities),
        prop_oneof![9 => prop::collection::vec(component, 1..3), 1 => Just(Vec::new())],
        (0usize..3, prop::bool::weighted(0.85)),
    )
        .prop_map(
            |(
                t,
                (has_auth, a),
                (has_limits, (l1, l2)),
                (has_state, s),
                (has_caps, c),
                components,
                (mode, tidy),
            )| {
                // Mostly one way to authenticate, as a real file has.
                let mut auth = entries(vec![a.0, a.1, a.2, a.3, a.4, a.5, a.6, a.7]);
                if tidy {
                    let (keep, default): (&[&str], _) = match mode {
                        0 => (&["none"], Value::Bool(true)),
                        1 => (&["bot_token"], Value::Str("123:abc".into())),
                        _ => (&["bot_id", "telegram_key"], Value::Int(42)),
                    };
                    let ways = [
                        "none",
                        "bot_token",
                        "bot_token_env",
                        "bot_id",
                        "telegram_key",
                    ];
                    auth.retain(|(k, _)| !ways.contains(&k.as_str()) || keep.contains(&k.as_str()));
                    if !auth.iter().any(|(k, _)| k == keep[0]) {
                        auth.push((keep[0].to_string(), default));
                    }
                }
                let mut tables = vec![Table {
                    header: Some("[[tenant]]"),
                    entries: entries(vec![t.0, t.1, t.2, t.3, t.4]),
                }];
                if has_auth {
                    tables.push(Table {
                        header: Some("[tenant.auth]"),
                        entries: auth,
                    });
                }
                if has_limits {
                    tables.push(Table {
                        header: Some("[tenant.limits]"),
                        entries: entries(vec![
                            l1.0, l1.1, l1.2, l1.3, l1.4, l1.5, l2.0, l2.1, l2.2, l2.3, l2.4,
                        ]),
                    });
                }
                if has_state {
                    tables.push(Table {
                        header: Some("[tenant.state]"),
                        entries: entries(vec![s.0, s.1]),
                    });
                }
                if has_caps {
                    tables.push(Table {
                        header: Some("[tenant.capabilities]"),
                        entries: entries(vec![c.0, c.1]),
                    });
                }
                for c in components {
                    tables.push(Table {
                        header: Some("[[tenant.component]]"),
                        entries: entries(vec![c.0, c.1, c.2, c.3]),
                    });
                }
                tables
            },
        )
}
