//! Fuzz target `auth_message`: a connection waiting for first-message auth
//! ([`Pending::on_text`] / [`Pending::on_binary`]) fed `{"Type":"Auth","Data":{"initData":...}}`
//! frames built around the `init_data` target's signed and mutated initData: `Type` and keys
//! escaped or not, `Data` of every shape (an object with `initData`, `resume` and unknown
//! members, repeated keys, an array of its values, any value), any `Id`, then JSON mutations.
//!
//! The oracle reads the frame as docs/protocol.md and docs/auth.md say: not an envelope →
//! `invalid_message`; another `Type` → `unauthenticated` (the `Id` echoed), still pending;
//! `Auth` whose `Data` is an object with one string `initData` (and at most one `resume`) →
//! what the validator says of that initData: valid → `AuthResponse` with the user and the
//! `Id`, and the resume asked (an integer or decimal string; absent or `null` → the request's);
//! anything else → close 4401, whose reason never quotes the initData's hash or signature.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use extws_wasm::auth::{AuthPolicy, Transport, telegram};
use extws_wasm::connect::{FirstMessage, Pending};
use extws_wasm::dispatch::Outcome;
use extws_wasm::metrics::Metrics;
use extws_wasm::runtime::{EngineSettings, Runtime};
use extws_wasm::tenants::Tenant;
use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::driver::fuzz;
use crate::init_data::cases::{signed_case, vector_case};
use crate::init_data::{Case, verifier};
use crate::json::{self, Mutation};

/// The time every tenant's clock says: the case's `now`.
static NOW: AtomicU64 = AtomicU64::new(0);

/// Frames that signed in, so a run shows the oracle was tried on valid ones too.
static SIGNED_IN: AtomicU64 = AtomicU64::new(0);

/// What the request said to resume, before any `Auth` message.
const REQUEST_RESUME: u64 = 7;

/// A tenant with first-message auth checking initData as `case` says, at [`NOW`]; loaded once
/// per kind of check (no components: nothing runs before authentication).
fn tenant(case: &Case) -> Arc<Tenant> {
    static TENANTS: OnceLock<Mutex<HashMap<String, Arc<Tenant>>>> = OnceLock::new();
    static RUNTIME: OnceLock<(tokio::runtime::Runtime, Runtime)> = OnceLock::new();
    let key = format!("{:?} {:?}", case.check, case.max_age);
    let mut tenants = TENANTS.get_or_init(Default::default).lock().unwrap();
    tenants
        .entry(key)
        .or_insert_with(|| {
            let (tokio, runtime) = RUNTIME.get_or_init(|| {
                let tokio = tokio::runtime::Runtime::new().unwrap();
                let settings = EngineSettings {
                    total_instances: 4,
                    ..EngineSettings::default()
                };
                (tokio, Runtime::new(&settings).unwrap())
            });
            let mut config = crate::common::tenant("auth", &[]);
            config.auth = AuthPolicy {
                transports: vec![Transport::Message],
                max_age: case.max_age,
                clock: Arc::new(|| NOW.load(Ordering::Relaxed)),
                ..AuthPolicy::new(verifier(&case.check))
            };
            let loading = Tenant::load(runtime, &config, None, Arc::new(Metrics::new()));
            Arc::new(tokio.block_on(loading).unwrap())
        })
        .clone()
}

/// One frame: its text (sent as a binary frame when `binary`).
#[derive(Debug, Clone)]
struct Frame {
    text: String,
    binary: bool,
}

/// initData and up to three frames carrying it (or not).
#[derive(Debug, Clone)]
struct AuthCase {
    case: Case,
    frames: Vec<Frame>,
}

/// A JSON text for `raw`: a string literal (plain or `\u`-escaped), or another value.
fn init_data_value(raw: String) -> impl Strategy<Value = String> {
    let plain = serde_json::to_string(&raw).unwrap();
    let escaped: String = raw.encode_utf16().map(|u| format!("\\u{u:04x}")).collect();
    prop_oneof![
        8 => Just(plain.clone()),
        1 => Just(format!("\"{escaped}\"")),
        1 => json::value(),
        1 => Just(format!("[{plain}]")),
    ]
}

