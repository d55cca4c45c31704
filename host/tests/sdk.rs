//! The SDKs' components describe their API: the host refuses bad `Data` with `invalid_data`,
//! naming the type and the problem, before it creates an instance (the instance counter does
//! not move), in every SDK language; `extws-wasm describe` prints the schemas; hooks an SDK
//! exports as no-ops are not called; components of the older worlds keep working.
//!
//! One test per language: the Rust components are always built (a missing one fails the
//! test); one in another language is built by `make guests` only where its toolchain could be
//! had, and its test is reported as ignored where it was not (`host/build.rs` sets
//! `guest = "NAME"` for each `target/guests/NAME.wasm`), never passed.

mod common;

use common::*;
use extws_wasm::Config;
use serde_json::Value;

/// Bad `Data` to the calc `name` is refused by the host, before any instance; good `Data` is
/// answered by one.
async fn bad_data_is_refused_by_the_host_before_any_instance(name: &str) {
    let path = guest(name);
    let mut t = tenant("t", &[]);
    t.components = vec![extws_wasm::runtime::ComponentSpec::fresh(&path)];
    t.limits.timeout = std::time::Duration::from_secs(10);
    let server = start(Config::new(vec![t])).await;
    let mut ws = connect(&server.url("/")).await;
    let created = instances_created("t", "fresh");
    let before = metric(server.addr, &created).await;
    for (data, problem) in [
        (r#"{"numbers":"x"}"#, "numbers"),
        ("{}", "missing field numbers"),
        ("[1]", "expected an object"),
        (r#"{"numbers":[1,2.5]}"#, "numbers[1]"),
    ] {
        let request = format!(r#"{{"Type":"CalculateRequest","Data":{data}}}"#);
        let reply = ask_json(&mut ws, &request).await;
        assert_eq!(error_code(&reply), "invalid_data", "{name} {data}: {reply}");
        let message = reply["Data"]["message"].as_str().unwrap();
        assert!(
            message.starts_with("invalid CalculateRequest: ") && message.contains(problem),
            "{name} {data}: {message}"
        );
    }
    assert_eq!(
        metric(server.addr, &created).await,
        before,
        "{name}: an instance was created for bad data"
    );
    let ok = ask_json(
        &mut ws,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2]}}"#,
    )
    .await;
    assert_eq!(ok["Data"]["result"], 3, "{name}: {ok}");
    assert_eq!(metric(server.addr, &created).await, before + 1.0, "{name}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_is_refused_by_the_host_before_any_instance_rust() {
    bad_data_is_refused_by_the_host_before_any_instance("calc-rust").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(guest = "calc-python"),
    ignore = "target/guests/calc-python.wasm not built: run make guests"
)]
async fn bad_data_is_refused_by_the_host_before_any_instance_python() {
    bad_data_is_refused_by_the_host_before_any_instance("calc-python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(guest = "calc-js"),
    ignore = "target/guests/calc-js.wasm not built: run make guests"
)]
async fn bad_data_is_refused_by_the_host_before_any_instance_js() {
    bad_data_is_refused_by_the_host_before_any_instance("calc-js").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(guest = "calc-go"),
    ignore = "target/guests/calc-go.wasm not built: run make guests"
)]
async fn bad_data_is_refused_by_the_host_before_any_instance_go() {
    bad_data_is_refused_by_the_host_before_any_instance("calc-go").await;
}

/// `extws-wasm describe` prints the schemas of the calc `name`.
fn describe_prints_the_schemas(name: &str) {
    let path = guest(name);
    let out = std::process::Command::new(BIN)
        .arg("describe")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let api: Value = serde_json::from_slice(&out.stdout).unwrap();
    let calc = &api["types"]["CalculateRequest"];
    assert_eq!(calc["reply"], "CalculateResponse", "{name}: {api}");
    let numbers = &calc["request"]["properties"]["numbers"];
    assert_eq!(numbers["type"], "array", "{name}: {api}");
    assert_eq!(numbers["items"]["type"], "integer", "{name}: {api}");
    assert!(
        calc["request"]["required"]
            .as_array()
            .unwrap()
            .contains(&"numbers".into())
    );
    assert_eq!(
        api["types"]["WhoAmIRequest"]["reply"], "WhoAmIResponse",
        "{name}"
    );
    assert_eq!(
        api["hooks"],
        serde_json::json!([]),
        "{name}: no hooks were defined"
    );
}

