//! Unit tests of `extws.toml` parsing and validation.
use super::*;

fn err(toml: &str) -> String {
    format!("{:#}", Config::from_toml(toml, Path::new(".")).unwrap_err())
}

#[test]
fn unknown_keys_are_named_with_their_line() {
    let e = err("[[tenant]]\nname = \"a\"\nroute = \"/a\"\ncolour = \"red\"\n");
    assert!(e.contains("colour") && e.contains("line 4"), "{e}");
}

#[test]
fn auth_must_be_explicit() {
    let e = err(
        "[[tenant]]\nname = \"a\"\n[tenant.auth]\n[[tenant.component]]\npath = \"Cargo.toml\"\n",
    );
    assert!(e.contains("bot_token_env"), "{e}");
}

#[test]
fn limits_are_checked() {
    let e = err(concat!(
        "[[tenant]]\nname = \"a\"\n[tenant.auth]\nnone = true\n",
        "[tenant.limits]\nmax_concurrency = 0\n[[tenant.component]]\npath = \"Cargo.toml\"\n"
    ));
    assert!(e.contains("max_concurrency"), "{e}");
}

/// One tenant with these `[tenant.auth]` lines, these further tables and this component path
/// (any existing file will do: parsing never loads it).
fn tenant_toml(auth: &str, tables: &str, component: &str) -> String {
    format!(
        "[[tenant]]\nname = \"a\"\n[tenant.auth]\n{auth}\n{tables}\n\
         [[tenant.component]]\npath = \"{component}\"\n"
    )
}

/// [`tenant_toml`], parsed.
fn with(auth: &str, tables: &str, component: &str) -> anyhow::Result<Config> {
    Config::from_toml(&tenant_toml(auth, tables, component), Path::new("."))
}

#[test]
fn bot_api_access_uses_the_auth_token_and_checks_method_names() {
    let config = with(
        "bot_token = \"1:secret\"",
        "[tenant.telegram]\nmethods = [\"sendMessage\"]\napi_url = \"http://127.0.0.1:1\"",
        "Cargo.toml",
    )
    .unwrap();
    let api = config.tenants[0].capabilities.telegram.as_ref().unwrap();
    assert_eq!(api.methods().collect::<Vec<_>>(), ["sendMessage"]);
    assert!(!format!("{api:?}").contains("secret"), "{api:?}");

    let e = err(&tenant_toml(
        "bot_token = \"1:secret\"",
        "[tenant.telegram]\nmethods = [\"send-message\"]",
        "Cargo.toml",
    ));
    assert!(
        e.contains("send-message") && e.contains("method name"),
        "{e}"
    );
    let e = err(&tenant_toml(
        "bot_id = 1",
        "[tenant.telegram]\nmethods = [\"sendMessage\"]",
        "Cargo.toml",
    ));
    assert!(e.contains("bot_token_env"), "{e}");
    let e = err(&tenant_toml(
        "none = true",
        "[tenant.telegram]\napi_url = \"ftp://x\"",
        "Cargo.toml",
    ));
    assert!(e.contains("api_url"), "{e}");
}

#[test]
fn http_origins_are_checked() {
    let config = with(
        "none = true",
        "[tenant.capabilities]\nhttp = [\"https://api.example.com\", \"https://*.example.org:8443\"]",
        "Cargo.toml",
    )
    .unwrap();
    assert!(config.tenants[0].capabilities.http.is_some());
    assert!(config.tenants[0].capabilities.telegram.is_none());
    let e = err(&tenant_toml(
        "none = true",
        "[tenant.capabilities]\nhttp = [\"https://api.example.com/v1\"]",
        "Cargo.toml",
    ));
    assert!(
        e.contains("capabilities.http") && e.contains("no path"),
        "{e}"
    );
}

#[test]
fn every_refusal_names_its_key() {
    // Found by `make fuzz` (target config): these messages named no key.
    let e = format!("{:#}", with("none = true", "", "missing.wasm").unwrap_err());
    assert!(e.contains("component.path"), "{e}");
    let e = format!(
        "{:#}",
        with("bot_token = \"nocolon\"", "", "Cargo.toml").unwrap_err()
    );
    assert!(e.contains("auth.bot_token:"), "{e}");
    // A telegram_key without bot_id was silently ignored.
    let e = format!(
        "{:#}",
        with(
            "bot_token = \"1:x\"\ntelegram_key = \"test\"",
            "",
            "Cargo.toml"
        )
        .unwrap_err()
    );
    assert!(e.contains("auth.telegram_key"), "{e}");
}

