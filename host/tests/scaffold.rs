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

/// The example request of each language's new project, and its reply.
fn example(lang: &str) -> (&'static str, &'static str, &'static str) {
    match lang {
        "rust" | "go" | "python" => (
            "GreetRequest",
            r#"{"name":"Ann"}"#,
            r#"{"Type":"GreetResponse","Data":{"text":"Hello, Ann! (asked by nobody)"}}"#,
        ),
        "js" => (
            "HelloRequest",
            r#"{"name":"Ann","times":2}"#,
            r#"{"Type":"HelloResponse","Data":{"greeting":"Hello, Ann! Hello, Ann!"}}"#,
        ),
        _ => (
            "CalculateRequest",
            r#"{"numbers":[1,2]}"#,
            r#"{"Type":"CalculateResponse","Data":{"result":3}}"#,
        ),
    }
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
    // The project names no path of this repository: it builds from what `new` wrote, with the
    // binary given as an installed one would be.
    let files = run(Command::new("grep")
        .args(["-rl", "--exclude-dir=node_modules"])
        .arg(repo().canonicalize().unwrap())
        .arg(&dir))
    .unwrap_or_default();
    if !files.trim().is_empty() {
        return Err(format!("the project names the repository's path in:\n{files}").into());
    }
    run(Command::new("make")
        .arg("-C")
        .arg(&dir)
        .env("EXTWS_WASM", BIN))?;
    let wasm = dir.join(format!("{name}.wasm"));
    let (msg_type, data, want) = example(lang);
    let out = run(Command::new(BIN)
        .arg("call")
        .arg(&wasm)
        .args([msg_type, data]))?;
    let reply: serde_json::Value =
        serde_json::from_str(out.trim()).map_err(|e| format!("{out}: {e}"))?;
    if reply != serde_json::from_str::<serde_json::Value>(want).unwrap() {
        return Err(format!("unexpected reply: {out}").into());
    }
    // An SDK project describes itself (its API, not calc's).
    if lang != "c" {
        let api = run(Command::new(BIN).arg("describe").arg(&wasm))?;
        if !api.contains(msg_type) || api.contains("CalculateRequest") {
            return Err(format!("describe: {api}").into());
        }
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
