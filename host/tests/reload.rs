//! `--watch`: a component replaced on disk is reloaded without dropping connections; calls in
//! flight finish on the old version; a broken file leaves the old version serving.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use extws_wasm::Config;
use extws_wasm::runtime::ComponentSpec;

/// Replaces `to` with `from` atomically (write + rename), as editors and build tools do.
fn replace(from: &[u8], to: &Path) {
    let tmp = to.with_extension("tmp");
    std::fs::write(&tmp, from).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

/// Sends `request` until the reply's Type is `want` (the reload is asynchronous).
async fn until_reply_type(ws: &mut Ws, request: &str, want: &str) -> serde_json::Value {
    for _ in 0..200 {
        let reply = ask_json(ws, request).await;
        if reply["Type"] == want {
            return reply;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never got {want} for {request}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_component_serves_open_connections_without_a_close() {
    let dir = std::env::temp_dir().join(format!("extws-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("handler.wasm");
    std::fs::copy(guest("slow"), &file).unwrap();
    let mut t = tenant("default", &[]);
    t.components = vec![ComponentSpec::fresh(&file)];
    t.limits.timeout = Duration::from_secs(10);
    let mut config = Config::new(vec![t]);
    config.watch = true;
    let server = start(config).await;

    let mut ws = connect(&server.url("/")).await;
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Slow","Data":1}"#).await,
        r#"{"Type":"SlowResponse","Data":1}"#
    );
    // A call in flight while the file changes finishes on the old version.
    send(&mut ws, r#"{"Type":"Slow","Data":1500}"#).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    replace(&std::fs::read(guest("misbehave")).unwrap(), &file);
    assert_eq!(
        recv(&mut ws).await,
        r#"{"Type":"SlowResponse","Data":1500}"#
    );
    // The same connection gets the new behaviour.
    let echo = until_reply_type(&mut ws, r#"{"Type":"Echo","Data":7}"#, "EchoResponse").await;
    assert_eq!(echo["Data"], 7);
    assert_eq!(
        error_code(&ask_json(&mut ws, r#"{"Type":"Slow","Data":1}"#).await),
        "unknown_type"
    );

    // A broken file is refused and the previous version keeps serving.
    replace(b"not a component", &file);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Echo","Data":8}"#).await,
        r#"{"Type":"EchoResponse","Data":8}"#
    );
    // And a good file after a broken one is picked up again.
    replace(&std::fs::read(guest("calc")).unwrap(), &file);
    let sum = until_reply_type(
        &mut ws,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#,
        "CalculateResponse",
    )
    .await;
    assert_eq!(sum["Data"]["result"], 4);
}
