//! Unit tests of initData validation, including every public vector in
//! `tests/data/telegram-init-data-vectors.json`.

use super::*;

const TOKEN: &str = "123456:TEST-token";

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn signed(auth_date: u64) -> String {
    sign_hmac(
        &fields(&[
            ("query_id", "AAE"),
            (
                "user",
                r#"{"id":7,"first_name":"Ann \/ Bo","username":"ann"}"#,
            ),
            ("auth_date", &auth_date.to_string()),
        ]),
        TOKEN,
    )
}

#[test]
fn public_vectors_all_agree() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/data/telegram-init-data-vectors.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let file: serde_json::Value = serde_json::from_str(&text).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 62, "the shared file holds 62 vectors");
    let mut disagreements = Vec::new();
    for v in vectors {
        let id = v["id"].as_str().unwrap();
        let verifier = match v["kind"].as_str().unwrap() {
            "hmac" => Verifier::hmac(v["bot_token"].as_str().unwrap()),
            "ed25519" => Verifier::ed25519(
                v["bot_id"].as_u64().unwrap(),
                v["public_key_hex"].as_str().unwrap(),
            )
            .unwrap(),
            other => panic!("{id}: unknown kind {other}"),
        };
        // Our convention: 0 disables expiry. The file marks the one library where 0 means
        // "expire immediately"; for that vector the equivalent of ours is a window of 0 seconds.
        let zero_is_immediate = v["max_age_zero_means_immediate"].as_bool() == Some(true);
        let max_age = match (v["now_unix"].as_u64(), v["max_age_s"].as_u64()) {
            (Some(_), Some(0)) if zero_is_immediate => Some(0),
            (Some(_), Some(0)) | (None, _) | (_, None) => None,
            (Some(_), Some(n)) => Some(n),
        };
        let now = v["now_unix"].as_u64().unwrap_or(0);
        let got = validate(v["init_data"].as_str().unwrap(), &verifier, max_age, now);
        if got.is_ok() != v["expected_valid"].as_bool().unwrap() {
            disagreements.push(format!(
                "{id}: expected {} got {got:?}",
                v["expected_valid"]
            ));
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");
}

#[test]
fn signed_data_round_trips_with_user_and_context() {
    let valid = validate(&signed(1000), &Verifier::hmac(TOKEN), Some(60), 1030).unwrap();
    let user = valid.user.unwrap();
    assert_eq!(user.id, 7);
    assert_eq!(user.first_name, "Ann / Bo");
    assert_eq!(valid.context.auth_date, Some(1000));
    assert_eq!(valid.context.query_id.as_deref(), Some("AAE"));
}

#[test]
fn expiry_window_is_inclusive_and_zero_means_now() {
    let v = Verifier::hmac(TOKEN);
    assert!(validate(&signed(1000), &v, Some(60), 1060).is_ok());
    assert_eq!(
        validate(&signed(1000), &v, Some(60), 1061).unwrap_err(),
        InitDataError::Expired
    );
    assert!(validate(&signed(1000), &v, None, u64::MAX).is_ok());
    assert!(validate(&signed(1000), &v, Some(0), 1000).is_ok());
    assert_eq!(
        validate(&signed(1000), &v, Some(0), 1001).unwrap_err(),
        InitDataError::Expired
    );
}

#[test]
fn missing_auth_date_is_refused_only_when_expiry_is_on() {
    let data = sign_hmac(&fields(&[("user", r#"{"id":1,"first_name":"A"}"#)]), TOKEN);
    let v = Verifier::hmac(TOKEN);
    assert_eq!(
        validate(&data, &v, Some(10), 5).unwrap_err(),
        InitDataError::MissingAuthDate
    );
    assert!(validate(&data, &v, None, 5).is_ok());
}

#[test]
fn another_bots_token_is_refused() {
    let err = validate(&signed(1), &Verifier::hmac("999:other"), None, 0).unwrap_err();
    assert_eq!(err, InitDataError::BadSignature);
}

#[test]
fn malformed_inputs_are_refused() {
    let v = Verifier::hmac(TOKEN);
    let good = signed(1);
    let cases = [
        ("", InitDataError::Missing),
        ("auth_date=1&auth_date=1&hash=00", InitDataError::Malformed),
        ("=1&hash=00", InitDataError::Malformed),
        ("auth_date&hash=00", InitDataError::Malformed),
        ("auth_date=%zz&hash=00", InitDataError::Malformed),
        ("auth_date=%ff&hash=00", InitDataError::Malformed),
        ("auth_date=1%2&hash=00", InitDataError::Malformed),
        // Found by `make fuzz` (target init_data): `%+2` decoded as byte 2.
        ("k=%+2&hash=00", InitDataError::Malformed),
        ("auth_date=soon&hash=00", InitDataError::Malformed),
        ("auth_date=1", InitDataError::MissingSignature),
        ("auth_date=1&hash=abc", InitDataError::MalformedSignature),
    ];
    for (input, expected) in cases {
        assert_eq!(
            validate(input, &v, None, 0).unwrap_err(),
            expected,
            "{input:?}"
        );
    }
    let not_hex = format!("{}zz", &good[..good.len() - 2]);
    assert_eq!(
        validate(&not_hex, &v, None, 0).unwrap_err(),
        InitDataError::MalformedSignature
    );
    assert!(validate(&format!("{good}&extra=1"), &v, None, 0).is_err());
}

#[test]
fn hash_may_come_first() {
    let v = Verifier::hmac(TOKEN);
    let good = signed(5);
    let (rest, hash) = good.rsplit_once('&').unwrap();
    assert!(validate(&format!("{hash}&{rest}"), &v, None, 0).is_ok());
}

#[test]
fn ed25519_accepts_own_key_padded_or_not_and_refuses_other_bot() {
    let key = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let public = hex::encode(key.verifying_key().to_bytes());
    let data = sign_ed25519(
        &fields(&[
            ("auth_date", "10"),
            ("user", r#"{"id":3,"first_name":"C"}"#),
        ]),
        42,
        &key,
    );
    let v = Verifier::ed25519(42, &public).unwrap();
    assert_eq!(
        validate(&data, &v, Some(5), 12).unwrap().user.unwrap().id,
        3
    );
    assert!(
        validate(&format!("{data}%3D%3D"), &v, None, 0).is_ok(),
        "padded base64url"
    );
    // Found by `make fuzz` (target init_data): every trailing `=` was stripped, so a
    // signature with three (or thirty) padding characters was accepted.
    for pad in ["%3D", "%3D%3D%3D", "==="] {
        assert_eq!(
            validate(&format!("{data}{pad}"), &v, None, 0).unwrap_err(),
            InitDataError::MalformedSignature,
            "{pad}"
        );
    }
    let other = Verifier::ed25519(43, &public).unwrap();
    assert_eq!(
        validate(&data, &other, None, 0).unwrap_err(),
        InitDataError::BadSignature
    );
    let prod = Verifier::ed25519(42, TELEGRAM_PRODUCTION_KEY).unwrap();
    assert_eq!(
        validate(&data, &prod, None, 0).unwrap_err(),
        InitDataError::BadSignature
    );
    assert!(Verifier::ed25519(1, "zz").is_err());
}

#[test]
fn debug_never_shows_key_material() {
    let shown = format!("{:?}", Verifier::hmac(TOKEN));
    assert!(
        !shown.contains("TEST-token") && !shown.contains('['),
        "{shown}"
    );
}

#[test]
fn an_upper_case_hash_is_refused_as_every_reference_does() {
    let good = signed(1_700_000_000);
    let (data, hash) = good.split_once("hash=").unwrap();
    assert!(validate(&good, &Verifier::hmac(TOKEN), None, 0).is_ok());
    let upper = format!("{data}hash={}", hash.to_ascii_uppercase());
    assert_eq!(
        validate(&upper, &Verifier::hmac(TOKEN), None, 0).unwrap_err(),
        InitDataError::MalformedSignature
    );
}
