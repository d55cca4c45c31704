//! The SDKs' components describe their API: the host refuses bad `Data` with `invalid_data`,
//! naming the type and the problem, before it creates an instance (the instance counter does
//! not move), in every SDK language that was built; `extws-wasm describe` prints the schemas;
//! hooks an SDK exports as no-ops are not called; components of the older worlds keep working.

mod common;

use common::*;
use extws_wasm::Config;
use serde_json::Value;

/// The calc of every SDK language (the Rust one is always built; the others when their
/// toolchain was there).
const SDK_CALCS: &[&str] = &["calc-rust", "calc-python", "calc-js", "calc-go"];

fn built(name: &str) -> Option<std::path::PathBuf> {
    let path = repo().join("target/guests").join(format!("{name}.wasm"));
    if path.is_file() {
        Some(path)
    } else {
        eprintln!("skipped {name}: not built (make guests builds it when its toolchain is there)");
        None
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_data_is_refused_by_the_host_before_any_instance_in_every_sdk_language() {
    assert!(
        built("calc-rust").is_some(),
        "the Rust SDK calc is always built"
    );
    for name in SDK_CALCS {
        let Some(path) = built(name) else { continue };
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
}

#[test]
fn describe_prints_the_schemas_of_the_sdk_calcs() {
    for name in ["calc-rust", "calc-python"] {
        let Some(path) = built(name) else { continue };
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
