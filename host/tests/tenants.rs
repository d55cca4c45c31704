//! Tenants: routing, isolation of credentials and components, instance lifecycles and the
//! compiled code tenants share. (The example configuration, `check` and SIGHUP reloads of the
//! real binary are in `tenants_config.rs`.)

mod common;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Verifier};
use extws_wasm::config::Route;
use extws_wasm::runtime::{ComponentSpec, Lifecycle};

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
