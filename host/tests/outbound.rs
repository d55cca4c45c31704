//! Outbound HTTP (`wasi:http`) from test guests (Rust: the wasip2 bindings, and `wstd` for an
//! ordinary client; Python: componentize-py's `poll_loop`), over real sockets: denied by
//! default, an allowed origin is answered, an unlisted origin, a redirect to one and
//! `localhost` listed by name (it resolves to loopback) are denied without a request, a
//! response over the tenant's cap ends with an error, and concurrent requests are capped per
//! tenant.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_http::{FakeHttp, Reply};
use common::*;
use extws_wasm::Config;
use extws_wasm::capabilities::HttpGrant;
use extws_wasm::capabilities::http::allow::AllowList;
use serde_json::{Value, json};

async fn server_allowing(origins: &[String], max_body: usize) -> TestServer {
    // Generous: these tests are about what is reached, not how fast.
    server_with("act", origins, 4, max_body, Duration::from_secs(5)).await
}

async fn server_with(
    component: &str,
    origins: &[String],
    concurrent: usize,
    max_body: usize,
    timeout: Duration,
) -> TestServer {
    let mut t = tenant("acme", &[component]);
    t.limits.timeout = timeout;
    let allow = AllowList::parse(origins).unwrap();
    t.capabilities.http = Some(Arc::new(HttpGrant::new(allow, concurrent, max_body)));
    start(Config::new(vec![t])).await
}

async fn fetch(server: &TestServer, url: &str, follow: u32) -> Value {
    let mut ws = connect(&server.url("/")).await;
    let request = json!({"Type": "Fetch", "Data": {"url": url, "follow": follow}});
    let reply = ask_json(&mut ws, &request.to_string()).await;
    assert_eq!(reply["Type"], "FetchResult", "{reply}");
    reply["Data"].clone()
}

fn denied(reply: &Value) -> bool {
    reply["error"]
        .as_str()
        .is_some_and(|e| e.contains("HttpRequestDenied"))
}

