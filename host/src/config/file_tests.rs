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
