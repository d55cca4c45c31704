//! The JSON envelope: `{"Type": T, "Data": D, "Id": I}` in, replies and `HandlerException`
//! error envelopes out. `Data` and `Id` are passed through as raw JSON text, never re-encoded.

use serde::Deserialize;
use serde_json::value::RawValue;

/// The `Type` of every error envelope.
pub const ERROR_TYPE: &str = "HandlerException";

/// A parsed request. Borrowed from the frame's text.
#[derive(Debug)]
pub struct Request<'a> {
    /// The request's `Type`.
    pub msg_type: String,
    /// JSON text of `Data` (`null` when absent).
    pub data: &'a str,
    /// Raw JSON of `Id`, echoed in the reply.
    pub id: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Incoming<'a> {
    #[serde(rename = "Type", borrow, default, deserialize_with = "present")]
    msg_type: Option<&'a RawValue>,
    #[serde(rename = "Data", borrow, default, deserialize_with = "present")]
    data: Option<&'a RawValue>,
    #[serde(rename = "Id", borrow, default, deserialize_with = "present")]
    id: Option<&'a RawValue>,
}

/// A member that is there, even as `null` (a plain `Option` reads `null` as absent, which
/// would drop `"Id": null` from the reply and call `"Type": null` missing).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Why a frame is not a request; sent back with code `invalid_message`.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    /// Not JSON, or not a JSON object, or a duplicate key.
    #[error("message is not a JSON object: {0}")]
    NotAnObject(String),
    /// `Type` is missing.
    #[error("message has no \"Type\"")]
    MissingType,
    /// `Type` is not a non-empty string.
    #[error("\"Type\" must be a non-empty string")]
    TypeNotString,
    /// A binary frame that is not UTF-8.
    #[error("binary message is not UTF-8 JSON")]
    NotUtf8,
}

/// Parses one text frame.
pub fn parse(text: &str) -> Result<Request<'_>, EnvelopeError> {
    // serde also reads a struct from an array of its values (`["T", null, null]`); a request
    // is an object.
    if text
        .trim_start_matches([' ', '\t', '\n', '\r'])
        .starts_with('[')
    {
        return Err(EnvelopeError::NotAnObject("an array".into()));
    }
    let incoming: Incoming<'_> = serde_json::from_str(text).map_err(|e| {
        let e = e.to_string();
        EnvelopeError::NotAnObject(e.replace("struct Incoming", "an object"))
    })?;
    let raw_type = incoming.msg_type.ok_or(EnvelopeError::MissingType)?;
    let msg_type: String =
        serde_json::from_str(raw_type.get()).map_err(|_| EnvelopeError::TypeNotString)?;
    if msg_type.is_empty() {
        return Err(EnvelopeError::TypeNotString);
    }
    Ok(Request {
        msg_type,
        data: incoming.data.map_or("null", RawValue::get),
        id: incoming.id,
    })
}

/// Error codes of `HandlerException` envelopes (`Data.code`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    /// The frame is not a valid request envelope.
    InvalidMessage,
    /// No component handles this `Type`.
    UnknownType,
    /// The `Type` is in a namespace the host reserves for its own sources (`telegram.` for bot
    /// updates, `schedule.` for schedules): a client cannot send it, and no handler ran.
    ForbiddenType,
    /// `Data` does not match the request schema the component describes (checked by the host
    /// before any instance is created).
    InvalidData,
    /// The handler returned its own error.
    HandlerError,
    /// The handler trapped or returned an invalid reply.
    HandlerFailed,
    /// The handler ran past its deadline.
    Timeout,
    /// The handler hit a memory, stack, instance or reply-size limit.
    Limit,
    /// The tenant is at its concurrency limit and its queue is full.
    Overloaded,
    /// The connection sends faster than its rate limit.
    RateLimited,
    /// The connection has not authenticated yet.
    Unauthenticated,
    /// The `resume` Seq is malformed or ahead of the user's latest (then the connection
    /// closes with 4400).
    InvalidResume,
}

impl ErrorCode {
    /// The wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidMessage => "invalid_message",
            Self::UnknownType => "unknown_type",
            Self::ForbiddenType => "forbidden_type",
            Self::InvalidData => "invalid_data",
            Self::HandlerError => "handler_error",
            Self::HandlerFailed => "handler_failed",
            Self::Timeout => "timeout",
            Self::Limit => "limit",
            Self::Overloaded => "overloaded",
            Self::RateLimited => "rate_limited",
            Self::Unauthenticated => "unauthenticated",
            Self::InvalidResume => "invalid_resume",
        }
    }
}

