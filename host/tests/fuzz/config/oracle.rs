//! The oracle of the `config` target: every key's rule, as docs/operating.md and extws.example.toml give
//! it.

use std::path::Path;

use super::values::{Table, Value};

/// The oracle: every key's rule, as docs/operating.md and extws.example.toml give it. Returns the keys
/// at fault (empty: the document is valid).
pub fn oracle(tables: &[Table], base: &Path) -> Vec<String> {
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
