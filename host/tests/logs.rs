//! No log carries initData, hashes or tokens, even at the most verbose level: the server run
//! with `EXTWS_LOG=trace` and first-message authentication (whose `Auth` frame holds the whole
//! initData) writes none of it to stderr.

mod common;

use common::*;

const TOKEN: &str = "7000003:logs-secret-token-do-not-log";

#[tokio::test]
async fn trace_logs_never_show_init_data_or_its_hash() {
    let user = r#"{"id":77,"first_name":"Trace","username":"tracetest"}"#;
    let out = std::process::Command::new(BIN)
        .args(["sign-init-data", "--bot-token", TOKEN, "--user", user])
        .output()
        .unwrap();
    let init_data = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let hash = init_data.rsplit_once("hash=").unwrap().1.to_string();
    let calc = guest("calc");
    let args = [
        "--data-dir".into(),
        temp_dir("logs").into_os_string(),
        "--component".into(),
        calc.into_os_string(),
        "--bot-token".into(),
        TOKEN.into(),
        "--auth-transports".into(),
        "message,header".into(),
    ];
    let served = ChildServer::start_with_env(args, [("EXTWS_LOG", "trace")]);
    let mut ws = connect(&served.url("/")).await;
    let auth = serde_json::json!({"Type": "Auth", "Data": {"initData": init_data}});
    assert_eq!(
        ask_json(&mut ws, &auth.to_string()).await["Type"],
        "AuthResponse"
    );
    let reply = ask_json(&mut ws, r#"{"Type":"WhoAmIRequest","Data":{}}"#).await;
    assert_eq!(reply["Data"]["user"]["id"], 77);
    let (_, stderr) = served.stop();
    let log = stderr.join("\n");
    assert!(log.contains("DEBUG"), "not a verbose log:\n{log}");
    for secret in [TOKEN, &hash, &init_data, "tracetest", "auth_date="] {
        assert!(!log.contains(secret), "the trace log leaks {secret:?}");
    }
}