#[test]
fn describe_prints_the_schemas_of_the_rust_sdk_calc() {
    describe_prints_the_schemas("calc-rust");
}

#[test]
#[cfg_attr(
    not(guest = "calc-python"),
    ignore = "target/guests/calc-python.wasm not built: run make guests"
)]
fn describe_prints_the_schemas_of_the_python_sdk_calc() {
    describe_prints_the_schemas("calc-python");
}

#[test]
fn describe_says_when_a_component_does_not_describe_its_api() {
    // A component without `describe` says so, with what it handles.
    let out = std::process::Command::new(BIN)
        .arg("describe")
        .arg(guest("calc-raw"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.contains("does not describe its API"),
        "{stderr}"
    );
}

/// The counter example on the SDK of `name`: the same requests, pushes and hooks as on the
/// others.
async fn the_counter_behaves_the_same(name: &str) {
    use extws_wasm::auth::{AuthPolicy, Transport, Verifier};
    const TOKEN: &str = "9000:sdk-counter";
    let path = guest(name);
    let dir = temp_dir(name);
    let mut t = tenant("c", &[]);
    t.components = vec![extws_wasm::runtime::ComponentSpec::fresh(&path)];
    t.limits.timeout = std::time::Duration::from_secs(10);
    t.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    let mut config = Config::new(vec![t]);
    config.state.data_dir = Some(dir);
    let server = start(config).await;
    let user = |id| connect_user(&server, TOKEN, id);
    let (mut a, mut b) = (user(1).await, user(2).await);
    let ask_type = |reply: &Value| reply["Type"].as_str().unwrap_or_default().to_string();

    let subscribed = ask_json(&mut a, r#"{"Type":"SubscribeRequest"}"#).await;
    assert_eq!(
        subscribed["Data"]["topic"], "counter",
        "{name}: {subscribed}"
    );
    let inc = ask_json(&mut b, r#"{"Type":"IncrementRequest","Data":{"by":2}}"#).await;
    assert_eq!(inc["Data"]["count"], 2, "{name}: {inc}");
    let changed: Value = serde_json::from_str(&recv(&mut a).await).unwrap();
    assert_eq!(ask_type(&changed), "CounterChanged", "{name}: {changed}");
    assert_eq!(
        (
            changed["Data"]["user"].clone(),
            changed["Data"]["count"].clone()
        ),
        (2.into(), 2.into())
    );
    let count = ask_json(&mut b, r#"{"Type":"GetCountRequest"}"#).await;
    assert_eq!(count["Data"]["count"], 2, "{name}: {count}");

    let sent = ask_json(
        &mut b,
        r#"{"Type":"NotifyUserRequest","Data":{"user":1,"text":"hi"}}"#,
    )
    .await;
    assert_eq!(sent["Data"]["sent"], true, "{name}: {sent}");
    let notice: Value = serde_json::from_str(&recv(&mut a).await).unwrap();
    assert_eq!(
        (ask_type(&notice), notice["Data"]["text"].clone()),
        ("Notice".into(), "hi".into()),
        "{name}"
    );

    // The connect hook ran for both connections.
    let presence = ask_json(&mut a, r#"{"Type":"PresenceRequest"}"#).await;
    assert_eq!(presence["Data"]["online"], 2, "{name}: {presence}");
    let bad = ask_json(&mut a, r#"{"Type":"IncrementRequest","Data":{"by":"x"}}"#).await;
    assert_eq!(error_code(&bad), "invalid_data", "{name}: {bad}");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counter_behaves_the_same_on_the_rust_sdk() {
    the_counter_behaves_the_same("counter").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(guest = "counter-python"),
    ignore = "target/guests/counter-python.wasm not built: run make guests"
)]
async fn the_counter_behaves_the_same_on_the_python_sdk() {
    the_counter_behaves_the_same("counter-python").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(guest = "counter-go"),
    ignore = "target/guests/counter-go.wasm not built: run make guests"
)]
async fn the_counter_behaves_the_same_on_the_go_sdk() {
    the_counter_behaves_the_same("counter-go").await;
}

async fn connect_user(server: &TestServer, token: &str, id: i64) -> Ws {
    connect(&server.url(&format!("/?{}", signed_user(token, id)))).await
}
