//! The conformance suite: the same requests, over real sockets, to the calc example of every
//! language that was built (the SDK ones and the raw-WIT Rust and C ones); every reply must
//! equal, as a JSON value, the one pinned here from `guest-examples/CONFORMANCE.md`, and every
//! refusal of bad `Data` must name the type (and the field). A language whose component is
//! missing (`make guests` skipped it) is reported as ignored.

mod common;

use std::path::Path;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier, telegram};
use extws_wasm::config::Route;
use extws_wasm::runtime::{ComponentSpec, Lifecycle};
use libtest_mimic::{Arguments, Failed, Trial};

/// `calc-raw` is the Rust calc on raw WIT bindings; `calc-rust` the one on the SDK.
const LANGUAGES: &[&str] = &["rust", "raw", "go", "c", "python", "js"];
const TOKEN: &str = "5000:conformance-token";

/// Requests without a user; each reply is compared with [`pinned_replies`].
const REQUESTS: &[&str] = &[
    r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[]},"Id":1}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[-5,3,9223372036854775807,-9223372036854775807]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[9223372036854775807,1]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[-9223372036854775808,-1]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[1.5]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":["1"]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[true]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[9223372036854775808]}}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":1}}"#,
    r#"{"Type":"CalculateRequest","Data":{"other":[1]}}"#,
    r#"{"Type":"CalculateRequest","Data":[1,2]}"#,
    r#"{"Type":"CalculateRequest"}"#,
    r#"{"Type":"CalculateRequest","Data":{"numbers":[1,2],"extra":{"x":[null]}}}"#,
    r#"{"Type":"WhoAmIRequest","Data":{}}"#,
    r#"{"Type":"WhoAmIRequest"}"#,
];

/// Users for `WhoAmIRequest`, as Telegram would send them.
const USERS: &[&str] = &[
    r#"{"id":1,"first_name":"A"}"#,
    r#"{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.svg"}"#,
    r#"{"id":-9223372036854775808,"is_bot":false,"first_name":"Zoë \"Q\" \\ <b>&amp;</b>\n\t\u0001\u001f\u007f\u2028 😀","added_to_attachment_menu":false}"#,
    r#"{"id":9007199254740993,"first_name":"Big","username":"big_id"}"#,
];

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for &lang in LANGUAGES {
        let path = repo().join(format!("target/guests/calc-{lang}.wasm"));
        let lang = if lang == "raw" { "rust-raw" } else { lang };
        let missing = !path.is_file();
        let fresh = Trial::test(format!("calc-{lang}: the contract's replies"), {
            let path = path.clone();
            move || run(pinned_replies_match(&path))
        })
        .with_ignored_flag(missing);
        let warm = Trial::test(format!("calc-{lang}: 1000 calls on one warm instance"), {
            let path = path.clone();
            move || run(warm_instance(&path))
        })
        .with_ignored_flag(missing);
        if missing {
            eprintln!(
                "skipped calc-{lang}: {} is missing; `make guests` builds it (when its toolchain \
                 can be installed)",
                path.display()
            );
        }
        trials.push(fresh);
        trials.push(warm);
    }
    libtest_mimic::run(&args, trials).exit();
}

fn run(test: impl std::future::Future<Output = Result<(), String>>) -> Result<(), Failed> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(test)
        .map_err(Failed::from)
}

