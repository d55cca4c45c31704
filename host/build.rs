//! Embeds what `extws-wasm new` writes, so an installed binary needs no checkout: per language
//! the SDK's `template/` (with `{{name}}` placeholders), the SDK files its `MANIFEST` lists
//! (vendored into the project) and the WIT. And tells the tests which components were built
//! ([`guests`]).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Language, where its files are (relative to the repository), where the SDK goes in a
/// project (`None`: no SDK, the template is the whole project), where the WIT goes.
const LANGUAGES: &[(&str, &str, Option<&str>, &str)] = &[
    ("rust", "sdk/rust", Some("extws-sdk"), "extws-sdk/wit"),
    ("python", "sdk/python", Some("."), "wit"),
    ("js", "sdk/js", Some("extws-sdk"), "wit"),
    ("go", "sdk/go", Some("extws-sdk"), "wit"),
    ("c", "guest-examples/c/calc", None, "wit"),
];

fn main() {
    // Read when the script runs, not baked in when it is compiled: cargo reuses a compiled
    // build script across checkouts that share a target directory, and one from another
    // checkout would embed that checkout's files (or, once it is gone, none).
    let manifest_dir =
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let repo = Path::new(&manifest_dir).join("..");
    let mut out = String::from(
        "/// (language, path in the project, contents, is a template)\n\
         pub static FILES: &[(&str, &str, &[u8], bool)] = &[\n",
    );
    println!("cargo:rerun-if-changed={}", repo.join("wit").display());
    for (lang, dir, vendor, wit_dir) in LANGUAGES {
        let root = repo.join(dir);
        println!("cargo:rerun-if-changed={}", root.display());
        let template = if vendor.is_some() {
            root.join("template")
        } else {
            root.clone()
        };
        let manifest = root.join("MANIFEST");
        if !template.is_dir() || (vendor.is_some() && !manifest.is_file()) {
            continue; // not in this checkout: `new` says so for this language
        }
        for file in walk(&template) {
            let rel = file
                .strip_prefix(&template)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            entry(&mut out, lang, &rel, &file, true);
        }
        if let Some(vendor) = vendor {
            println!("cargo:rerun-if-changed={}", manifest.display());
            let list = std::fs::read_to_string(&manifest).unwrap();
            for line in list
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
            {
                let file = root.join(line);
                assert!(
                    file.is_file(),
                    "{}: {line} does not exist",
                    manifest.display()
                );
                let dest = if *vendor == "." {
                    line.to_string()
                } else {
                    format!("{vendor}/{line}")
                };
                entry(&mut out, lang, &dest, &file, false);
            }
        }
        for wit in walk(&repo.join("wit"))
            .into_iter()
            .filter(|f| f.extension().is_some_and(|e| e == "wit"))
        {
            let name = wit.file_name().unwrap().to_string_lossy().into_owned();
            entry(&mut out, lang, &format!("{wit_dir}/{name}"), &wit, false);
        }
    }
    out.push_str("];\n");
    let dest = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("scaffold_files.rs");
    std::fs::write(dest, out).unwrap();
    guests(&repo);
}

/// `--cfg guest="NAME"` for each component in the checkout's `target/guests/` (where the
/// Makefile puts them, whatever `CARGO_TARGET_DIR` is), so that a test needing one `make
/// guests` could not build here (no toolchain for its language) is reported as ignored, not
/// passed: `#[cfg_attr(not(guest = "calc-go"), ignore = "...")]`. libtest cannot ignore a
/// test once it runs; this decides when the tests are compiled, and the script runs again
/// whenever something in the directory changes (a component built, rebuilt or removed).
fn guests(repo: &Path) {
    println!("cargo::rustc-check-cfg=cfg(guest, values(any()))");
    if !repo.join("Makefile").is_file() {
        return; // not built from a checkout: no tests, no components
    }
    let dir = repo.join("target/guests");
    // Cargo runs a script that watches a missing path on every build (rebuilding the crate each
    // time), so the directory `make guests` fills is made here when it is not there yet.
    let _ = std::fs::create_dir_all(&dir);
    println!("cargo::rerun-if-changed={}", dir.display());
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return;
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "wasm"))
        .filter_map(|p| Some(p.file_stem()?.to_str()?.to_string()))
        .collect();
    names.sort();
    for name in names {
        println!("cargo::rustc-cfg=guest={name:?}");
    }
}

fn entry(out: &mut String, lang: &str, dest: &str, file: &Path, template: bool) {
    let path = file.canonicalize().unwrap();
    let _ = writeln!(
        out,
        "    ({lang:?}, {dest:?}, include_bytes!({path:?}), {template}),"
    );
}

/// Every file under `dir`, sorted; skips build output and dependencies.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir).unwrap().flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let name = e.file_name();
        if ["node_modules", "target", "__pycache__", ".venv"]
            .iter()
            .any(|n| name == *n)
        {
            continue;
        }
        let path = e.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
