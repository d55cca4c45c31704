//! Fuzz target `envelope`: `envelope::parse` on arbitrary text and near-valid envelopes,
//! against an oracle written from docs/protocol.md; replies and error envelopes
//! round-trip.

use extws_wasm::envelope::{self, EnvelopeError, ErrorCode};
use proptest::prelude::*;
use serde::de::{Deserializer as _, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::driver::fuzz;
use crate::json::{self, Member, Mutation};

/// What the protocol says a frame is.
#[derive(Debug, PartialEq, Eq)]
enum Expected {
    /// A request: its Type, the raw text of Data (`null` when absent) and of Id.
    Request(String, String, Option<String>),
    /// Refused with this error kind.
    Refused(&'static str),
}

/// The oracle. "Requests are JSON objects with a non-empty string `Type`; `Data` optional
/// (`null` when absent); `Id` optional, any JSON value, echoed; not JSON, not an object, no
/// string `Type`, duplicate keys → `invalid_message`."
fn oracle(text: &str) -> Expected {
    let Ok(members) = object_members(text) else {
        return Expected::Refused("NotAnObject");
    };
    let field = |name: &str| {
        let mut found = members.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.get().to_string());
        (first, found.next().is_some())
    };
    let (ty, dup_t) = field("Type");
    let (data, dup_d) = field("Data");
    let (id, dup_i) = field("Id");
    if dup_t || dup_d || dup_i {
        return Expected::Refused("NotAnObject");
    }
    let Some(ty) = ty else {
        return Expected::Refused("MissingType");
    };
    match serde_json::from_str::<String>(&ty) {
        Ok(ty) if !ty.is_empty() => Expected::Request(ty, data.unwrap_or("null".into()), id),
        _ => Expected::Refused("TypeNotString"),
    }
}

/// Every member of a JSON object, in order, duplicates kept; an error when `text` is not one
/// JSON object.
pub fn object_members(text: &str) -> Result<Vec<(String, Box<RawValue>)>, serde_json::Error> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Box<RawValue>)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some(entry) = map.next_entry::<String, Box<RawValue>>()? {
                out.push(entry);
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = (&mut de).deserialize_map(Members)?;
    de.end()?;
    Ok(members)
}

fn kind(e: &EnvelopeError) -> &'static str {
    match e {
        EnvelopeError::NotAnObject(_) => "NotAnObject",
        EnvelopeError::MissingType => "MissingType",
        EnvelopeError::TypeNotString => "TypeNotString",
        EnvelopeError::NotUtf8 => "NotUtf8",
    }
}

/// `parse` agrees with the oracle, and its messages show no Rust internals.
fn agrees(text: &str) -> Result<(), TestCaseError> {
    let got = match envelope::parse(text) {
        Ok(r) => Expected::Request(
            r.msg_type,
            r.data.to_string(),
            r.id.map(|i| i.get().to_string()),
        ),
        Err(e) => {
            let message = e.to_string();
            for internal in ["Incoming", "RawValue", "struct"] {
                prop_assert!(!message.contains(internal), "{message:?} shows {internal}");
            }
            Expected::Refused(kind(&e))
        }
    };
    prop_assert_eq!(got, oracle(text), "input {:?}", text);
    Ok(())
}

/// Text a fuzzer would try: arbitrary strings, JSON values, and envelopes (as objects or as
/// arrays of their values) with mutations.
fn inputs() -> impl Strategy<Value = String> {
    let envelope = (
        json::members(),
        prop::bool::weighted(0.1),
        prop::collection::vec(json::mutation(), 0..3),
    )
        .prop_map(
            |(members, as_array, mutations): (Vec<Member>, bool, Vec<Mutation>)| {
                let text = if as_array {
                    json::values_array(&members)
                } else {
                    json::object(&members)
                };
                mutations.iter().fold(text, |t, m| json::mutate(&t, m))
            },
        );
    prop_oneof![
        1 => any::<String>(),
        1 => prop::collection::vec(any::<u8>(), 0..64)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
        2 => json::value(),
        6 => envelope,
    ]
}

/// A valid envelope: its text, Type, Data and Id.
fn valid() -> impl Strategy<Value = (String, String, Option<String>, Option<String>)> {
    (
        any::<String>().prop_filter("non-empty", |s| !s.is_empty()),
        prop::option::of(json::value()),
        prop::option::of(json::value()),
        prop::collection::vec(("[a-z]{1,5}", json::value()), 0..3),
    )
        .prop_filter_map("values serde_json accepts", |(ty, data, id, extra)| {
            let ok = |v: &Option<String>| {
                v.as_ref()
                    .is_none_or(|v| serde_json::from_str::<serde_json::Value>(v).is_ok())
            };
            if !ok(&data) || !ok(&id) || extra.iter().any(|(_, v)| !ok(&Some(v.clone()))) {
                return None;
            }
            let mut members = vec![format!("\"Type\":{}", serde_json::to_string(&ty).unwrap())];
            members.extend(data.iter().map(|d| format!("\"Data\":{d}")));
            members.extend(id.iter().map(|i| format!("\"Id\":{i}")));
            members.extend(extra.iter().map(|(k, v)| format!("\"x{k}\":{v}")));
            members.reverse();
            Some((format!("{{{}}}", members.join(",")), ty, data, id))
        })
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_envelope() {
    fuzz("envelope", 2000, inputs, |text| agrees(&text));
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_envelope_round_trip() {
    let strategy = || {
        let codes = prop::sample::select(vec![ErrorCode::InvalidMessage, ErrorCode::Limit]);
        (valid(), any::<String>(), codes)
    };
    fuzz(
        "envelope_round_trip",
        1000,
        strategy,
        |((text, ty, data, id), message, code)| {
            let request = envelope::parse(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&request.msg_type, &ty);
            prop_assert_eq!(request.data, data.as_deref().unwrap_or("null"));
            prop_assert_eq!(request.id.map(RawValue::get), id.as_deref());
            // A reply carrying the request's Data and Id parses back to the same.
            let reply = envelope::reply(&request.msg_type, request.data, request.id);
            let back = envelope::parse(&reply).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back.msg_type, &ty);
            let value = |t: &str| serde_json::from_str::<serde_json::Value>(t).ok();
            prop_assert_eq!(value(back.data), value(request.data));
            prop_assert_eq!(back.id.map(RawValue::get), id.as_deref());
            // So does an error envelope with any message.
            let error = envelope::error(code, &message, request.id);
            let parsed: serde_json::Value =
                serde_json::from_str(&error).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&parsed["Type"], envelope::ERROR_TYPE);
            prop_assert_eq!(&parsed["Data"]["message"], &message);
            prop_assert_eq!(&parsed["Data"]["code"], code.as_str());
            Ok(())
        },
    );
}