/// Two tenants serving `component`: `/anon` without auth, `/auth` with HMAC over the query.
fn config(component: &Path, lifecycle: Lifecycle) -> Config {
    let spec = ComponentSpec {
        lifecycle,
        pool_size: 1,
        max_uses: 1_000_000,
        ..ComponentSpec::fresh(component)
    };
    let mut anon = tenant("anon", &[]);
    anon.route = Route {
        path_prefix: "/anon".into(),
        host: None,
    };
    anon.components = vec![spec.clone()];
    anon.limits.rate_per_second = 1e6;
    anon.limits.rate_burst = 1_000_000;
    let mut auth = tenant("auth", &[]);
    auth.route = Route {
        path_prefix: "/auth".into(),
        host: None,
    };
    auth.components = vec![spec];
    auth.auth = AuthPolicy {
        transports: vec![Transport::Query],
        max_age: None,
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    Config::new(vec![anon, auth])
}

/// Every reply of `component` to the request set, in order.
async fn replies(component: &Path) -> Vec<String> {
    let server = start(config(component, Lifecycle::Fresh)).await;
    let mut out = Vec::new();
    let mut ws = connect(&server.url("/anon")).await;
    for request in REQUESTS {
        out.push(ask(&mut ws, request).await);
    }
    for user in USERS {
        let init_data = telegram::sign_hmac(
            &[
                ("user".into(), user.to_string()),
                ("auth_date".into(), "1".into()),
            ],
            TOKEN,
        );
        let mut ws = connect(&server.url(&format!("/auth?{init_data}"))).await;
        out.push(ask(&mut ws, r#"{"Type":"WhoAmIRequest","Data":{}}"#).await);
    }
    server.shutdown().await.map_err(|e| e.to_string()).unwrap();
    out
}

/// One pinned reply: exactly this envelope (as a JSON value), or a refusal of bad `Data`.
enum Expect {
    /// This envelope.
    Exact(&'static str),
    /// `handler_error` (the guest refused it) or `invalid_data` (the host did, from the
    /// component's schema), with a message that starts `invalid CalculateRequest: ` and, when
    /// `names_numbers`, mentions the field `numbers`.
    Invalid { names_numbers: bool },
}

/// What `guest-examples/CONFORMANCE.md` says every calc must answer: one reply per request of
/// [`REQUESTS`], then one `WhoAmIResponse` per user of [`USERS`], in order.
fn pinned_replies() -> Vec<Expect> {
    use Expect::{Exact, Invalid};
    const OVERFLOW: &str = r#"{"Type":"HandlerException","Data":{"code":"handler_error","message":"overflow: the sum does not fit in a signed 64-bit integer"}}"#;
    const NOBODY: &str = r#"{"Type":"WhoAmIResponse","Data":{"user":null}}"#;
    const NUMBERS: Expect = Invalid {
        names_numbers: true,
    };
    vec![
        Exact(r#"{"Type":"CalculateResponse","Data":{"result":4}}"#),
        Exact(r#"{"Type":"CalculateResponse","Data":{"result":0},"Id":1}"#),
        // -5 + 3 + MAX - MAX: no partial sum overflows.
        Exact(r#"{"Type":"CalculateResponse","Data":{"result":-2}}"#),
        Exact(OVERFLOW),
        Exact(OVERFLOW),
        NUMBERS, // 1.5
        NUMBERS, // "1"
        NUMBERS, // true
        NUMBERS, // 2^63
        NUMBERS, // numbers not an array
        NUMBERS, // numbers missing
        Invalid {
            names_numbers: false,
        }, // Data not an object
        NUMBERS, // no Data: as {}, so numbers is missing
        Exact(r#"{"Type":"CalculateResponse","Data":{"result":3}}"#),
        Exact(NOBODY),
        Exact(NOBODY),
        Exact(r#"{"Type":"WhoAmIResponse","Data":{"user":{"id":1,"first_name":"A"}}}"#),
        // `\/` in initData is plain `/` in the reply.
        Exact(
            r#"{"Type":"WhoAmIResponse","Data":{"user":{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true,"photo_url":"https://t.me/i/userpic/320/x.svg"}}}"#,
        ),
        // Escapes, controls, DEL, U+2028, HTML characters and the emoji survive as the same
        // string, however a language chooses to escape them.
        Exact(
            "{\"Type\":\"WhoAmIResponse\",\"Data\":{\"user\":{\"id\":-9223372036854775808,\"is_bot\":false,\
             \"first_name\":\"Zoë \\\"Q\\\" \\\\ <b>&amp;</b>\\n\\t\\u0001\\u001f\u{7f}\u{2028} 😀\",\
             \"added_to_attachment_menu\":false}}}",
        ),
        // Above 2^53: the exact integer, not a float.
        Exact(
            r#"{"Type":"WhoAmIResponse","Data":{"user":{"id":9007199254740993,"first_name":"Big","username":"big_id"}}}"#,
        ),
    ]
}

/// Whether `got` (an envelope) is what `want` pins; `Err` says how it differs.
fn matches(want: &Expect, got: &str) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(got).map_err(|e| format!("not JSON ({e})"))?;
    match want {
        Expect::Exact(want) => {
            let want: serde_json::Value = serde_json::from_str(want).expect("pinned JSON");
            // Integers compare exactly: serde_json keeps i64/u64 apart from floats.
            if value == want {
                Ok(())
            } else {
                Err(format!("want {want}"))
            }
        }
        Expect::Invalid { names_numbers } => {
            let code = value["Data"]["code"].as_str().unwrap_or_default();
            let message = value["Data"]["message"].as_str().unwrap_or_default();
            let ok = value["Type"] == "HandlerException"
                && (code == "handler_error" || code == "invalid_data")
                && message.starts_with("invalid CalculateRequest: ")
                && (!names_numbers || message.contains("numbers"));
            if ok {
                Ok(())
            } else {
                let field = if *names_numbers {
                    " naming `numbers`"
                } else {
                    ""
                };
                Err(format!(
                    "want a handler_error or invalid_data \"invalid CalculateRequest: ...\"{field}"
                ))
            }
        }
    }
}

async fn pinned_replies_match(component: &Path) -> Result<(), String> {
    let want = pinned_replies();
    assert_eq!(want.len(), REQUESTS.len() + USERS.len());
    let got = replies(component).await;
    let mut differences = Vec::new();
    for (i, want) in want.iter().enumerate() {
        let got = got.get(i).map_or("(no reply)", String::as_str);
        if let Err(how) = matches(want, got) {
            differences.push(format!("#{i}\n  {how}\n  got:  {got}"));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n"))
    }
}

async fn warm_instance(component: &Path) -> Result<(), String> {
    let server = start(config(component, Lifecycle::Pooled)).await;
    let mut ws = connect(&server.url("/anon")).await;
    for i in 0..1000i64 {
        let request = format!(r#"{{"Type":"CalculateRequest","Data":{{"numbers":[{i},{i},1]}}}}"#);
        let reply: serde_json::Value = serde_json::from_str(&ask(&mut ws, &request).await)
            .map_err(|e| format!("call {i}: not JSON: {e}"))?;
        let want = serde_json::json!({"Type": "CalculateResponse", "Data": {"result": 2 * i + 1}});
        if reply != want {
            return Err(format!("call {i}: {reply}"));
        }
    }
    Ok(())
}
