//! Fuzz target `config`: `Config::from_toml` on structured `extws.toml` documents whose every
//! value is drawn from a wide range (integers near powers of two, odd floats, any string, wrong
//! types, unknown and duplicated keys, missing tables), against an oracle that knows each key's
//! rule; and on mutated and arbitrary text. Never a panic; a document the oracle finds valid
//! loads, with the values written; an invalid one is refused with a message naming a key at
//! fault.

use std::path::{Path, PathBuf};

use extws_wasm::Config;
use proptest::prelude::*;

use crate::driver::fuzz;
use crate::json::Mutation;

/// A value as written in the document.
#[derive(Debug, Clone)]
enum Value {
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
    fn render(&self) -> String {
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
struct Table {
    header: Option<&'static str>,
    entries: Vec<(String, Value)>,
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
fn string(good: &'static [&'static str]) -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => Just(Value::Str(good[0].to_string())),
        6 => prop::sample::select(good).prop_map(|s| Value::Str(s.to_string())),
        1 => any::<String>().prop_map(Value::Str),
    ]
}

fn maybe(
    key: &'static str,
    p: f64,
    value: impl Strategy<Value = Value>,
) -> impl Strategy<Value = Option<(String, Value)>> {
    prop::option::weighted(p, value.prop_map(move |v| (key.to_string(), v)))
}

fn entries(items: Vec<Option<(String, Value)>>) -> Vec<(String, Value)> {
    items.into_iter().flatten().collect()
}

