//! `/metrics` names tenants and Types (issue 25 #14): `serve --metrics-listen ADDR` (or
//! `metrics_listen` in the file) serves it there only, and the public port answers 404 for it.
//! Without it, `/metrics` stays on the public port (`operations.rs`,
//! `metrics_count_known_traffic`, and the last test here).

mod common;

use common::*;

const CALC: &str = r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#;
const CALC_REPLY: &str = r#"{"Type":"CalculateResponse","Data":{"result":4}}"#;

/// The address of a child server's `metrics on http://ADDR/metrics` line.
fn metrics_addr(server: &ChildServer) -> String {
    let line = server
        .seen
        .iter()
        .find_map(|l| l.split_once("metrics on http://"))
        .unwrap_or_else(|| panic!("no metrics line in\n{}", server.seen.join("\n")))
        .1;
    line.trim().trim_end_matches("/metrics").to_string()
}

/// `serve` of calc without auth, with `args`.
fn serve(args: &[&str]) -> ChildServer {
    let (data, calc) = (temp_dir("metrics-listen"), guest("calc"));
    let mut all: Vec<std::ffi::OsString> = vec![
        "--no-auth".into(),
        "--data-dir".into(),
        data.into(),
        "--component".into(),
        calc.into(),
    ];
    all.extend(args.iter().map(|a| a.into()));
    ChildServer::start(all)
}

/// The public port refuses `/metrics`; the metrics address serves it, with the traffic the
/// public port saw, and nothing else.
async fn only_on_the_metrics_address(server: &ChildServer) {
    let private = metrics_addr(server);
    let (status, body) = http_get(&server.addr, "/metrics").await;
    assert_eq!(status, 404, "public /metrics: {body}");
    assert!(!body.contains("extws_"), "{body}");
    assert_eq!(http_get(&server.addr, "/healthz").await.0, 200);
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
    let series = r#"extws_messages_total{tenant="default",type="CalculateRequest",outcome="ok"}"#;
    assert_eq!(metric(&private, series).await, 1.0);
    assert_eq!(http_get(&private, "/healthz").await.0, 404);
    assert_eq!(http_get(&private, "/").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_flag_serves_metrics_there_only() {
    let server = serve(&["--metrics-listen", "127.0.0.1:0"]);
    only_on_the_metrics_address(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_listen_key_of_the_file_serves_metrics_there_only() {
    let dir = temp_dir("metrics-listen-file");
    let toml = format!(
        "metrics_listen = \"127.0.0.1:0\"\n\n[[tenant]]\nname = \"default\"\n\
         [tenant.auth]\nnone = true\n[[tenant.component]]\npath = {:?}\n",
        guest("calc")
    );
    std::fs::write(dir.join("extws.toml"), toml).unwrap();
    let data = temp_dir("metrics-listen-data");
    let server = ChildServer::start([
        "--config".as_ref(),
        dir.join("extws.toml").as_os_str(),
        "--data-dir".as_ref(),
        data.as_os_str(),
    ]);
    only_on_the_metrics_address(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_metrics_listen_metrics_stay_on_the_public_port() {
    let server = serve(&[]);
    assert!(
        !server.seen.iter().any(|l| l.contains("metrics on http://")),
        "{:?}",
        server.seen
    );
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(ask(&mut ws, CALC).await, CALC_REPLY);
    let series = r#"extws_messages_total{tenant="default",type="CalculateRequest",outcome="ok"}"#;
    assert_eq!(metric(&server.addr, series).await, 1.0);
}
