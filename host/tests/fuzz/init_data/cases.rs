//! The cases of the `init_data` target: initData signed here (fields of every kind, encoded
//! several ways) and then mutated, and the public vectors, plain and mutated.

use base64::Engine as _;
use ed25519_dalek::Signer as _;
use proptest::prelude::*;

use super::oracle::{data_check_string, hmac_hex};
use super::{Case, Check, TOKEN, public_hex, signing_key};

/// How keys and values are percent-encoded.
#[derive(Debug, Clone, Copy)]
struct Encoding {
    /// `%2F` rather than `%2f`.
    upper_hex: bool,
    /// A space as `+` rather than `%20`.
    plus_for_space: bool,
    /// Encode only what must be (`%`, `&`, `+`, and `=` in keys), leaving the rest raw.
    minimal: bool,
}

fn encode(s: &str, key: bool, e: Encoding) -> String {
    let mut out = String::new();
    for c in s.chars() {
        let must = matches!(c, '%' | '&' | '+') || (key && c == '=');
        let unreserved = c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~');
        if c == ' ' && e.plus_for_space {
            out.push('+');
        } else if unreserved || (e.minimal && !must && c != ' ') {
            out.push(c);
        } else {
            for b in c.to_string().bytes() {
                if e.upper_hex {
                    out.push_str(&format!("%{b:02X}"));
                } else {
                    out.push_str(&format!("%{b:02x}"));
                }
            }
        }
    }
    out
}

/// What is done to the signed text.
#[derive(Debug, Clone)]
enum Mutation {
    /// The pieces in another order.
    Shuffle(Vec<prop::sample::Index>),
    /// One piece twice.
    Duplicate(prop::sample::Index),
    /// One piece left out.
    Drop(prop::sample::Index),
    /// The hash in upper case.
    UpperCaseHash,
    /// `=` padding (raw or `%3D`) after the signature.
    PadSignature(usize, bool),
    /// A character replaced.
    Replace(prop::sample::Index, char),
    /// A token inserted.
    Insert(prop::sample::Index, &'static str),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let token = prop::sample::select(vec![
        "&", "=", "%", "%4", "%zz", "+", "%00", "%C3", "&hash=", "\u{e9}",
    ]);
    let index = any::<prop::sample::Index>;
    prop_oneof![
        prop::collection::vec(index(), 1..4).prop_map(Mutation::Shuffle),
        index().prop_map(Mutation::Duplicate),
        index().prop_map(Mutation::Drop),
        Just(Mutation::UpperCaseHash),
        (1usize..4, any::<bool>()).prop_map(|(n, raw)| Mutation::PadSignature(n, raw)),
        (
            index(),
            prop::sample::select(vec!['a', '0', 'F', '%', '+', '=', '&', ' ', '\u{e9}'])
        )
            .prop_map(|(i, c)| Mutation::Replace(i, c)),
        (index(), token).prop_map(|(i, t)| Mutation::Insert(i, t)),
    ]
}

fn apply(raw: &str, m: &Mutation) -> String {
    let mut pieces: Vec<String> = raw.split('&').map(str::to_string).collect();
    match m {
        Mutation::Shuffle(swaps) => {
            for (n, i) in swaps.iter().enumerate() {
                let (a, b) = (n % pieces.len(), i.index(pieces.len()));
                pieces.swap(a, b);
            }
        }
        Mutation::Duplicate(i) => {
            let copy = pieces[i.index(pieces.len())].clone();
            pieces.push(copy);
        }
        Mutation::Drop(i) => {
            pieces.remove(i.index(pieces.len()));
        }
        Mutation::UpperCaseHash => {
            for p in pieces.iter_mut().filter(|p| p.starts_with("hash=")) {
                *p = format!("hash={}", p[5..].to_ascii_uppercase());
            }
        }
        Mutation::PadSignature(n, raw) => {
            let pad = if *raw { "=" } else { "%3D" };
            for p in pieces.iter_mut().filter(|p| p.starts_with("signature=")) {
                p.push_str(&pad.repeat(*n));
            }
        }
        Mutation::Replace(..) | Mutation::Insert(..) if raw.is_empty() => {}
        Mutation::Replace(i, c) => {
            let chars: Vec<char> = raw.chars().collect();
            let at = i.index(chars.len());
            return chars
                .iter()
                .enumerate()
                .map(|(n, x)| if n == at { *c } else { *x })
                .collect();
        }
        Mutation::Insert(i, token) => {
            let boundaries: Vec<usize> = raw
                .char_indices()
                .map(|(n, _)| n)
                .chain([raw.len()])
                .collect();
            let at = boundaries[i.index(boundaries.len())];
            return format!("{}{token}{}", &raw[..at], &raw[at..]);
        }
    }
    pieces.join("&")
}

