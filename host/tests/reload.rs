//! `--watch`: a component replaced on disk is reloaded without dropping connections; calls in
//! flight finish on the old version; a broken file leaves the old version serving. Runs the real
//! binary, so each step waits for the watcher's own log line rather than for time to pass.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;

/// How long the watcher may take to notice a file (it polls every 300 ms, then waits for the
/// file to be stable): generous, it only bounds a failure.
const NOTICE: Duration = Duration::from_secs(30);

/// Replaces `to` with `from` atomically (write + rename), as editors and build tools do.
fn replace(from: &[u8], to: &Path) {
    let tmp = to.with_extension("tmp");
    std::fs::write(&tmp, from).unwrap();
    std::fs::rename(&tmp, to).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replaced_component_serves_open_connections_without_a_close() {
    let dir = temp_dir("watch");
    let file = dir.join("handler.wasm");
    std::fs::copy(guest("slow"), &file).unwrap();
    let args: Vec<std::ffi::OsString> = vec![
        "--no-auth".into(),
        "--watch".into(),
        "--timeout-ms".into(),
        "10000".into(),
        "--data-dir".into(),
        dir.join("data").into(),
        "--component".into(),
        file.clone().into(),
    ];
    let mut server = ChildServer::start(args);
    let calls = instances_created("default", "fresh");

    let mut ws = connect(&server.url("/")).await;
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Slow","Data":1}"#).await,
        r#"{"Type":"SlowResponse","Data":1}"#
    );
    // A call in flight while the file changes finishes on the old version.
    send(&mut ws, r#"{"Type":"Slow","Data":1500}"#).await;
    wait_for_metric(&server.addr, &calls, 2.0).await;
    replace(&std::fs::read(guest("misbehave")).unwrap(), &file);
    assert_eq!(
        recv(&mut ws).await,
        r#"{"Type":"SlowResponse","Data":1500}"#
    );
    // Once the watcher says so, the same connection gets the new behaviour.
    server.wait_for_line("reloaded component", NOTICE);
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Echo","Data":7}"#).await,
        r#"{"Type":"EchoResponse","Data":7}"#
    );
    assert_eq!(
        error_code(&ask_json(&mut ws, r#"{"Type":"Slow","Data":1}"#).await),
        "unknown_type"
    );

    // A broken file is looked at, refused, and the previous version keeps serving.
    replace(b"not a component", &file);
    let refused = server.wait_for_line("reload failed", NOTICE);
    assert!(refused.contains("handler.wasm"), "{refused}");
    assert_eq!(
        ask(&mut ws, r#"{"Type":"Echo","Data":8}"#).await,
        r#"{"Type":"EchoResponse","Data":8}"#
    );
    // And a good file after a broken one is picked up again.
    replace(&std::fs::read(guest("calc")).unwrap(), &file);
    server.wait_for_line("reloaded component", NOTICE);
    assert_eq!(
        ask(
            &mut ws,
            r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#
        )
        .await,
        r#"{"Type":"CalculateResponse","Data":{"result":4}}"#
    );
    let (status, log) = server.stop();
    assert!(status.success(), "{status}: {log:#?}");
}