#[test]
fn huge_concurrency_saturates_the_pool_size() {
    // Found by `make fuzz` (target config): the instance count overflowed (a panic in debug
    // builds, a pool of 0 instances in release).
    let config = with(
        "none = true",
        "[tenant.limits]\nmax_concurrency = 4294967295",
        "Cargo.toml",
    )
    .unwrap();
    assert_eq!(config.engine.total_instances, u32::MAX);
}

#[test]
fn bot_updates_are_one_mode_with_what_it_needs() {
    // `cargo test` sets CARGO_PKG_NAME (`extws-wasm`, a valid secret) for the test process.
    let auth = "bot_token = \"1:secret\"";
    let telegram = |keys: &str| format!("[tenant.telegram]\n{keys}");
    let config = with(
        auth,
        &telegram("updates = \"webhook\"\nwebhook_secret_env = \"CARGO_PKG_NAME\""),
        "Cargo.toml",
    )
    .unwrap();
    match &config.tenants[0].updates {
        Some(crate::config::updates::Updates::Webhook { path, secret }) => {
            assert_eq!(path, "/telegram/webhook");
            assert!(secret.matches(b"extws-wasm"));
        }
        other => panic!("{other:?}"),
    }
    let polling = with(
        auth,
        &telegram("updates = \"polling\"\npoll_timeout = 5"),
        "Cargo.toml",
    );
    assert!(matches!(
        polling.unwrap().tenants[0].updates,
        Some(crate::config::updates::Updates::Polling { .. })
    ));
    for (keys, expected) in [
        ("updates = \"webhook\"", "webhook_secret_env"),
        (
            "updates = \"polling\"\nwebhook_path = \"/hook\"",
            "webhook_path",
        ),
        ("webhook_secret_env = \"CARGO_PKG_NAME\"", "need updates"),
        ("updates = \"polling\"\npoll_timeout = 600", "at most 50"),
        ("updates = \"sometimes\"", "unknown variant"),
        (
            "updates = \"webhook\"\nwebhook_secret_env = \"EXTWS_TEST_UNSET_VAR\"",
            "not set",
        ),
    ] {
        let e = err(&tenant_toml(auth, &telegram(keys), "Cargo.toml"));
        assert!(e.contains(expected), "{keys}: {e}");
    }
    // Updates need a token to poll or register with; Ed25519 auth has none of its own.
    let e = err(&tenant_toml(
        "bot_id = 1",
        &telegram("updates = \"polling\""),
        "Cargo.toml",
    ));
    assert!(e.contains("needs the bot token"), "{e}");
}

#[test]
fn push_history_defaults_and_bounds() {
    use crate::capabilities::push::history::DEFAULT_HISTORY;
    let config = with("none = true", "", "Cargo.toml").unwrap();
    assert_eq!(config.tenants[0].push_history, DEFAULT_HISTORY);
    let config = with(
        "none = true",
        "[tenant.push]\nhistory_size = 0\nhistory_ttl = 60",
        "Cargo.toml",
    )
    .unwrap();
    let history = config.tenants[0].push_history;
    assert!(!history.enabled());
    assert_eq!(history.ttl, std::time::Duration::from_secs(60));
    let config = with(
        "none = true",
        "[tenant.push]\nhistory_max_bytes = 4096",
        "Cargo.toml",
    )
    .unwrap();
    assert_eq!(config.tenants[0].push_history.max_bytes, 4096);
    for (bad, key) in [
        ("history_size = 10001", "history_size"),
        ("history_ttl = 0", "history_ttl"),
        ("history_ttl = 86401", "history_ttl"),
        ("history_count = 3", "history_count"),
        ("history_max_bytes = 1000", "history_max_bytes"),
    ] {
        let e = format!(
            "{:#}",
            with(
                "none = true",
                &format!("[tenant.push]\n{bad}"),
                "Cargo.toml"
            )
            .unwrap_err()
        );
        assert!(e.contains(key), "{bad}: {e}");
    }
}

#[test]
fn metrics_listen_is_an_address() {
    let tenant = tenant_toml("none = true", "", "Cargo.toml");
    let config = Config::from_toml(
        &format!("metrics_listen = \"127.0.0.1:9100\"\n{tenant}"),
        Path::new("."),
    )
    .unwrap();
    assert_eq!(
        config.metrics_listen,
        Some("127.0.0.1:9100".parse().unwrap())
    );
    let e = err(&format!("metrics_listen = \"localhost\"\n{tenant}"));
    assert!(e.contains("metrics_listen") || e.contains("line 1"), "{e}");
    assert_eq!(
        with("none = true", "", "Cargo.toml")
            .unwrap()
            .metrics_listen,
        None
    );
}