/// Values a field may hold: text with the characters that matter to the format, and the
/// integers' odd spellings.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_-]{0,12}",
        any::<String>(),
        prop::sample::select(vec![
            "a=b",
            "a&b",
            "a+b",
            "a%20b",
            "a\nb",
            " ",
            "\u{e9}\u{1F600}",
            ""
        ])
        .prop_map(str::to_string),
    ]
}

fn date_text() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => (1_600_000_000u64..1_800_000_000).prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["+5", "05", "-1", "", " 1", "1e3", "1.0", "0x10",
            "18446744073709551615", "18446744073709551616", "\u{0661}"]).prop_map(str::to_string),
    ]
}

fn user_json() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        r#"{"id":279058397,"first_name":"Vladislav","last_name":"Kibenko","username":"vdkfrost","language_code":"ru","is_premium":true,"allows_write_to_pm":true}"#,
        r#"{"id":7,"first_name":"Ann \/ Bo","photo_url":"https:\/\/t.me\/i\/userpic\/320\/x.jpg"}"#,
        r#"{"id":"123","first_name":"S","is_bot":"false"}"#,
        r#"{"id":-1,"first_name":"","last_name":null,"extra":[1,{"a":2}]}"#,
        r#"{"id":1.5,"first_name":"F"}"#,
        r#"{"id":1}"#,
        r#"{"id":1,"first_name":2}"#,
        r#"{"id":1,"first_name":"A","is_premium":"yes"}"#,
        r#"{"id":9223372036854775808,"first_name":"A"}"#,
        r#"[1,2]"#,
        r#"not json"#,
    ])
    .prop_map(str::to_string)
}

fn chat_json() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        r#"{"id":-100,"type":"group","title":"T"}"#,
        r#"{"id":"5","type":"channel","title":"C","username":"c"}"#,
        r#"{"id":1,"type":"group"}"#,
        r#"{"id":1,"title":"T","type":3}"#,
    ])
    .prop_map(str::to_string)
}

