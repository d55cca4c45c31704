//! Tenants: routing, isolation of credentials and components, instance lifecycles, the
//! example configuration and `check`.

mod common;

use std::process::Command;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Verifier};
use extws_wasm::config::Route;
use extws_wasm::runtime::{ComponentSpec, Lifecycle};

const BIN: &str = env!("CARGO_BIN_EXE_extws-wasm");
const TOKEN_A: &str = "1001:tenant-a-token";
const TOKEN_B: &str = "1002:tenant-b-token";

fn routed(
    name: &str,
    prefix: &str,
    token: &str,
    components: &[&str],
) -> extws_wasm::config::TenantConfig {
    let mut t = tenant(name, components);
    t.route = Route {
        path_prefix: prefix.into(),
        host: None,
    };
    t.auth = AuthPolicy::new(Verifier::hmac(token));
    t
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_and_components_stay_with_their_tenant() {
    let a = routed("a", "/a", TOKEN_A, &["calc"]);
    let b = routed("b", "/b", TOKEN_B, &["misbehave"]);
    let server = start(Config::new(vec![a, b])).await;

    let mut on_a = connect(&server.url(&format!("/a?{}", signed_user(TOKEN_A, 1)))).await;
    let who = ask_json(&mut on_a, r#"{"Type":"WhoAmIRequest"}"#).await;
    assert_eq!(who["Data"]["user"]["id"], 1);
    // A's initData is refused on B's route, and the other way round.
    for url in [
        format!("/b?{}", signed_user(TOKEN_A, 1)),
        format!("/a?{}", signed_user(TOKEN_B, 2)),
    ] {
        match tokio_tungstenite::connect_async(server.url(&url)).await {
            Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 401),
            other => panic!("{url}: expected 401, got {:?}", other.map(|_| ())),
        }
    }
    // B's components are unreachable from A and vice versa.
    let reply = ask_json(&mut on_a, r#"{"Type":"Echo","Data":1}"#).await;
    assert_eq!(error_code(&reply), "unknown_type");
    let mut on_b = connect(&server.url(&format!("/b/ws?{}", signed_user(TOKEN_B, 2)))).await;
    assert_eq!(
        error_code(
            &ask_json(
                &mut on_b,
                r#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#
            )
            .await
        ),
        "unknown_type"
    );
    // The guest is told its tenant.
    let session = ask_json(&mut on_b, r#"{"Type":"Session"}"#).await;
    assert_eq!(session["Data"]["tenant"], "b");
    // No tenant serves /c.
    match tokio_tungstenite::connect_async(server.url("/c")).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => assert_eq!(r.status(), 404),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
}

fn stateful(name: &str, prefix: &str, lifecycle: Lifecycle) -> extws_wasm::config::TenantConfig {
    let mut t = tenant(name, &[]);
    t.route = Route {
        path_prefix: prefix.into(),
        host: None,
    };
    t.components = vec![ComponentSpec {
        lifecycle,
        ..ComponentSpec::fresh(guest("stateful"))
    }];
    t
}

async fn count(ws: &mut Ws) -> u64 {
    ask_json(ws, r#"{"Type":"Count"}"#).await["Data"]
        .as_u64()
        .expect("a count")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_keeps_nothing_between_messages() {
    let server = start(Config::new(vec![stateful("f", "/", Lifecycle::Fresh)])).await;
    let mut ws = connect(&server.url("/")).await;
    for _ in 0..3 {
        assert_eq!(count(&mut ws).await, 1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_reuses_within_a_tenant_and_never_across_tenants() {
    let a = stateful("a", "/a", Lifecycle::Pooled);
    let b = stateful("b", "/b", Lifecycle::Pooled);
    let server = start(Config::new(vec![a, b])).await;
    let mut a1 = connect(&server.url("/a")).await;
    assert_eq!(count(&mut a1).await, 1);
    assert_eq!(count(&mut a1).await, 2, "warm instance reused");
    let mut a2 = connect(&server.url("/a")).await;
    assert_eq!(
        count(&mut a2).await,
        3,
        "reused across connections of the same tenant"
    );
    let mut b1 = connect(&server.url("/b")).await;
    assert_eq!(
        count(&mut b1).await,
        1,
        "tenant b never gets tenant a's instance"
    );
    assert_eq!(count(&mut a1).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pooled_instances_are_replaced_after_max_uses_and_after_failures() {
    let mut t = tenant("p", &[]);
    t.components = vec![
        ComponentSpec {
            lifecycle: Lifecycle::Pooled,
            max_uses: 3,
            ..ComponentSpec::fresh(guest("stateful"))
        },
        ComponentSpec {
            lifecycle: Lifecycle::Pooled,
            ..ComponentSpec::fresh(guest("trap"))
        },
    ];
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    let counts: Vec<u64> = [
        count(&mut ws).await,
        count(&mut ws).await,
        count(&mut ws).await,
        count(&mut ws).await,
    ]
    .into();
    assert_eq!(counts, vec![1, 2, 3, 1]);
    for _ in 0..3 {
        assert_eq!(
            error_code(&ask_json(&mut ws, r#"{"Type":"Panic"}"#).await),
            "handler_failed"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pooled_instance_sees_each_new_callers_session() {
    // Its own tenant name: the instance counter below is global to this test binary.
    let mut t = routed("pooled-session", "/", TOKEN_A, &[]);
    t.auth.max_age = None;
    t.components = ["misbehave", "calc"]
        .map(|g| ComponentSpec {
            lifecycle: Lifecycle::Pooled,
            pool_size: 1,
            ..ComponentSpec::fresh(guest(g))
        })
        .to_vec();
    let server = start(Config::new(vec![t])).await;
    let sign = |id: i64, auth_date: u64, start: &str| {
        extws_wasm::auth::telegram::sign_hmac(
            &[
                (
                    "user".into(),
                    format!(r#"{{"id":{id},"first_name":"U{id}"}}"#),
                ),
                ("auth_date".into(), auth_date.to_string()),
                ("start_param".into(), start.into()),
            ],
            TOKEN_A,
        )
    };
    let mut first = connect(&server.url(&format!("/?{}", sign(1, 1001, "first")))).await;
    let mut second = connect(&server.url(&format!("/?{}", sign(2, 2002, "second")))).await;
    let expect = [
        (1, 1001, "first"),
        (2, 2002, "second"),
        (1, 1001, "first"),
        (2, 2002, "second"),
    ];
    for (id, auth_date, start) in expect {
        let ws = if id == 1 { &mut first } else { &mut second };
        let session = ask_json(ws, r#"{"Type":"Session"}"#).await;
        assert_eq!(
            session["Data"],
            serde_json::json!({"tenant": "pooled-session", "auth_date": auth_date, "start_param": start}),
            "user {id} must see their own session"
        );
        let who = ask_json(ws, r#"{"Type":"WhoAmIRequest"}"#).await;
        assert_eq!(who["Data"]["user"]["id"], id, "{who}");
    }
    // One instance per component served both users: the sessions above came from reused ones.
    assert_eq!(
        metric(server.addr, &instances_created("pooled-session", "pooled")).await,
        2.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_lifecycle_keeps_state_within_one_connection_only() {
    let server = start(Config::new(vec![stateful("c", "/", Lifecycle::Connection)])).await;
    let mut one = connect(&server.url("/")).await;
    let mut two = connect(&server.url("/")).await;
    assert_eq!(count(&mut one).await, 1);
    assert_eq!(count(&mut one).await, 2);
    assert_eq!(
        count(&mut two).await,
        1,
        "another connection has its own instance"
    );
    assert_eq!(count(&mut one).await, 3);
    drop(one);
    let mut three = connect(&server.url("/")).await;
    assert_eq!(count(&mut three).await, 1);
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

/// Tenants that load the same file share one compiled copy (1,000 tenants of one calc cost one
/// compilation, not 1,000); a file rewritten in place is compiled again, and an entry goes
/// when the last component using it does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tenants_loading_one_file_share_its_compiled_code() {
    use extws_wasm::runtime::{EngineSettings, LoadContext, LoadedComponent, Runtime};
    let runtime = Runtime::new(&EngineSettings::default()).unwrap();
    let load = |path: std::path::PathBuf| {
        let runtime = runtime.clone();
        async move {
            let context = LoadContext {
                limits: Default::default(),
                capabilities: Default::default(),
                on_instance: std::sync::Arc::new(|_| {}),
            };
            LoadedComponent::load(&runtime, &ComponentSpec::fresh(path), context)
                .await
                .unwrap()
        }
    };
    let a = load(guest("calc")).await;
    let b = load(guest("calc")).await;
    assert_eq!(runtime.compiled_components(), 1, "one file, one copy");
    let other = load(guest("stateful")).await;
    assert_eq!(runtime.compiled_components(), 2);

    let dir = std::env::temp_dir().join(format!("extws-shared-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("handler.wasm");
    std::fs::copy(guest("calc"), &file).unwrap();
    let before = load(file.clone()).await;
    assert_eq!(
        runtime.compiled_components(),
        3,
        "another path is another file"
    );
    // Rewritten in place (same path): the new contents are compiled, not the old reused.
    std::fs::copy(guest("stateful"), &file).unwrap();
    let after = load(file.clone()).await;
    assert_eq!(after.message_types, other.message_types);
    assert_ne!(after.message_types, before.message_types);
    assert_eq!(runtime.compiled_components(), 4);
    drop((a, before));
    assert_eq!(runtime.compiled_components(), 3, "b still uses calc");
    drop((b, other, after));
    assert_eq!(runtime.compiled_components(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