/// A `resume` value: an integer, a decimal string, `null`, or anything.
fn resume_value() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<u64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| format!("\"{n}\"")),
        Just("null".to_string()),
        Just("\"+5\"".to_string()),
        Just("-1".to_string()),
        Just("1.5".to_string()),
        json::value(),
    ]
}

/// `name` as a key literal, sometimes with its first letter escaped.
fn key(name: &str, escaped: bool) -> String {
    match escaped {
        true => format!("\"\\u{:04x}{}\"", name.as_bytes()[0], &name[1..]),
        false => format!("\"{name}\""),
    }
}

/// The `Data` of an `Auth` message carrying `raw`.
fn data(raw: String) -> impl Strategy<Value = String> {
    let members = (
        prop::option::weighted(0.95, init_data_value(raw.clone())),
        prop::option::weighted(0.3, resume_value()),
        prop::collection::vec((json::string_literal(), json::value()), 0..2),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
    )
        .prop_flat_map(|(init, resume, extra, repeat, escaped)| {
            let mut members: Vec<(String, String)> = Vec::new();
            members.extend(init.map(|v| (key("initData", escaped), v)));
            members.extend(resume.map(|v| (key("resume", escaped), v)));
            if repeat && let Some(first) = members.first().cloned() {
                members.push(first);
            }
            members.extend(extra);
            Just(members).prop_shuffle()
        });
    prop_oneof![
        8 => members.prop_map(|m| {
            let inner: Vec<String> = m.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("{{{}}}", inner.join(","))
        }),
        1 => Just(format!("[{}]", serde_json::to_string(&raw).unwrap())),
        1 => json::value(),
    ]
}

/// A frame of an `Auth` message carrying `raw` (or of another Type), maybe mutated.
fn frame(raw: String) -> impl Strategy<Value = Frame> {
    let type_value = prop_oneof![
        8 => Just("\"Auth\"".to_string()),
        1 => Just("\"\\u0041uth\"".to_string()),
        1 => "[A-Za-z]{1,8}".prop_map(|s| format!("\"{s}\"")),
        1 => json::value(),
    ];
    (
        prop::option::weighted(0.95, type_value),
        prop::option::weighted(0.95, data(raw)),
        prop::option::weighted(0.5, json::value()),
        prop::collection::vec(json::mutation(), 0..3),
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(ty, data, id, mutations, clean, binary)| {
            let members = [("\"Type\"", ty), ("\"Data\"", data), ("\"Id\"", id)];
            let inner: Vec<String> = members
                .into_iter()
                .filter_map(|(k, v)| Some(format!("{k}:{}", v?)))
                .collect();
            let text = format!("{{{}}}", inner.join(","));
            let mutations: &[Mutation] = if clean { &[] } else { &mutations };
            let text = mutations.iter().fold(text, |t, m| json::mutate(&t, m));
            Frame { text, binary }
        })
}

fn auth_case() -> impl Strategy<Value = AuthCase> {
    let raw = prop_oneof![3 => signed_case(), 1 => vector_case()];
    raw.prop_flat_map(|case| {
        let frames = prop::collection::vec(frame(case.raw.clone()), 1..4);
        (Just(case), frames).prop_map(|(case, frames)| AuthCase { case, frames })
    })
}

/// Every member of a JSON object, repeated keys kept; `None` when `text` is not an object.
fn members(text: &str) -> Option<Vec<(String, Box<RawValue>)>> {
    crate::envelope::object_members(text).ok()
}

/// The resume an `Auth` message's `resume` asks for: `Some(Ok(n))`, `Some(Err)` when it is
/// not a non-negative integer (or a string of digits), `None` when absent or `null`.
fn resume_oracle(value: Option<&RawValue>) -> Option<Result<u64, ()>> {
    let Ok(value) = serde_json::from_str::<Value>(value?.get()) else {
        return Some(Err(())); // not representable, e.g. a lone surrogate escape
    };
    match value {
        Value::Null => None,
        Value::Number(n) => Some(n.as_u64().ok_or(())),
        Value::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            Some(s.parse().map_err(|_| ()))
        }
        _ => Some(Err(())),
    }
}

