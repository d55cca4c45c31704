//! Fuzz target `init_data`: `telegram::validate` against an oracle written here from Telegram's
//! documented algorithm ("Validating data received via the Mini App") and the strictness the
//! validator documents, on initData signed here and then mutated, and on mutations of the
//! public vectors. The two must agree on every input: the same outcome, the same error kind.
//!
//! The oracle is in [`oracle`]; the generated cases (signed, mutated, and the public vectors)
//! in [`cases`].

pub mod cases;
mod oracle;

use ed25519_dalek::SigningKey;
use extws_wasm::auth::telegram::{self, Verifier};
use proptest::prelude::*;

use crate::driver::fuzz;
use cases::{signed_case, vector_case, vectors};
use oracle::oracle;

const TOKEN: &str = "7342037359:AAHI25ES9xCOMPWYWRxmr3HKTgFtAh9qhTQ";

/// How a case is checked.
#[derive(Debug, Clone)]
pub enum Check {
    /// HMAC with this bot token.
    Hmac(String),
    /// Ed25519 for this bot id and public key (hex).
    Ed25519(u64, String),
}

fn signing_key(seed: u8) -> SigningKey {
    SigningKey::from_bytes(&[seed; 32])
}

fn public_hex(seed: u8) -> String {
    hex::encode(signing_key(seed).verifying_key().to_bytes())
}

pub fn verifier(check: &Check) -> Verifier {
    match check {
        Check::Hmac(token) => Verifier::hmac(token),
        Check::Ed25519(bot_id, public) => Verifier::ed25519(*bot_id, public).unwrap(),
    }
}

/// What the oracle and the validator are compared on.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Valid {
        user: Option<(i64, String)>,
        auth_date: Option<u64>,
        query_id: Option<String>,
        start_param: Option<String>,
    },
    Refused(&'static str),
}

/// The validator's answer, in the oracle's terms.
fn validator(raw: &str, check: &Check, max_age: Option<u64>, now: u64) -> Verdict {
    match telegram::validate(raw, &verifier(check), max_age, now) {
        Ok(valid) => Verdict::Valid {
            user: valid.user.map(|u| (u.id, u.first_name)),
            auth_date: valid.context.auth_date,
            query_id: valid.context.query_id,
            start_param: valid.context.start_param,
        },
        Err(e) => Verdict::Refused(e.kind()),
    }
}

/// One generated case: the raw initData and how it is checked.
#[derive(Debug, Clone)]
pub struct Case {
    pub raw: String,
    pub check: Check,
    pub max_age: Option<u64>,
    pub now: u64,
}

fn agrees(case: &Case) -> Result<(), TestCaseError> {
    let expected = oracle(&case.raw, &case.check, case.max_age, case.now);
    let got = validator(&case.raw, &case.check, case.max_age, case.now);
    prop_assert_eq!(got, expected);
    Ok(())
}

#[test]
fn the_oracle_agrees_with_the_public_vectors() {
    for (raw, check, max_age, now, valid) in vectors() {
        let verdict = oracle(&raw, &check, max_age, now);
        assert_eq!(
            matches!(verdict, Verdict::Valid { .. }),
            valid,
            "{raw}: {verdict:?}"
        );
    }
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_init_data() {
    let cases = || {
        prop_oneof![3 => signed_case(), 1 => any::<String>().prop_map(|raw| Case {
        raw,
        check: Check::Hmac(TOKEN.into()),
        max_age: None,
        now: 0,
    }), 2 => vector_case()]
    };
    fuzz("init_data", 500, cases, |case| agrees(&case));
}
