//! Fuzz target `webhook`: the body of a webhook request (and of each `getUpdates` result) as
//! [`Update::parse`] reads it, on Telegram-shaped updates (every kind, senders as `from` or
//! `user`, valid and malformed, payments, several kinds at once, odd `update_id`s, repeated
//! keys), JSON mutations of them, and any text.
//!
//! The oracle is the Bot API's `Update` ("update_id Integer; at most one of the optional
//! parameters can be present") and what `updates/mod.rs` documents: a JSON object (a repeated
//! key: the last one counts) with an integer `update_id` and an object-valued field named in
//! lower case and `_` (at most 64 bytes) → that kind, its object as `Data` byte for byte (a
//! handler sees the numbers Telegram sent), its sender its
//! `from` or else its `user` (each taken when it is a user), a payment when a `message` carries
//! `successful_payment`; anything else is refused. With several object fields, any one of them
//! may be taken (Telegram never sends that).

use extws_wasm::auth::TelegramUser;
use extws_wasm::updates::Update;
use proptest::prelude::*;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::driver::fuzz;
use crate::json::{self, Mutation};

/// A sender as it may appear: a user, malformed ones, `null`.
fn sender() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (any::<i64>(), "[A-Za-z]{0,8}").prop_map(|(id, name)| {
            format!(r#"{{"id":{id},"is_bot":false,"first_name":"{name}"}}"#)
        }),
        1 => Just(r#"{"id":"12","first_name":"S"}"#.to_string()),
        1 => Just(r#"{"id":1}"#.to_string()),
        1 => Just(r#"{"id":1e3,"first_name":"F"}"#.to_string()),
        1 => Just("null".to_string()),
        1 => json::value(),
    ]
}

/// A kind's name: Telegram's, others in lower case, and invalid ones.
fn kind() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => prop::sample::select(vec![
            "message", "edited_message", "callback_query", "pre_checkout_query",
            "shipping_query", "inline_query", "poll_answer", "my_chat_member",
            "message_reaction", "chat_join_request", "business_message",
        ]).prop_map(str::to_string),
        1 => "[a-z_]{1,70}",
        1 => "[A-Za-z0-9_.-]{0,10}",
        1 => any::<String>(),
    ]
}

/// The object of one kind: a sender as `from` and/or `user`, a payment, other fields.
fn kind_object() -> impl Strategy<Value = String> {
    (
        prop::option::weighted(0.7, sender()),
        prop::option::weighted(0.2, sender()),
        prop::option::weighted(
            0.2,
            prop_oneof![
                Just("{\"currency\":\"XTR\",\"total_amount\":1}".to_string()),
                Just("null".to_string()),
                json::value()
            ],
        ),
        prop::collection::vec(("\"[a-z_]{1,8}\"", json::value()), 0..3),
    )
        .prop_flat_map(|(from, user, payment, extra)| {
            let mut members: Vec<String> = extra.iter().map(|(k, v)| format!("{k}:{v}")).collect();
            members.extend(from.map(|v| format!("\"from\":{v}")));
            members.extend(user.map(|v| format!("\"user\":{v}")));
            members.extend(payment.map(|v| format!("\"successful_payment\":{v}")));
            Just(members)
                .prop_shuffle()
                .prop_map(|m| format!("{{{}}}", m.join(",")))
        })
}

/// An `update_id` as it may appear.
fn update_id() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["1.0", "1e3", "-0", "\"5\"", "null", "9223372036854775808"]).prop_map(str::to_string),
        1 => json::value(),
    ]
}

/// An update's text: its members (maybe a kind twice, a key repeated), maybe mutated.
fn body() -> impl Strategy<Value = String> {
    let update = (
        prop::option::weighted(0.95, update_id()),
        prop::collection::vec(
            (kind(), prop_oneof![4 => kind_object(), 1 => json::value()]),
            0..3,
        ),
        prop::bool::weighted(0.1),
        prop::collection::vec(json::mutation(), 1..3),
        prop::bool::weighted(0.8),
    )
        .prop_flat_map(|(id, kinds, repeat, mutations, clean)| {
            let mut members: Vec<String> =
                id.iter().map(|v| format!("\"update_id\":{v}")).collect();
            for (kind, object) in kinds {
                members.push(format!(
                    "{}:{object}",
                    serde_json::to_string(&kind).unwrap()
                ));
            }
            if repeat && let Some(first) = members.first().cloned() {
                members.push(first);
            }
            let mutations: Vec<Mutation> = if clean { Vec::new() } else { mutations };
            Just(members).prop_shuffle().prop_map(move |m| {
                let text = format!("{{{}}}", m.join(","));
                mutations.iter().fold(text, |t, m| json::mutate(&t, m))
            })
        });
    prop_oneof![8 => update, 1 => json::value(), 1 => any::<String>()]
}