/// A reply as the server wrote it: its `Type`, `Data`, and `Id` as raw text (an echoed `Id`
/// may be `null`, or hold a lone surrogate escape, which `Value` cannot).
struct Reply {
    msg_type: String,
    data: Value,
    id: Option<String>,
}

fn reply(text: &str) -> Reply {
    let members = crate::envelope::object_members(text).unwrap_or_else(|e| panic!("{text}: {e}"));
    let member = |name: &str| {
        members
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.get())
    };
    Reply {
        msg_type: serde_json::from_str(member("Type").unwrap()).unwrap(),
        data: serde_json::from_str(member("Data").unwrap_or("null")).unwrap(),
        id: member("Id").map(str::to_string),
    }
}

/// The one reply's `Data.code` and raw `Id`.
fn error_reply(outcome: &Outcome) -> Result<(String, Option<String>), TestCaseError> {
    prop_assert_eq!(outcome.replies.len(), 1, "{:?}", outcome.replies);
    prop_assert!(outcome.close.is_none(), "{:?}", outcome.close);
    let reply = reply(&outcome.replies[0]);
    prop_assert_eq!(&reply.msg_type, "HandlerException");
    let code = reply.data["code"].as_str().unwrap_or_default().to_string();
    Ok((code, reply.id))
}