fn tenant_tables() -> impl Strategy<Value = Vec<Table>> {
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

/// One edit to a generated document.
#[derive(Debug, Clone)]
enum Edit {
    /// A key no table has.
    UnknownKey(prop::sample::Index, String),
    /// A value of another type.
    WrongType(prop::sample::Index, prop::sample::Index),
    /// A key written twice.
    Duplicate(prop::sample::Index, prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    let i = any::<prop::sample::Index>;
    prop_oneof![
        (i(), "[a-z_]{1,12}").prop_map(|(t, k)| Edit::UnknownKey(t, k)),
        (i(), i()).prop_map(|(t, e)| Edit::WrongType(t, e)),
        (i(), i()).prop_map(|(t, e)| Edit::Duplicate(t, e)),
    ]
}

/// A whole document: top-level keys, one or two tenants, at most one edit.
#[derive(Debug, Clone)]
struct Document {
    tables: Vec<Table>,
    edit: Option<Edit>,
}

fn document() -> impl Strategy<Value = Document> {
    let top = (
        maybe("data_dir", 0.1, string(&["state"])),
        maybe("redis", 0.1, string(&["redis://127.0.0.1:1"])),
    );
    (
        top,
        prop_oneof![9 => prop::collection::vec(tenant_tables(), 1..3), 1 => Just(Vec::new())],
        prop::option::weighted(0.3, edit()),
        prop::bool::weighted(0.9),
    )
        .prop_map(|((d, r), tenants, edit, distinct)| {
            let mut tables = vec![Table {
                header: None,
                entries: entries(vec![d, r]),
            }];
            for (n, mut tenant) in tenants.into_iter().enumerate() {
                // Mostly tenants with their own name and route.
                if distinct && n > 0 {
                    let own = &mut tenant[0].entries;
                    own.retain(|(k, _)| k != "name" && k != "route");
                    own.push(("name".into(), Value::Str(format!("t{n}"))));
                    own.push(("route".into(), Value::Str(format!("/t{n}"))));
                }
                tables.extend(tenant);
            }
            Document { tables, edit }
        })
}

/// Keys each table knows.
fn schema(header: Option<&str>) -> &'static [&'static str] {
    match header {
        None => &["data_dir", "redis", "tenant"],
        Some("[[tenant]]") => &[
            "name",
            "route",
            "host",
            "auth",
            "limits",
            "capabilities",
            "fanout",
            "static",
            "state",
            "component",
        ],
        Some("[tenant.auth]") => &[
            "bot_token",
            "bot_token_env",
            "bot_id",
            "telegram_key",
            "none",
            "max_age",
            "transports",
            "first_message_timeout",
        ],
        Some("[tenant.limits]") => &[
            "timeout_ms",
            "fuel",
            "max_memory_mib",
            "max_concurrency",
            "max_queue",
            "max_connections",
            "max_connections_per_user",
            "max_connections_per_ip",
            "max_message_bytes",
            "rate_per_second",
            "rate_burst",
        ],
        Some("[tenant.state]") => &["max_keys", "max_bytes"],
        Some("[tenant.capabilities]") => &["env", "dir"],
        Some(_) => &["path", "lifecycle", "max_uses", "pool_size"],
    }
}

/// The document with its edit applied; the keys the edit made wrong.
fn apply(doc: &Document) -> (Vec<Table>, Vec<String>) {
    let mut tables = doc.tables.clone();
    let mut at_fault = Vec::new();
    match &doc.edit {
        None => {}
        Some(Edit::UnknownKey(t, key)) => {
            let t = &mut tables[t.index(doc.tables.len())];
            if !schema(t.header).contains(&key.as_str()) {
                t.entries.push((key.clone(), Value::Int(1)));
                at_fault.push(key.clone());
            }
        }
        Some(Edit::WrongType(t, e)) => {
            let t = &mut tables[t.index(doc.tables.len())];
            if !t.entries.is_empty() {
                let n = t.entries.len();
                let (key, value) = &mut t.entries[e.index(n)];
                *value = Value::WrongType(match value {
                    Value::Str(_) | Value::Float(_) => "true",
                    Value::Int(_) | Value::Bool(_) => "\"text\"",
                    Value::StrArray(_) | Value::Table(_) => "1",
                    Value::WrongType(w) => w,
                });
                at_fault.push(key.clone());
            }
        }
        Some(Edit::Duplicate(t, e)) => {
            let t = &mut tables[t.index(doc.tables.len())];
            if !t.entries.is_empty() {
                let copy = t.entries[e.index(t.entries.len())].clone();
                at_fault.push(copy.0.clone());
                t.entries.push(copy);
            }
        }
    }
    (tables, at_fault)
}

fn render(tables: &[Table]) -> String {
    let mut out = String::new();
    for t in tables {
        if let Some(h) = t.header {
            out.push_str(h);
            out.push('\n');
        }
        for (k, v) in &t.entries {
            out.push_str(&format!("{k} = {}\n", v.render()));
        }
    }
    out
}

/// The directory documents are read against: `c.wasm` (a file), `data/` and `public/`.
fn base() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("extws-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::create_dir_all(dir.join("public")).unwrap();
    std::fs::write(dir.join("c.wasm"), b"not checked here").unwrap();
    dir
}

/// The oracle: every key's rule, as the README and the config docs give it. Returns the keys
/// at fault (empty: the document is valid).
fn oracle(tables: &[Table], base: &Path) -> Vec<String> {
    let mut fault = Vec::new();
    let mut flag = |ok: bool, key: &str| {
        if !ok {
            fault.push(key.to_string());
        }
    };
    let tenants: Vec<usize> = (0..tables.len())
        .filter(|&i| tables[i].header == Some("[[tenant]]"))
        .collect();
    flag(!tenants.is_empty(), "tenant");
    let mut seen = Vec::new();
    for (n, &start) in tenants.iter().enumerate() {
        let end = tenants.get(n + 1).copied().unwrap_or(tables.len());
        let own = &tables[start..end];
        let get = |header: &str, key: &str| {
            own.iter()
                .filter(|t| t.header == Some(header))
                .flat_map(|t| t.entries.iter())
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
        };
        let str_of = |v: Option<&Value>| match v {
            Some(Value::Str(s)) => Some(s.clone()),
            _ => None,
        };
        let name = str_of(get("[[tenant]]", "name"));
        flag(get("[[tenant]]", "name").is_some(), "name");
        if let Some(name) = &name {
            flag(
                !name.is_empty()
                    && name
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
                "name",
            );
        }
        let route = str_of(get("[[tenant]]", "route")).unwrap_or("/".into());
        flag(route.starts_with('/'), "route");
        let host = str_of(get("[[tenant]]", "host")).map(|h| h.to_lowercase());
        if name.is_some() {
            flag(!seen.iter().any(|(n, _)| n == &name), "name");
            flag(
                !seen
                    .iter()
                    .any(|(_, r)| r == &(route.clone(), host.clone())),
                "route",
            );
            seen.push((name.clone(), (route.clone(), host.clone())));
        }
        if let Some(Value::Str(s)) = get("[[tenant]]", "static") {
            flag(base.join(s).is_dir(), "static");
        }
        let components: Vec<&Table> = own
            .iter()
            .filter(|t| t.header == Some("[[tenant.component]]"))
            .collect();
        flag(!components.is_empty(), "component");
        for c in &components {
            let value = |key: &str| c.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v);
            match value("path") {
                Some(Value::Str(p)) => flag(base.join(p).is_file(), "path"),
                _ => flag(false, "path"),
            }
            if let Some(Value::Str(l)) = value("lifecycle") {
                flag(
                    ["fresh", "pooled", "connection"].contains(&l.as_str()),
                    "lifecycle",
                );
            }
            if let Some(Value::Int(n)) = value("max_uses") {
                flag((1..=u32::MAX as i64).contains(n), "max_uses");
            }
            if let Some(Value::Int(n)) = value("pool_size") {
                flag(*n >= 1, "pool_size");
            }
        }
        let limit = |key: &str, ok: &dyn Fn(i64) -> bool| match get("[tenant.limits]", key) {
            Some(Value::Int(n)) => ok(*n),
            _ => true,
        };
        for (key, ok) in [
            ("timeout_ms", &(|n: i64| n >= 1) as &dyn Fn(i64) -> bool),
            ("fuel", &|n| n >= 1),
            ("max_memory_mib", &|n| (1..=4096).contains(&n)),
            ("max_concurrency", &|n| n >= 1),
            ("max_queue", &|n| n >= 0),
            ("max_connections", &|n| n >= 1),
            ("max_connections_per_user", &|n| n >= 1),
            ("max_connections_per_ip", &|n| n >= 1),
            ("max_message_bytes", &|n| (64..=67_108_864).contains(&n)),
            ("rate_per_second", &|n| n >= 1),
            ("rate_burst", &|n| (1..=u32::MAX as i64).contains(&n)),
        ] {
            flag(limit(key, ok), key);
        }
        if let Some(Value::Float(f)) = get("[tenant.limits]", "rate_per_second") {
            let f: f64 = f.trim_start_matches('+').parse().unwrap();
            flag(f > 0.0 && f.is_finite(), "rate_per_second");
        }
        for (header, key) in [
            ("[tenant.auth]", "bot_id"),
            ("[tenant.auth]", "max_age"),
            ("[tenant.auth]", "first_message_timeout"),
            ("[tenant.state]", "max_keys"),
            ("[tenant.state]", "max_bytes"),
        ] {
            if let Some(Value::Int(n)) = get(header, key) {
                flag(*n >= 0, key);
            }
        }
        if let Some(Value::Table(dir)) = get("[tenant.capabilities]", "dir") {
            flag(base.join(&dir[0].1).is_dir(), "host");
            flag(dir[1].1.starts_with('/'), "guest");
        }
        // Authentication: exactly one way, each well formed.
        if own.iter().all(|t| t.header != Some("[tenant.auth]")) {
            flag(false, "auth");
            continue;
        }
        let transports = match get("[tenant.auth]", "transports") {
            Some(Value::StrArray(t)) => Some(t.clone()),
            _ => None,
        };
        if let Some(t) = &transports {
            let known = ["query", "header", "subprotocol", "message"];
            flag(t.iter().all(|x| known.contains(&x.as_str())), "transports");
        }
        if get("[tenant.auth]", "telegram_key").is_some() {
            flag(get("[tenant.auth]", "bot_id").is_some(), "telegram_key");
        }
        let token = str_of(get("[tenant.auth]", "bot_token"));
        let env = get("[tenant.auth]", "bot_token_env").is_some();
        let bot_id = get("[tenant.auth]", "bot_id").is_some();
        let none = matches!(get("[tenant.auth]", "none"), Some(Value::Bool(true)));
        match (token.is_some() || env, bot_id, none) {
            _ if token.is_some() && env => flag(false, "bot_token_env"),
            _ if env => flag(false, "bot_token_env"),
            (true, _, true) | (_, true, true) => flag(false, "none"),
            (true, true, _) => flag(false, "bot_id"),
            (false, false, false) => flag(false, "bot_token_env"),
            (false, false, true) => continue,
            _ => {}
        }
        if let Some(t) = token {
            flag(!t.trim().is_empty() && t.contains(':'), "bot_token");
        }
        if let Some(Value::Str(key)) = get("[tenant.auth]", "telegram_key") {
            let named = ["prod", "production", "test"].contains(&key.as_str());
            let point = hex::decode(key.trim())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .is_some_and(|b| ed25519_dalek::VerifyingKey::from_bytes(&b).is_ok());
            flag(named || point, "telegram_key");
        }
        if let Some(t) = transports {
            flag(!t.is_empty(), "transports");
        }
    }
    fault
}

