//! The `extws-wasm` binary as a user runs it: the listening line, startup errors before
//! listening, `sign-init-data`, `call`, SIGTERM (also with clients that stop reading and a call
//! in flight), a log capture free of secrets, and a client nobody here wrote (Python
//! `websockets`).

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

const TOKEN: &str = "7000002:cli-secret-token-do-not-log";

/// `extws-wasm serve` with its own data directory and `args`.
fn serve(args: &[&str]) -> ChildServer {
    let mut all: Vec<std::ffi::OsString> = vec!["--data-dir".into(), temp_dir("cli").into()];
    all.extend(args.iter().map(Into::into));
    ChildServer::start(all)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn serve_prints_one_listening_line_answers_and_stops_on_sigterm() {
    let calc = guest("calc");
    let served = serve(&["--component", calc.to_str().unwrap(), "--no-auth"]);
    let mut ws = connect(&served.url("/")).await;
    let reply = ask(
        &mut ws,
        r#"{"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}"#,
    )
    .await;
    assert_eq!(reply, r#"{"Type":"CalculateResponse","Data":{"result":4}}"#);
    let closing = tokio::spawn(async move { expect_close(&mut ws).await });
    let (status, stderr) = tokio::task::spawn_blocking(move || served.stop())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}; stderr {stderr:#?}");
    let close = closing.await.unwrap().expect("close frame");
    assert_eq!(u16::from(close.code), 1001);
    let listening = stderr
        .iter()
        .filter(|l| l.starts_with("listening on ws://"))
        .count();
    assert_eq!(listening, 1, "{stderr:#?}");
    assert!(
        stderr.iter().any(|l| l.contains("--no-auth")),
        "no-auth must be logged: {stderr:#?}"
    );
}

/// The listening line promises the server is up, signal handlers included: SIGTERM sent the
/// moment it appears is a graceful exit (status 0), never death by the signal.
#[test]
fn sigterm_right_after_the_listening_line_is_a_graceful_exit() {
    let calc = guest("calc");
    for round in 0..10 {
        let served = serve(&["--component", calc.to_str().unwrap(), "--no-auth"]);
        let (status, stderr) = served.stop();
        assert!(
            status.success(),
            "round {round}: exit status {status}; stderr {stderr:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_ends_the_server_within_its_bound_while_clients_stop_reading() {
    use tokio::io::AsyncWriteExt;
    let dir = temp_dir("sigterm");
    let config = dir.join("extws.toml");
    let tenant = |name: &str, guest_name: &str, timeout_ms: u64| {
        format!(
            "[[tenant]]\nname = \"{name}\"\nroute = \"/{name}\"\n[tenant.auth]\nnone = true\n\
             [tenant.limits]\ntimeout_ms = {timeout_ms}\n[[tenant.component]]\npath = {:?}\n",
            guest(guest_name)
        )
    };
    let toml = tenant("stall", "huge-reply", 1000) + &tenant("slow", "slow", 3000);
    std::fs::write(&config, toml).unwrap();
    let args = [
        "--config".into(),
        config.into_os_string(),
        "--data-dir".into(),
        dir.join("data").into_os_string(),
    ];
    let server = ChildServer::start(args);
    // Five clients ask for 64 replies of 900 KB each, far more than the socket buffers hold,
    // and never read: their connections block in a send (after about five replies each, as
    // measured here) until their 10 s write deadline.
    let mut stalled = Vec::new();
    for _ in 0..5 {
        let mut raw = raw_client_at(&server.addr, "/stall").await;
        for _ in 0..64 {
            let frame = text_frame(r#"{"Type":"HugeReply","Data":900000}"#);
            raw.write_all(&frame).await.unwrap();
        }
        stalled.push(raw);
    }
    let huge = r#"extws_messages_total{tenant="stall",type="HugeReply",outcome="ok"}"#;
    wait_for_metric(&server.addr, huge, 20.0).await;
    // And one call in flight when the signal comes.
    let mut in_flight = connect(&server.url("/slow")).await;
    send(
        &mut in_flight,
        r#"{"Id":"last","Type":"Sleep","Data":2000}"#,
    )
    .await;
    wait_for_metric(&server.addr, &instances_created("slow", "fresh"), 1.0).await;

    // docs/operating.md: the longest tenant deadline + 10 s (a reply's write deadline) + 2 × 2 s (close
    // frame, the client's answer) + 1 s.
    let bound = Duration::from_secs(3 + 10 + 2 * 2 + 1);
    let (status, took, stderr) =
        tokio::task::spawn_blocking(move || server.terminate(bound + Duration::from_secs(5)))
            .await
            .unwrap();
    assert!(status.success(), "exit status {status}; stderr {stderr:#?}");
    assert!(
        took <= bound + Duration::from_secs(1),
        "exited {took:?} after SIGTERM; the bound is {bound:?}"
    );
    assert_eq!(
        recv(&mut in_flight).await,
        r#"{"Type":"SleepResponse","Data":2000,"Id":"last"}"#,
        "the call in flight is answered"
    );
    let close = expect_close(&mut in_flight).await.expect("a close frame");
    assert_eq!(u16::from(close.code), 1001);
    eprintln!("exited {took:?} after SIGTERM (bound {bound:?})");
    drop(stalled);
}

#[test]
fn serve_without_auth_choice_says_what_to_pass() {
    let calc = guest("calc");
    let (code, _, stderr) = run(&[
        "serve",
        "--component",
        calc.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("--bot-token") && stderr.contains("--no-auth"),
        "{stderr}"
    );
    assert!(!stderr.contains("listening on"), "{stderr}");
}

#[test]
fn broken_components_fail_before_listening() {
    let dir = std::env::temp_dir().join(format!("extws-broken-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let not_wasm = dir.join("not.wasm");
    std::fs::write(&not_wasm, b"hello").unwrap();
    let core_module = dir.join("core.wasm");
    std::fs::write(&core_module, b"\0asm\x01\0\0\0").unwrap();
    let calc = guest("calc");
    let calc_rust = guest("calc-rust");
    for (args, expect) in [
        (
            vec!["--component", not_wasm.to_str().unwrap()],
            "cannot compile",
        ),
        (
            vec!["--component", core_module.to_str().unwrap()],
            "cannot compile",
        ),
        (vec!["--component", "/nonexistent.wasm"], "does not exist"),
        (
            vec![
                "--component",
                calc.to_str().unwrap(),
                "--component",
                calc_rust.to_str().unwrap(),
            ],
            "claimed by both",
        ),
    ] {
        let mut all = vec!["serve", "--listen", "127.0.0.1:0", "--no-auth"];
        all.extend(args);
        let (code, _, stderr) = run(&all);
        assert_ne!(code, 0, "{all:?}");
        assert!(stderr.contains(expect), "{all:?}: {stderr}");
        assert!(!stderr.contains("listening on"), "{stderr}");
    }
    // A component that exports nothing does not implement the world.
    let empty = dir.join("empty.wat");
    std::fs::write(&empty, "(component)").unwrap();
    let (code, _, stderr) = run(&[
        "serve",
        "--no-auth",
        "--listen",
        "127.0.0.1:0",
        "--component",
        empty.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("does not implement world extws:handler/handler"),
        "{stderr}"
    );
}

#[tokio::test]
async fn signed_init_data_reaches_the_guest_and_logs_never_show_secrets() {
    let user = r#"{"id":99,"first_name":"Log","username":"logtest"}"#;
    let (code, init_data, _) = run(&["sign-init-data", "--bot-token", TOKEN, "--user", user]);
    assert_eq!(code, 0);
    let init_data = init_data.trim().to_string();
    let hash = init_data.rsplit_once("hash=").unwrap().1.to_string();

    let calc = guest("calc");
    let served = serve(&["--component", calc.to_str().unwrap(), "--bot-token", TOKEN]);
    let mut ws = connect(&served.url(&format!("/?{init_data}"))).await;
    let reply = ask_json(&mut ws, r#"{"Type":"WhoAmIRequest","Data":{}}"#).await;
    assert_eq!(reply["Data"]["user"]["id"], 99);
    let tampered = init_data.replace("logtest", "logtesT");
    let refused = tokio_tungstenite::connect_async(served.url(&format!("/?{tampered}"))).await;
    assert!(refused.is_err());
    let (_, stderr) = served.stop();
    let log = stderr.join("\n");
    assert!(log.contains("authentication failed"), "{log}");
    for secret in [
        TOKEN,
        "cli-secret-token",
        &hash,
        &init_data,
        "logtest",
        "auth_date=",
    ] {
        assert!(!log.contains(secret), "log leaks {secret:?}:\n{log}");
    }
}

#[test]
fn call_runs_one_message_without_a_server() {
    let calc = guest("calc");
    let calc = calc.to_str().unwrap();
    let (code, out, _) = run(&["call", calc, "CalculateRequest", r#"{"numbers":[40,2]}"#]);
    assert_eq!(
        (code, out.trim()),
        (0, r#"{"Type":"CalculateResponse","Data":{"result":42}}"#)
    );
    let (code, out, _) = run(&[
        "call",
        calc,
        "WhoAmIRequest",
        "{}",
        "--user",
        r#"{"id":5,"first_name":"E"}"#,
    ]);
    assert_eq!(
        (code, out.trim()),
        (
            0,
            r#"{"Type":"WhoAmIResponse","Data":{"user":{"id":5,"first_name":"E"}}}"#
        )
    );
    let (code, out, _) = run(&["call", calc, "CalculateRequest", r#"{"numbers":"x"}"#]);
    assert_eq!(code, 1);
    // calc describes its API: the host refuses the Data before the handler runs.
    assert!(out.contains(r#""code":"invalid_data""#), "{out}");
}

#[test]
fn help_explains_every_serve_flag() {
    let (code, out, _) = run(&["serve", "--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--component",
        "--listen",
        "--bot-token",
        "--bot-id",
        "--telegram-key",
        "--auth-max-age",
        "--no-auth",
        "--timeout-ms",
        "--max-message-bytes",
        "--fanout",
        "--telegram-method",
        "--telegram-api-url",
        "--telegram-bot-token-env",
        "--allow-http",
    ] {
        assert!(out.contains(flag), "--help lacks {flag}:\n{out}");
    }
}

#[test]
fn check_names_bot_api_methods_and_refuses_malformed_ones() {
    let dir = temp_dir("cli-check-telegram");
    let calc = guest("calc");
    let config = |methods: &str| {
        let path = dir.join("extws.toml");
        std::fs::write(
            &path,
            format!(
                "[[tenant]]\nname = \"a\"\n[tenant.auth]\nbot_token = \"1:x\"\n\
                 [tenant.telegram]\nmethods = [{methods}]\n\
                 [[tenant.component]]\npath = \"{}\"\n",
                calc.display()
            ),
        )
        .unwrap();
        path.to_str().unwrap().to_string()
    };
    let (code, out, err) = run(&[
        "check",
        "--config",
        &config(r#""sendMessage", "sendMesage""#),
    ]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("Bot API methods sendMesage, sendMessage"),
        "{out}"
    );
    assert!(
        out.contains("warning") && out.contains("\"sendMesage\""),
        "{out}"
    );
    let (code, _, err) = run(&["check", "--config", &config(r#""send message""#)]);
    assert_ne!(code, 0);
    assert!(err.contains("not a Bot API method name"), "{err}");
}

#[test]
fn python_websockets_client_talks_to_the_server() {
    let probe = Command::new("python3")
        .args(["-c", "import websockets"])
        .status();
    assert!(
        probe.map(|s| s.success()).unwrap_or(false),
        "python3 with the `websockets` package is required (pip install websockets); .ci/run installs it"
    );
    let calc = guest("calc");
    let served = serve(&["--component", calc.to_str().unwrap(), "--no-auth"]);
    let script = r#"
import asyncio, json, sys
import websockets
async def main(url):
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"Type": "CalculateRequest", "Data": {"numbers": [2, 2]}, "Id": "py"}))
        print(await ws.recv())
        await ws.send("garbage")
        print(json.loads(await ws.recv())["Data"]["code"])
asyncio.run(main(sys.argv[1]))
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, &served.url("/")])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(child.wait().unwrap().success());
    let (status, _) = served.stop();
    assert!(status.success());
    assert_eq!(
        out,
        "{\"Type\":\"CalculateResponse\",\"Data\":{\"result\":4},\"Id\":\"py\"}\ninvalid_message\n"
    );
}