/// The members of a JSON object, a repeated key's last value counting; `None` when `text` is
/// not one.
fn last_wins(text: &str) -> Option<Vec<(String, Box<RawValue>)>> {
    let mut members = crate::envelope::object_members(text).ok()?;
    let mut seen = std::collections::HashSet::new();
    members.reverse();
    members.retain(|(k, _)| seen.insert(k.clone()));
    members.reverse();
    Some(members)
}

fn get<'a>(members: &'a [(String, Box<RawValue>)], key: &str) -> Option<&'a str> {
    members.iter().find(|(k, _)| k == key).map(|(_, v)| v.get())
}

/// `raw` as a user, when it is one.
fn user(raw: Option<&str>) -> Option<Value> {
    let user = serde_json::from_str::<TelegramUser>(raw?).ok()?;
    Some(serde_json::to_value(user).unwrap())
}

fn valid_kind(kind: &str) -> bool {
    !kind.is_empty()
        && kind.len() <= 64
        && kind.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let got = Update::parse(text);
    let Some(fields) = last_wins(text) else {
        prop_assert!(got.is_err(), "not a JSON object, yet {got:?}");
        return Ok(());
    };
    let id = get(&fields, "update_id").and_then(|v| serde_json::from_str::<Value>(v).ok());
    let id = id.as_ref().and_then(Value::as_i64);
    let objects: Vec<&String> = fields
        .iter()
        .filter(|(k, v)| k != "update_id" && v.get().starts_with('{'))
        .map(|(k, _)| k)
        .collect();
    let update = match (id, objects.as_slice(), got) {
        (None, _, got) | (_, [], got) => {
            prop_assert!(got.is_err(), "no update_id or no kind, yet {got:?}");
            return Ok(());
        }
        (Some(_), [kind], Err(why)) => {
            prop_assert!(!valid_kind(kind), "{kind:?} refused: {why}");
            return Ok(());
        }
        (Some(_), _, Err(_)) => return Ok(()), // several kinds: refusing is fine
        (Some(_), _, Ok(update)) => update,
    };
    prop_assert_eq!(Some(update.id), id);
    prop_assert!(
        objects.contains(&&update.kind),
        "{} of {objects:?}",
        update.kind
    );
    prop_assert!(valid_kind(&update.kind), "{:?}", update.kind);
    // Data is the field exactly as sent.
    let object = get(&fields, &update.kind).unwrap();
    prop_assert_eq!(update.data.get(), object);
    let members = last_wins(object).unwrap_or_default();
    let sender = user(get(&members, "from")).or_else(|| user(get(&members, "user")));
    let from = update.from.map(|u| serde_json::to_value(u).unwrap());
    prop_assert_eq!(from, sender, "sender of {}", object);
    let payment = get(&members, "successful_payment").is_some_and(|v| v != "null");
    prop_assert_eq!(
        update.successful_payment,
        update.kind == "message" && payment
    );
    Ok(())
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_webhook() {
    fuzz("webhook", 500, body, |text| check(&text));
}

/// Found by `make fuzz`: `Data` went through `serde_json::Value` and back, changing numbers.
#[test]
fn data_is_the_field_as_sent() {
    for field in [
        r#"{"":-3.434206261684446e+280}"#,
        r#"{"big":123456789012345678901234567890,"location":{"latitude":55.755826}}"#,
        r#"{ "text" : "spaced\u0021" }"#,
    ] {
        let body = format!(r#"{{"update_id":1,"message":{field}}}"#);
        assert_eq!(Update::parse(&body).unwrap().data.get(), field);
        check(&body).unwrap();
    }
}

/// A sender is taken from `from`, else `user`, whatever the other one holds (a malformed one
/// dropped both).
#[test]
fn a_sender_is_kept_when_the_other_field_is_not_a_user() {
    let user = r#"{"id":5,"first_name":"U"}"#;
    for object in [
        format!(r#"{{"from":{user},"user":7}}"#),
        format!(r#"{{"from":"x","user":{user}}}"#),
    ] {
        let body = format!(r#"{{"update_id":1,"poll_answer":{object}}}"#);
        assert_eq!(Update::parse(&body).unwrap().from.map(|u| u.id), Some(5));
        check(&body).unwrap();
    }
}