/// Runs the frames of `case` through one pending connection and checks each outcome.
fn check(case: &AuthCase) -> Result<(), TestCaseError> {
    let c = &case.case;
    let tenant = tenant(c);
    NOW.store(c.now, Ordering::Relaxed);
    let mut pending = Pending::new(tenant, Ok(Some(REQUEST_RESUME)));
    for frame in &case.frames {
        let outcome = match frame.binary {
            true => pending.on_binary(frame.text.as_bytes()),
            false => pending.on_text(&frame.text),
        };
        let Ok(request) = extws_wasm::envelope::parse(&frame.text) else {
            let FirstMessage::Refused(outcome) = outcome else {
                return Err(TestCaseError::fail("not an envelope, yet signed in"));
            };
            prop_assert_eq!(error_reply(&outcome)?.0, "invalid_message");
            continue;
        };
        let id = request.id.map(|id| id.get().to_string());
        if request.msg_type != "Auth" {
            let FirstMessage::Refused(outcome) = outcome else {
                return Err(TestCaseError::fail("another Type signed in"));
            };
            prop_assert_eq!(error_reply(&outcome)?, ("unauthenticated".into(), id));
            continue;
        }
        // `Data`: an object with exactly one `initData`, a string, and at most one `resume`.
        let data = members(request.data).unwrap_or_default();
        let named = |name: &str| data.iter().filter(|(k, _)| k == name).collect::<Vec<_>>();
        let (init, resume) = (named("initData"), named("resume"));
        let raw = match (init.as_slice(), resume.len()) {
            ([(_, v)], 0 | 1) => serde_json::from_str::<String>(v.get()).ok(),
            _ => None,
        };
        // No usable initData is checked as none at all.
        let verdict = telegram::validate(
            raw.as_deref().unwrap_or(""),
            &verifier(&c.check),
            c.max_age,
            c.now,
        );
        match (verdict, outcome) {
            (Ok(valid), FirstMessage::Authenticated(signed)) => {
                let user = serde_json::to_value(&valid.user).unwrap();
                prop_assert_eq!(&serde_json::to_value(&signed.session.user).unwrap(), &user);
                let reply = reply(&signed.response);
                prop_assert_eq!(&reply.msg_type, "AuthResponse");
                prop_assert_eq!(&reply.data["user"], &user);
                prop_assert_eq!(reply.id, id);
                let asked = resume_oracle(resume.first().map(|(_, v)| &**v));
                let got = signed.resume.as_ref().map_err(|_| ()).copied();
                match asked {
                    None => prop_assert_eq!(got, Ok(Some(REQUEST_RESUME))),
                    Some(asked) => prop_assert_eq!(got, asked.map(Some)),
                }
                SIGNED_IN.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            (Ok(_), FirstMessage::Refused(outcome)) => {
                return Err(TestCaseError::fail(format!(
                    "valid initData refused: {:?} {:?}",
                    outcome.replies, outcome.close
                )));
            }
            (_, FirstMessage::Authenticated(_)) => {
                return Err(TestCaseError::fail(format!(
                    "signed in, but the oracle refuses: initData {raw:?}"
                )));
            }
            (Err(e), FirstMessage::Refused(outcome)) => {
                prop_assert!(outcome.replies.is_empty(), "{:?}", outcome.replies);
                let close = outcome.close.expect("a refused Auth closes");
                prop_assert_eq!(close.code, 4401);
                prop_assert_eq!(&close.reason, &e.to_string());
                for secret in ["hash=", "signature="] {
                    let value = raw.as_deref().and_then(|r| r.split(secret).nth(1));
                    let value = value.map(|v| v.split('&').next().unwrap_or(""));
                    if let Some(v) = value.filter(|v| v.len() >= 16) {
                        prop_assert!(!close.reason.contains(v), "{}", close.reason);
                    }
                }
                return Ok(());
            }
        }
    }
    Ok(())
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_auth_message() {
    fuzz("auth_message", 200, auth_case, |case| check(&case));
    println!(
        "auth_message: {} frames signed in",
        SIGNED_IN.load(Ordering::Relaxed)
    );
}

/// A valid `Auth` frame's initData for [`regression_case`]'s bot (HMAC, no expiry).
fn regression_case() -> Case {
    let fields = [
        (
            "user".to_string(),
            r#"{"id":42,"first_name":"A"}"#.to_string(),
        ),
        ("auth_date".to_string(), "1700000000".to_string()),
    ];
    Case {
        raw: telegram::sign_hmac(&fields, "1:regression"),
        check: crate::init_data::Check::Hmac("1:regression".into()),
        max_age: None,
        now: 1_700_000_000,
    }
}

/// Found by `make fuzz`: `Data` given as an array of its values (`["<initData>"]`) was read as
/// `{"initData": ...}` (serde reads a struct from an array too) and signed in.
#[test]
fn auth_data_as_an_array_is_not_an_auth_message() {
    let case = regression_case();
    let frame = |data: String| Frame {
        text: format!(r#"{{"Type":"Auth","Data":{data},"Id":1}}"#),
        binary: false,
    };
    let raw = serde_json::to_string(&case.raw).unwrap();
    let (array, frames) = (case.clone(), vec![frame(format!("[{raw}]"))]);
    check(&AuthCase {
        case: array,
        frames,
    })
    .unwrap();
    // The object form of the same initData signs in.
    let frames = vec![frame(format!(r#"{{"initData":{raw}}}"#))];
    check(&AuthCase { case, frames }).unwrap();
}

/// Found by `make fuzz`: a `resume` no JSON value can hold (`{"\ud800":null}`) failed the whole
/// `Data`, so a valid initData was refused as "missing initData" (4401) instead of signing in
/// with a malformed resume (refused as a resume, after).
#[test]
fn a_malformed_resume_is_a_resume_error_not_missing_init_data() {
    let case = regression_case();
    let raw = serde_json::to_string(&case.raw).unwrap();
    for resume in [r#"{"\ud800":null}"#, r#""\ud800""#, "[1]", "-1"] {
        let text = format!(r#"{{"Type":"Auth","Data":{{"initData":{raw},"resume":{resume}}}}}"#);
        let mut pending = Pending::new(tenant(&case), Ok(None));
        NOW.store(case.now, Ordering::Relaxed);
        let FirstMessage::Authenticated(signed) = pending.on_text(&text) else {
            panic!("refused: {text}");
        };
        assert!(signed.resume.is_err(), "{resume}: {:?}", signed.resume);
        let (case, frames) = (
            case.clone(),
            vec![Frame {
                text,
                binary: false,
            }],
        );
        check(&AuthCase { case, frames }).unwrap();
    }
}