/// `from_toml` agrees with the oracle: a valid document loads with its limits as written; an
/// invalid one is refused, naming one of the keys at fault.
fn agrees(doc: &Document, base: &Path) -> Result<(), TestCaseError> {
    let (tables, mut at_fault) = apply(doc);
    at_fault.extend(oracle(&tables, base));
    let text = render(&tables);
    match Config::from_toml(&text, base) {
        Ok(config) => {
            prop_assert!(
                at_fault.is_empty(),
                "accepted, but {at_fault:?} are wrong:\n{text}"
            );
            let limits: Vec<&Table> = tables
                .iter()
                .filter(|t| t.header == Some("[tenant.limits]"))
                .collect();
            let mib = limits
                .first()
                .and_then(|t| t.entries.iter().find(|(k, _)| k == "max_memory_mib"));
            if config.tenants.len() == 1
                && limits.len() == 1
                && let Some((_, Value::Int(mib))) = mib
            {
                prop_assert_eq!(
                    config.tenants[0].limits.max_memory_bytes as i128,
                    (*mib as i128) << 20
                );
            }
        }
        Err(e) => {
            let message = format!("{e:#}");
            prop_assert!(
                !at_fault.is_empty(),
                "refused a valid document: {message}\n{text}"
            );
            prop_assert!(
                at_fault.iter().any(|k| message.contains(k.as_str())),
                "the error names none of {at_fault:?}: {message}\n{text}"
            );
        }
    }
    Ok(())
}

/// Text near a valid document, and any text: `from_toml` returns, with a message when it
/// refuses.
fn returns(text: &str, base: &Path) -> Result<(), TestCaseError> {
    if let Err(e) = Config::from_toml(text, base) {
        let message = format!("{e:#}");
        prop_assert!(!message.is_empty());
    }
    Ok(())
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_config() {
    let base = base();
    fuzz("config", 500, document, |doc| agrees(&doc, &base));
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_config_text() {
    let base = base();
    let text = || {
        let near = (
            document(),
            prop::collection::vec(crate::json::mutation(), 1..4),
        )
            .prop_map(|(doc, mutations): (Document, Vec<Mutation>)| {
                let text = render(&apply(&doc).0);
                mutations
                    .iter()
                    .fold(text, |t, m| crate::json::mutate(&t, m))
            });
        prop_oneof![3 => near, 1 => any::<String>()]
    };
    fuzz("config_text", 500, text, |text| returns(&text, &base));
}