/// initData signed here (fields of every kind, then encoded one of several ways), then
/// mutated; checked with the signer's key or another one, at a time around `auth_date`.
pub fn signed_case() -> impl Strategy<Value = Case> {
    let fields = (
        prop::option::weighted(0.9, date_text()),
        prop::option::weighted(0.8, user_json()),
        prop::option::of(text()),
        prop::option::weighted(0.2, text()),
        prop::option::weighted(0.2, chat_json()),
        prop::option::weighted(0.1, user_json()),
        prop::option::weighted(0.1, date_text()),
        prop::collection::vec((prop_oneof!["[a-z_]{1,10}", any::<String>()], text()), 0..3),
    );
    let check = prop_oneof![
        (prop::sample::select(vec![
            TOKEN,
            "1:other",
            "5768337691:AAH5YkoiEuPk8-FZa32hStHTqXiLPtAEhx8"
        ]))
        .prop_map(|t| Check::Hmac(t.to_string())),
        (prop::sample::select(vec![42u64, 43, 7342037359]), 1u8..3)
            .prop_map(|(id, seed)| Check::Ed25519(id, public_hex(seed))),
    ];
    (
        fields,
        check,
        any::<bool>(),
        (any::<bool>(), any::<bool>(), any::<bool>()),
        prop_oneof![Just(Vec::new()), prop::collection::vec(mutation(), 1..3)],
        prop::option::of(prop::sample::select(vec![0u64, 1, 60, 86_400, u64::MAX])),
        prop_oneof![-5i64..5, -100_000i64..100_000, Just(i64::MAX)],
        prop::bool::weighted(0.8),
    )
        .prop_map(|(f, check, both, (upper_hex, plus_for_space, minimal), mutations, max_age, offset, same_key)| {
            let (auth_date, user, query_id, start_param, chat, receiver, can_send_after, extra) = f;
            let named = [
                ("auth_date", auth_date),
                ("user", user),
                ("query_id", query_id),
                ("start_param", start_param),
                ("chat", chat),
                ("receiver", receiver),
                ("can_send_after", can_send_after),
            ];
            let mut fields: Vec<(String, String)> = Vec::new();
            for (k, v) in named.into_iter().filter_map(|(k, v)| Some((k.to_string(), v?))).chain(extra) {
                let reserved = ["hash", "signature"].contains(&k.as_str());
                if !k.is_empty() && !reserved && !fields.iter().any(|(seen, _)| *seen == k) {
                    fields.push((k, v));
                }
            }
            // Sign as Telegram does; with Ed25519, Telegram also sends a `hash`.
            let (signer_id, signer_seed) = match &check {
                Check::Ed25519(id, public) => (*id, if *public == public_hex(1) { 1 } else { 2 }),
                Check::Hmac(_) => (42, 1),
            };
            let ed_dcs = format!("{signer_id}:WebAppData\n{}", data_check_string(&fields, &["hash", "signature"]));
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .encode(signing_key(signer_seed).sign(ed_dcs.as_bytes()).to_bytes());
            if matches!(check, Check::Ed25519(..)) || both {
                fields.push(("signature".into(), signature));
            }
            let hash = hmac_hex(TOKEN, &data_check_string(&fields, &["hash"]));
            fields.push(("hash".into(), hash));
            let encoding = Encoding { upper_hex, plus_for_space, minimal };
            let raw = fields
                .iter()
                .map(|(k, v)| format!("{}={}", encode(k, true, encoding), encode(v, false, encoding)))
                .collect::<Vec<_>>()
                .join("&");
            let raw = mutations.iter().fold(raw, |r, m| apply(&r, m));
            let check = match check {
                Check::Ed25519(id, _) if !same_key => Check::Ed25519(id, public_hex(3)),
                other => other,
            };
            let base = fields
                .iter()
                .find(|(k, _)| k == "auth_date")
                .and_then(|(_, v)| v.parse::<i64>().ok())
                .unwrap_or(1_700_000_000);
            let now = base.saturating_add(offset).max(0) as u64;
            Case { raw, check, max_age, now }
        })
}

/// The public vectors, each checked as the file says (so the oracle is seen to agree with
/// five reference implementations), and mutated.
pub fn vectors() -> Vec<(String, Check, Option<u64>, u64, bool)> {
    let path = crate::common::repo().join("tests/data/telegram-init-data-vectors.json");
    let file: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    file["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            let max_age = match (v["now_unix"].as_u64(), v["max_age_s"].as_u64()) {
                (Some(_), Some(0)) if v["max_age_zero_means_immediate"] == true => Some(0),
                (Some(_), Some(n)) if n > 0 => Some(n),
                _ => None,
            };
            (
                v["init_data"].as_str().unwrap().to_string(),
                match v["kind"].as_str().unwrap() {
                    "hmac" => Check::Hmac(v["bot_token"].as_str().unwrap().to_string()),
                    _ => Check::Ed25519(
                        v["bot_id"].as_u64().unwrap(),
                        v["public_key_hex"].as_str().unwrap().to_string(),
                    ),
                },
                max_age,
                v["now_unix"].as_u64().unwrap_or(0),
                v["expected_valid"].as_bool().unwrap(),
            )
        })
        .collect()
}

pub fn vector_case() -> impl Strategy<Value = Case> {
    let vectors = vectors();
    (0..vectors.len(), prop::collection::vec(mutation(), 1..3)).prop_map(move |(i, mutations)| {
        let (raw, check, max_age, now, _) = vectors[i].clone();
        Case {
            raw: mutations.iter().fold(raw, |r, m| apply(&r, m)),
            check,
            max_age,
            now,
        }
    })
}
