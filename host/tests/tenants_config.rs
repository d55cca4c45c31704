//! Tenants from a configuration file, run by the real binary: `check` on the example and on
//! broken configurations, the example configuration serving two tenants, and SIGHUP reloads.

mod common;

use std::process::Command;

use common::*;

const BIN: &str = env!("CARGO_BIN_EXE_extws-wasm");
const TOKEN_A: &str = "1001:tenant-a-token";

async fn count(ws: &mut Ws) -> u64 {
    ask_json(ws, r#"{"Type":"Count"}"#).await["Data"]
        .as_u64()
        .expect("a count")
}

#[test]
fn check_accepts_the_example_and_names_problems_in_broken_configs() {
    let example = repo().join("extws.example.toml");
    guest("stateful");
    let out = Command::new(BIN)
        .args(["check", "--config", example.to_str().unwrap()])
        .env("ACME_BOT_TOKEN", "123:abc")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("tenant acme") && stdout.contains("tenant globex"),
        "{stdout}"
    );

    let dir = std::env::temp_dir().join(format!("extws-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let calc = guest("calc").display().to_string();
    let broken = [
        (
            "[[tenant]]\nname = \"x\"\nroot = \"/\"\n",
            "unknown field `root`",
        ),
        (
            "[[tenant]]\nname = \"x\"\n[tenant.auth]\nnone = true\n[[tenant.component]]\npath = \"missing.wasm\"\n",
            "does not exist",
        ),
        (
            &format!(
                "[[tenant]]\nname = \"x\"\n[tenant.auth]\nnone = true\n[tenant.limits]\ntimeout_ms = 0\n[[tenant.component]]\npath = \"{calc}\"\n"
            ),
            "timeout_ms",
        ),
        (
            &format!(
                "[[tenant]]\nname = \"x\"\n[tenant.auth]\nnone = true\n[[tenant.component]]\npath = \"{calc}\"\n[[tenant.component]]\npath = \"{calc}\"\n"
            ),
            "claimed by both",
        ),
        (
            &format!(
                "[[tenant]]\nname = \"x\"\n[tenant.auth]\nbot_token_env = \"EXTWS_TEST_UNSET_VAR\"\n[[tenant.component]]\npath = \"{calc}\"\n"
            ),
            "EXTWS_TEST_UNSET_VAR is not set",
        ),
    ];
    for (i, (text, expect)) in broken.iter().enumerate() {
        let path = dir.join(format!("broken{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(BIN)
            .args(["check", "--config", path.to_str().unwrap()])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{text}");
        assert!(stderr.contains(expect), "expected {expect:?} in:\n{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_config_serves_two_tenants() {
    let example = repo().join("extws.example.toml");
    let (mut child, addr, _log) = serve_config(&example, &[("ACME_BOT_TOKEN", TOKEN_A)]).await;
    let mut acme = connect(&format!("ws://{addr}/acme?{}", signed_user(TOKEN_A, 5))).await;
    assert_eq!(
        ask(
            &mut acme,
            r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#
        )
        .await,
        r#"{"Type":"CalculateResponse","Data":{"result":4}}"#
    );
    assert_eq!(count(&mut acme).await, 1);
    assert_eq!(count(&mut acme).await, 2);
    // globex validates Telegram's Ed25519 signature: acme's HMAC-only initData is refused.
    match tokio_tungstenite::connect_async(format!(
        "ws://{addr}/globex?{}",
        signed_user(TOKEN_A, 5)
    ))
    .await
    {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
        other => panic!("expected 401, got {:?}", other.map(|_| ())),
    }
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_configuration_for_new_connections() {
    let dir = std::env::temp_dir().join(format!("extws-hup-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("extws.toml");
    let write = |component: &str| {
        let path = guest(component).display().to_string();
        let text = format!(
            "[[tenant]]\nname = \"t\"\n[tenant.auth]\nnone = true\n[[tenant.component]]\npath = \"{path}\"\n"
        );
        std::fs::write(&config, text).unwrap();
    };
    write("calc");
    let (mut child, addr, mut log) = serve_config(&config, &[]).await;
    let calc = r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#;
    let calc_reply = r#"{"Type":"CalculateResponse","Data":{"result":4}}"#;
    let mut before = connect(&format!("ws://{addr}/")).await;
    assert_eq!(ask(&mut before, calc).await, calc_reply);

    let hup = |pid: u32| {
        std::process::Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .unwrap();
    };
    let pid = child.id().unwrap();
    // A broken configuration is refused; the running one stays.
    std::fs::write(&config, "[[tenant]]\nnme = 1\n").unwrap();
    hup(pid);
    wait_for_log(&mut log, "reload failed").await;
    let mut during = connect(&format!("ws://{addr}/")).await;
    assert_eq!(ask(&mut during, calc).await, calc_reply);

    write("misbehave");
    hup(pid);
    wait_for_log(&mut log, "configuration reloaded").await;
    let mut after = connect(&format!("ws://{addr}/")).await;
    assert_eq!(
        ask(&mut after, r#"{"Type":"Echo","Data":1}"#).await,
        r#"{"Type":"EchoResponse","Data":1}"#
    );
    // The connection opened before the reload keeps the tenant it was accepted by.
    assert_eq!(ask(&mut before, calc).await, calc_reply);
    child.kill().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_that_raises_max_message_bytes_applies_to_new_connections() {
    let dir = temp_dir("hup-limit");
    let config = dir.join("extws.toml");
    let write = |max: usize| {
        let path = guest("misbehave").display().to_string();
        let text = format!(
            "[[tenant]]\nname = \"t\"\n[tenant.auth]\nnone = true\n[tenant.limits]\n\
             max_message_bytes = {max}\n[[tenant.component]]\npath = \"{path}\"\n"
        );
        std::fs::write(&config, text).unwrap();
    };
    write(1000);
    let (mut child, addr, mut log) = serve_config(&config, &[]).await;
    let big = format!(r#"{{"Type":"Echo","Data":"{}"}}"#, "x".repeat(2000));
    let mut before = connect(&format!("ws://{addr}/")).await;
    send(&mut before, &big).await;
    let close = expect_close(&mut before).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1009);

    write(4000);
    std::process::Command::new("kill")
        .args(["-HUP", &child.id().unwrap().to_string()])
        .status()
        .unwrap();
    wait_for_log(&mut log, "configuration reloaded").await;
    let mut after = connect(&format!("ws://{addr}/")).await;
    let reply = ask(&mut after, &big).await;
    assert!(reply.starts_with(r#"{"Type":"EchoResponse""#), "{reply}");
    child.kill().await.unwrap();
}

/// `extws-wasm serve --config FILE` on a free port: the child, its address and its log lines.
async fn serve_config(
    config: &std::path::Path,
    envs: &[(&str, &str)],
) -> (
    tokio::process::Child,
    String,
    tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(BIN)
        .args([
            "serve",
            "--config",
            config.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(temp_dir("tenants"))
        .envs(envs.iter().copied())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = tokio::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let listening = async {
        loop {
            let line = lines.next_line().await.unwrap().expect("server exited");
            if let Some(addr) = line.strip_prefix("listening on ws://") {
                return addr.to_string();
            }
        }
    };
    let addr = tokio::time::timeout(std::time::Duration::from_secs(120), listening)
        .await
        .expect("not listening within 120 s");
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok(Some(line)) = lines.next_line().await {
            let _ = tx.send(line);
        }
    });
    (child, addr, rx)
}

/// Waits (up to 30 s in all) for a log line containing `needle`.
async fn wait_for_log(log: &mut tokio::sync::mpsc::UnboundedReceiver<String>, needle: &str) {
    let found = async {
        loop {
            let line = log.recv().await.expect("server still running");
            if line.contains(needle) {
                return;
            }
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(30), found)
        .await
        .unwrap_or_else(|_| panic!("no log line with {needle:?} within 30 s"));
}