/// `{"Type": msg_type, "Data": data, "Id": id}`; `data` must already be valid JSON text.
pub fn reply(msg_type: &str, data: &str, id: Option<&RawValue>) -> String {
    let mut out = String::with_capacity(msg_type.len() + data.len() + 32);
    out.push_str(r#"{"Type":"#);
    out.push_str(&json_string(msg_type));
    out.push_str(r#","Data":"#);
    out.push_str(data.trim());
    if let Some(id) = id {
        out.push_str(r#","Id":"#);
        out.push_str(id.get());
    }
    out.push('}');
    out
}

/// `{"Type":"HandlerException","Data":{"code":code,"message":message},"Id":id}`.
pub fn error(code: ErrorCode, message: &str, id: Option<&RawValue>) -> String {
    let data = format!(
        r#"{{"code":"{}","message":{}}}"#,
        code.as_str(),
        json_string(message)
    );
    reply(ERROR_TYPE, &data, id)
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).expect("strings always serialize")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_type_data_and_id() {
        let r =
            parse(r#"{"Id": 7, "Type": "CalculateRequest", "Data": {"numbers": [2, 2]}}"#).unwrap();
        assert_eq!(r.msg_type, "CalculateRequest");
        assert_eq!(r.data, r#"{"numbers": [2, 2]}"#);
        assert_eq!(r.id.unwrap().get(), "7");
        assert_eq!(parse(r#"{"Type":"A\u0042"}"#).unwrap().msg_type, "AB");
        assert_eq!(parse(r#"{"Type":"A"}"#).unwrap().data, "null");
    }

    #[test]
    fn rejects_what_is_not_a_request() {
        assert!(matches!(parse("nope"), Err(EnvelopeError::NotAnObject(_))));
        assert!(matches!(parse("[1]"), Err(EnvelopeError::NotAnObject(_))));
        // Found by `make fuzz` (target envelope): serde reads a struct from an array of its
        // values, so these were requests (or a TypeNotString) instead of not-an-object.
        for array in [r#"["A",null,null]"#, "[{},null,null]", " \n[\"A\",1,2]"] {
            assert!(
                matches!(parse(array), Err(EnvelopeError::NotAnObject(_))),
                "{array}"
            );
        }
        assert!(matches!(
            parse(r#"{"Type":"A","Type":"B"}"#),
            Err(EnvelopeError::NotAnObject(_))
        ));
        assert_eq!(
            parse(r#"{"Data":1}"#).unwrap_err(),
            EnvelopeError::MissingType
        );
        assert_eq!(
            parse(r#"{"Type":1}"#).unwrap_err(),
            EnvelopeError::TypeNotString
        );
        assert_eq!(
            parse(r#"{"Type":""}"#).unwrap_err(),
            EnvelopeError::TypeNotString
        );
    }

    #[test]
    fn a_null_id_is_echoed_and_a_null_type_is_not_a_string() {
        // Found by `make fuzz` (target envelope_round_trip): `"Id": null` was read as no Id,
        // so the reply did not echo it, and `"Type": null` was reported missing.
        let r = parse(r#"{"Id":null,"Type":"A"}"#).unwrap();
        assert_eq!(r.id.map(RawValue::get), Some("null"));
        assert_eq!(reply("B", "1", r.id), r#"{"Type":"B","Data":1,"Id":null}"#);
        assert_eq!(
            parse(r#"{"Type":null}"#).unwrap_err(),
            EnvelopeError::TypeNotString
        );
        assert_eq!(parse(r#"{"Type":"A","Data":null}"#).unwrap().data, "null");
    }

    #[test]
    fn replies_embed_data_and_echo_id() {
        let id = RawValue::from_string("\"a\"".into()).unwrap();
        assert_eq!(
            reply("R", r#"{"x":1}"#, Some(&id)),
            r#"{"Type":"R","Data":{"x":1},"Id":"a"}"#
        );
        assert_eq!(
            error(ErrorCode::UnknownType, "no \"X\"", None),
            r#"{"Type":"HandlerException","Data":{"code":"unknown_type","message":"no \"X\""}}"#
        );
    }
}
