//! `extws-wasm new NAME --lang LANG`: a handler project copied from this repository's calc
//! example in that language, wired to this repository's WIT and host binary, with a Makefile
//! whose default target builds `NAME.wasm`.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::cli::{NewArgs, NewLang};

/// The repository this binary was built from (override with `EXTWS_REPO`).
fn repo() -> PathBuf {
    std::env::var_os("EXTWS_REPO")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Creates the project and returns its directory.
pub fn run(args: &NewArgs) -> anyhow::Result<PathBuf> {
    let name = &args.name;
    let valid = !name.is_empty()
        && name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !valid {
        bail!("NAME must start with a letter and hold only letters, digits, '-' and '_'");
    }
    let dir = args.dir.clone().unwrap_or_else(|| PathBuf::from(name));
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let repo = repo()
        .canonicalize()
        .context("the extws-wasm repository this binary was built from is gone (set EXTWS_REPO)")?;
    let wit = repo.join("wit");
    let source = match args.lang {
        NewLang::Rust => repo.join("guest-examples/calc"),
        other => repo.join("guest-examples").join(other.dir()).join("calc"),
    };
    if !source.is_dir() || !wit.is_dir() {
        bail!("{} or {} is missing", source.display(), wit.display());
    }
    copy_dir(&source, &dir)?;
    let binary = std::env::current_exe().context("locating this binary")?;
    let makefile = match args.lang {
        NewLang::Rust => rust_project(&dir, name, &wit)?,
        _ => format!(
            "# `make` builds {name}.wasm with the example's build script.\n\
             .PHONY: build\n\
             build:\n\
             \tEXTWS_WIT={wit} EXTWS_WASM={bin} ./build.sh {name}.wasm\n",
            wit = wit.display(),
            bin = binary.display(),
        ),
    };
    std::fs::write(dir.join("Makefile"), makefile)?;
    Ok(dir)
}

/// A standalone crate: its own `[workspace]`, the WIT path made absolute.
fn rust_project(dir: &Path, name: &str, wit: &Path) -> anyhow::Result<String> {
    let crate_name = name.replace('-', "_");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"

[lib]
crate-type = ["cdylib"]

[dependencies]
wit-bindgen = "0.63"
serde = {{ version = "1", features = ["derive"] }}
serde_json = "1"

[profile.release]
opt-level = "s"
lto = true
strip = true

# A project of its own, not part of any enclosing workspace.
[workspace]
"#
        ),
    )?;
    let lib = dir.join("src/lib.rs");
    let code = std::fs::read_to_string(&lib)?;
    let code = code.replace(
        r#"path: "../../wit","#,
        &format!("path: {:?},", wit.display().to_string()),
    );
    std::fs::write(&lib, code)?;
    Ok(format!(
        "# `make` builds {name}.wasm (needs: rustup target add wasm32-wasip2).\n\
         TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)\n\
         .PHONY: build\n\
         build:\n\
         \tcargo build --release --target wasm32-wasip2\n\
         \tcp $(TARGET_DIR)/wasm32-wasip2/release/{crate_name}.wasm {name}.wasm\n"
    ))
}

fn copy_dir(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        if name == "node_modules" || name == "target" || name == "__pycache__" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}
