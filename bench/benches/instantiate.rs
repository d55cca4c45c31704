//! Criterion: the cost of one message in the sandbox, per guest language, through the host
//! library exactly as the server calls it (`LoadedComponent::invoke`):
//!
//! * `calc/<lang>-fresh` — `fresh` lifecycle: new store + instantiate + `handle` call;
//! * `calc/<lang>-warm`  — `pooled` lifecycle: `handle` on a warm instance;
//! * `calc/<lang>-check` — the host's check of `Data` against the component's request schema
//!   (components built with an SDK, which describe their API).
//!
//! Components come from target/guests (`make guests`); missing languages are skipped.
//! Results: $CARGO_TARGET_DIR/criterion/calc/<lang>-<variant>/new/estimates.json.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use extws_wasm::capabilities::CallerInfo;
use extws_wasm::runtime::{
    ComponentSpec, ConnectionInstances, EngineSettings, Invocation, Lifecycle, Limits, LoadContext,
    LoadedComponent, Runtime,
};
use extws_wasm::wit::User;

const LANGUAGES: [&str; 6] = ["rust", "c", "go", "tinygo", "js", "python"];
const DATA: &str = r#"{"numbers":[1,2,3,4,5,6,7,8,9,10]}"#;

fn guests() -> PathBuf {
    std::env::var_os("EXTWS_BENCH_GUESTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/guests"))
}

fn user() -> User {
    User {
        id: 279_058_397,
        is_bot: None,
        first_name: "Bench".into(),
        last_name: Some("Mark".into()),
        username: Some("bench".into()),
        language_code: Some("en".into()),
        is_premium: Some(true),
        added_to_attachment_menu: None,
        allows_write_to_pm: Some(true),
        photo_url: None,
    }
}

fn calc(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let runtime = Runtime::new(&EngineSettings {
        total_instances: 32,
        ..EngineSettings::default()
    })
    .expect("engine");
    let limits = Limits::default();
    let user = user();
    let mut group = c.benchmark_group("calc");
    group.sampling_mode(SamplingMode::Flat);
    for lang in LANGUAGES {
        let path = guests().join(format!("calc-{lang}.wasm"));
        if !path.is_file() {
            eprintln!("skipping {lang}: {} not built", path.display());
            continue;
        }
        let load = |lifecycle: Lifecycle| {
            let spec = ComponentSpec {
                lifecycle,
                ..ComponentSpec::fresh(&path)
            };
            let context = LoadContext {
                limits: limits.clone(),
                capabilities: Arc::default(),
                on_instance: Arc::new(|_| {}),
            };
            rt.block_on(LoadedComponent::load(&runtime, &spec, context))
                .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()))
        };
        let fresh = load(Lifecycle::Fresh);
        let pooled = load(Lifecycle::Pooled);
        // Interpreters instantiate in milliseconds: fewer, longer samples.
        let slow = matches!(lang, "python" | "js");
        group.sample_size(if slow { 10 } else { 30 });
        // A component that describes its API also costs the host's check of `Data` against
        // the request schema (in the server, before every call of either lifecycle).
        if let Some(api) = &fresh.api {
            group.bench_function(format!("{lang}-check"), |b| {
                b.iter(|| api.check("CalculateRequest", DATA).expect("valid"))
            });
        }
        for (variant, component) in [("fresh", &fresh), ("warm", &pooled)] {
            let caller = CallerInfo::new("bench".into(), component.name.clone());
            group.bench_function(format!("{lang}-{variant}"), |b| {
                b.to_async(&rt).iter(|| async {
                    let call = Invocation {
                        msg_type: "CalculateRequest",
                        data: DATA,
                        user: Some(&user),
                        caller: caller.clone(),
                    };
                    let mut instances = ConnectionInstances::default();
                    let reply = component
                        .invoke(call, 1 << 20, &mut instances)
                        .await
                        .expect("calc replies");
                    assert_eq!(reply.msg_type, "CalculateResponse");
                    reply
                })
            });
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .without_plots()
}

criterion_group! {
    name = benches;
    config = config();
    targets = calc
}
criterion_main!(benches);
