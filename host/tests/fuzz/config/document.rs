//! A whole generated `extws.toml`: top-level keys, tenants, at most one edit (an unknown key, a
//! wrong type, a duplicate), each table's known keys, and the document as text.

use proptest::prelude::*;

use super::values::{Table, Value, entries, maybe, string, tenant_tables};

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
pub struct Document {
    tables: Vec<Table>,
    edit: Option<Edit>,
}

pub fn document() -> impl Strategy<Value = Document> {
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
pub fn apply(doc: &Document) -> (Vec<Table>, Vec<String>) {
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

pub fn render(tables: &[Table]) -> String {
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
