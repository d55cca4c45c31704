//! `extws-wasm new NAME --lang LANG`: a self-contained handler project — the language's SDK
//! template with one example handler, the SDK itself vendored beside it and the WIT — all
//! embedded in this binary (`build.rs`), so it works from an installed binary and names no
//! path of the machine it was built on. `make` in the project builds `NAME.wasm`. C has no SDK:
//! its project is the raw-bindings calc example.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};

use crate::cli::{NewArgs, NewLang};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/scaffold_files.rs"));
}

impl NewLang {
    /// The name the embedded files are filed under.
    fn key(self) -> &'static str {
        match self {
            NewLang::Rust => "rust",
            NewLang::Go => "go",
            NewLang::C => "c",
            NewLang::Python => "python",
            NewLang::Js => "js",
        }
    }
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
    let lang = args.lang.key();
    let files: Vec<_> = embedded::FILES.iter().filter(|f| f.0 == lang).collect();
    if files.is_empty() {
        bail!(
            "this extws-wasm was built without the {lang} SDK, so `new --lang {lang}` cannot run"
        );
    }
    let snake = name.replace('-', "_");
    for (_, path, contents, template) in files {
        let path = fill(path, name, &snake);
        let target = dir.join(&path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let bytes = if *template {
            fill(&String::from_utf8_lossy(contents), name, &snake).into_bytes()
        } else {
            contents.to_vec()
        };
        std::fs::write(&target, bytes).with_context(|| format!("writing {}", target.display()))?;
        if path.ends_with(".sh") {
            make_executable(&target)?;
        }
    }
    if args.lang == NewLang::C {
        c_makefile(&dir, name)?;
    } else if !dir.join("Makefile").exists() {
        // Every project builds with `make`, whatever its language's own build script is.
        let makefile = format!(
            "# `make` builds {name}.wasm with ./build.sh.\n.PHONY: build\nbuild:\n\t./build.sh {name}.wasm\n"
        );
        std::fs::write(dir.join("Makefile"), makefile)?;
    }
    Ok(dir)
}

/// Replaces the placeholders: `{{name}}` and `{{name_snake}}` (`-` as `_`).
fn fill(text: &str, name: &str, snake: &str) -> String {
    text.replace("{{name_snake}}", snake)
        .replace("{{name}}", name)
}

fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut permissions = std::fs::metadata(path)?.permissions();
    permissions.set_mode(permissions.mode() | 0o755);
    std::fs::set_permissions(path, permissions)?;
    Ok(())
}

/// The C project is the calc example with its build script; `make` runs it on the project's WIT.
fn c_makefile(dir: &Path, name: &str) -> anyhow::Result<()> {
    let makefile = format!(
        "# `make` builds {name}.wasm with clang and wasi-libc (build.sh says what it needs).\n\
         EXTWS_WASM ?= extws-wasm\n\
         .PHONY: build\n\
         build:\n\
         \tEXTWS_WIT=wit EXTWS_WASM=\"$$(command -v $(EXTWS_WASM) || echo $(EXTWS_WASM))\" ./build.sh {name}.wasm\n"
    );
    std::fs::write(dir.join("Makefile"), makefile)?;
    Ok(())
}
