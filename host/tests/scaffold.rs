//! `extws-wasm new NAME --lang L`: the scaffold builds with one command and `call` works on
//! it, for every language whose example component `make guests` could build here (the others
//! are reported as ignored).

use std::path::PathBuf;
use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};

const BIN: &str = env!("CARGO_BIN_EXE_extws-wasm");

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() {
    let args = Arguments::from_args();
    let trials = ["rust", "go", "c", "python", "js"]
        .into_iter()
        .map(|lang| {
            let built = repo()
                .join(format!("target/guests/calc-{lang}.wasm"))
                .is_file();
            if !built {
                eprintln!(
                    "skipped new --lang {lang}: target/guests/calc-{lang}.wasm is missing; \
                     `make guests` builds it (when its toolchain can be installed)"
                );
            }
            Trial::test(
                format!("new --lang {lang} builds and answers call"),
                move || scaffold(lang),
            )
            .with_ignored_flag(!built)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run(cmd: &mut Command) -> Result<String, Failed> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "{cmd:?} failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn scaffold(lang: &str) -> Result<(), Failed> {
    let base = std::env::temp_dir().join(format!("extws-new-{}-{lang}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    std::fs::create_dir_all(&base).unwrap();
    let name = format!("my-{lang}-handler");
    let dir = base.join(&name);
    run(Command::new(BIN)
        .args(["new", &name, "--lang", lang, "--dir"])
        .arg(&dir))?;
    run(Command::new("make").arg("-C").arg(&dir))?;
    let wasm = dir.join(format!("{name}.wasm"));
    let out = run(Command::new(BIN)
        .arg("call")
        .arg(&wasm)
        .args(["CalculateRequest", r#"{"numbers":[1,2]}"#]))?;
    if out.trim() != r#"{"Type":"CalculateResponse","Data":{"result":3}}"# {
        return Err(format!("unexpected reply: {out}").into());
    }
    // A second `new` into the same place refuses to overwrite it.
    let again = Command::new(BIN)
        .args(["new", &name, "--lang", lang, "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    if again.status.success() {
        return Err("new overwrote an existing directory".into());
    }
    let _ = std::fs::remove_dir_all(&base);
    Ok(())
}
