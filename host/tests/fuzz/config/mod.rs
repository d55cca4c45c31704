//! Fuzz target `config`: `Config::from_toml` on structured `extws.toml` documents whose every
//! value is drawn from a wide range (integers near powers of two, odd floats, any string, wrong
//! types, unknown and duplicated keys, missing tables), against an oracle that knows each key's
//! rule; and on mutated and arbitrary text. Never a panic; a document the oracle finds valid
//! loads, with the values written; an invalid one is refused with a message naming a key at
//! fault.
//!
//! The generated documents are in [`values`] (values and tenant tables) and [`document`] (whole
//! documents, their edits and their text); the oracle is in [`oracle`].

mod document;
mod oracle;
mod values;

use std::path::{Path, PathBuf};

use extws_wasm::Config;
use proptest::prelude::*;

use crate::driver::fuzz;
use crate::json::Mutation;
use document::{Document, apply, document, render};
use oracle::oracle;
use values::{Table, Value};

/// The directory documents are read against: `c.wasm` (a file), `data/` and `public/`.
fn base() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("extws-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).unwrap();
    std::fs::create_dir_all(dir.join("public")).unwrap();
    std::fs::write(dir.join("c.wasm"), b"not checked here").unwrap();
    dir
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