#[tokio::test]
async fn outbound_http_is_denied_by_default() {
    let origin = FakeHttp::start(|_| Reply::Json(200, "{}".into())).await;
    let mut t = tenant("default", &["act"]);
    t.limits.timeout = Duration::from_secs(5);
    assert!(t.capabilities.http.is_none());
    let server = start(Config::new(vec![t])).await;
    let reply = fetch(&server, &origin.url(), 0).await;
    assert!(denied(&reply), "{reply}");
    assert!(origin.calls().is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn only_allowed_origins_are_reached() {
    let unlisted = FakeHttp::start(|_| Reply::Json(200, "{}".into())).await;
    let elsewhere = format!("{}/", unlisted.url());
    let allowed = FakeHttp::start(move |call| match call.path.as_str() {
        "/away" => Reply::Redirect(elsewhere.clone()),
        _ => Reply::Json(200, r#"{"hello":"world"}"#.into()),
    })
    .await;
    let server = server_allowing(&[allowed.url()], 1 << 20).await;

    let ok = fetch(&server, &format!("{}/hello?x=1", allowed.url()), 0).await;
    assert_eq!(
        ok,
        json!({"status": 200, "body": r#"{"hello":"world"}"#, "hops": 0})
    );
    assert_eq!(allowed.calls()[0].path, "/hello?x=1");
    // The same through an ordinary client library.
    let mut ws = connect(&server.url("/")).await;
    let request = json!({"Type": "FetchWstd", "Data": {"url": format!("{}/wstd", allowed.url())}});
    let reply = ask_json(&mut ws, &request.to_string()).await;
    assert_eq!(reply["Data"]["status"], 200, "{reply}");
    assert_eq!(allowed.calls()[1].path, "/wstd");

    let other = fetch(&server, &unlisted.url(), 0).await;
    assert!(denied(&other), "{other}");
    let redirected = fetch(&server, &format!("{}/away", allowed.url()), 3).await;
    assert!(denied(&redirected), "{redirected}");
    assert!(
        unlisted.calls().is_empty(),
        "an unlisted origin was reached"
    );
    assert_eq!(allowed.calls().len(), 3);
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_name_that_resolves_to_loopback_is_refused() {
    let origin = FakeHttp::start(|_| Reply::Json(200, "{}".into())).await;
    let by_name = format!("http://localhost:{}", origin.addr.port());
    let server = server_allowing(std::slice::from_ref(&by_name), 1 << 20).await;
    let reply = fetch(&server, &by_name, 0).await;
    assert!(denied(&reply), "{reply}");
    assert!(origin.calls().is_empty());
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn a_response_over_the_cap_ends_with_an_error() {
    let origin = FakeHttp::start(|call| match call.path.as_str() {
        "/big" => Reply::Bytes(64 * 1024),
        _ => Reply::Bytes(1000),
    })
    .await;
    let server = server_allowing(&[origin.url()], 16 * 1024).await;
    let small = fetch(&server, &format!("{}/small", origin.url()), 0).await;
    assert_eq!(small["status"], 200, "{small}");
    let big = fetch(&server, &format!("{}/big", origin.url()), 0).await;
    let error = big["error"].as_str().unwrap_or_default();
    assert!(error.contains("body size exceeds limit"), "{big}");
    server.shutdown().await.unwrap();
}

#[tokio::test]
async fn concurrent_requests_are_capped_per_tenant_and_freed_by_the_deadline() {
    let origin = FakeHttp::start(|call| match call.path.as_str() {
        "/hang" => Reply::Hang,
        _ => Reply::Json(200, "{}".into()),
    })
    .await;
    let server = server_with(
        "act",
        &[origin.url()],
        1,
        1 << 20,
        Duration::from_millis(1500),
    )
    .await;
    let mut hanging = connect(&server.url("/")).await;
    let request = json!({"Type": "Fetch", "Data": {"url": format!("{}/hang", origin.url())}});
    send(&mut hanging, &request.to_string()).await;
    origin.wait_for_calls(1).await;
    // The tenant's one outbound request is taken: the next one is refused, not queued.
    let refused = fetch(&server, &format!("{}/ok", origin.url()), 0).await;
    let error = refused["error"].as_str().unwrap_or_default();
    assert!(error.contains("ConnectionLimitReached"), "{refused}");
    // The hanging call ends at its deadline, and with it the request.
    let reply: Value = serde_json::from_str(&recv(&mut hanging).await).unwrap();
    assert_eq!(reply["Data"]["code"], "timeout", "{reply}");
    // ...and so does its connection: no socket outlives the call that opened it.
    origin
        .wait_for_hang_up(std::time::Instant::now() + Duration::from_secs(10))
        .await;
    let ok = fetch(&server, &format!("{}/ok", origin.url()), 0).await;
    assert_eq!(ok["status"], 200, "{ok}");
    server.shutdown().await.unwrap();
}

/// Ignored, not passed, where `make guests` could not build the Python guest (componentize-py
/// could not be installed): `host/build.rs` sets `guest = "python-fetch"` when it is there.
#[tokio::test]
#[cfg_attr(
    not(guest = "python-fetch"),
    ignore = "target/guests/python-fetch.wasm not built: run make guests"
)]
async fn python_reaches_allowed_origins_only() {
    let unlisted = FakeHttp::start(|_| Reply::Json(200, "{}".into())).await;
    let allowed = FakeHttp::start(|_| Reply::Json(200, r#"{"from":"python"}"#.into())).await;
    let server = server_with(
        "python-fetch",
        &[allowed.url()],
        4,
        1 << 20,
        Duration::from_secs(30),
    )
    .await;

    let ok = fetch(&server, &format!("{}/py?x=1", allowed.url()), 0).await;
    assert_eq!(ok, json!({"status": 200, "body": r#"{"from":"python"}"#}));
    assert_eq!(allowed.calls()[0].path, "/py?x=1");

    let other = fetch(&server, &unlisted.url(), 0).await;
    assert!(denied(&other), "{other}");
    assert!(
        unlisted.calls().is_empty(),
        "an unlisted origin was reached"
    );
    server.shutdown().await.unwrap();
}
