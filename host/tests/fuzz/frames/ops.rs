//! The ops of the `frames` target: one thing the fuzzed client does, its bytes on the wire and
//! what the server must answer (a model of RFC 6455 and docs/protocol.md).

use proptest::prelude::*;

use super::MAX;

/// One thing the fuzzed client does.
#[derive(Debug, Clone)]
pub enum Op {
    /// A CalculateRequest with an Id, as text or (`binary`) as a binary frame.
    Calc(Vec<i16>, u32, bool),
    /// Any text (mostly not a request): some reply.
    Text(String),
    /// Any bytes in a binary frame: some reply (`invalid_message` when not UTF-8).
    Binary(Vec<u8>),
    /// A CalculateRequest in fragments (at these cut points), a ping after the first.
    Fragmented(Vec<i16>, u32, Vec<prop::sample::Index>, bool),
    /// A text frame that is not UTF-8 (a lone continuation byte inside): close 1007.
    NotUtf8(String, bool),
    /// A data frame this many bytes over the limit, or a fragmented message over it: 1009.
    Oversize(usize, bool),
    /// A ping with this payload (over 125 bytes is a protocol error).
    Ping(Vec<u8>),
    /// A pong: ignored.
    Pong(Vec<u8>),
    /// A close with this payload.
    Close(Vec<u8>),
    /// A protocol violation: close 1002.
    Violation(Violation),
    /// Bytes that need not be frames at all.
    Garbage(Vec<u8>),
}

#[derive(Debug, Clone, Copy)]
pub enum Violation {
    /// RSV bits without an extension.
    Reserved(u8),
    /// A reserved opcode.
    Opcode(u8),
    /// A client frame without a mask.
    Unmasked,
    /// A continuation with no message to continue.
    StrayContinuation,
    /// A new text frame while a fragmented message is open.
    Interleaved,
    /// A ping with FIN clear.
    FragmentedControl,
}

/// A masked (or not) client frame.
pub fn frame(fin: bool, rsv: u8, opcode: u8, masked: bool, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | (rsv << 4) | opcode];
    let m = u8::from(masked) << 7;
    match payload.len() {
        n if n < 126 => out.push(m | n as u8),
        n if n <= 0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    let key = [0x37, 0xfa, 0x21, 0x3d];
    if masked {
        out.extend_from_slice(&key);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    } else {
        out.extend_from_slice(payload);
    }
    out
}

pub fn calc_text(numbers: &[i16], id: u32) -> String {
    let numbers: Vec<String> = numbers.iter().map(i16::to_string).collect();
    format!(
        r#"{{"Type":"CalculateRequest","Data":{{"numbers":[{}]}},"Id":{id}}}"#,
        numbers.join(",")
    )
}

pub fn calc_reply(numbers: &[i16], id: u32) -> String {
    let sum: i64 = numbers.iter().map(|&n| i64::from(n)).sum();
    format!(r#"{{"Type":"CalculateResponse","Data":{{"result":{sum}}},"Id":{id}}}"#)
}

/// What the server must send for one op.
#[derive(Debug, PartialEq)]
pub enum Expect {
    /// Exactly this text frame.
    Reply(String),
    /// Some text frame: an envelope with a string `Type`.
    AnyReply,
    /// A pong with this payload.
    Pong(Vec<u8>),
    /// A close frame with one of these codes (0: none), then the end of the connection.
    Close(&'static [u16]),
    /// Unknown (garbage): anything but a crash; the connection may stay open.
    Unknown,
}

/// The bytes of `op` and what the server must answer (the last expectation of a closing op
/// ends the case).
pub fn encode(op: &Op) -> (Vec<u8>, Vec<Expect>) {
    let text = |s: &str| frame(true, 0, 1, true, s.as_bytes());
    match op {
        Op::Calc(numbers, id, binary) => {
            let body = calc_text(numbers, *id);
            let opcode = if *binary { 2 } else { 1 };
            (
                frame(true, 0, opcode, true, body.as_bytes()),
                vec![Expect::Reply(calc_reply(numbers, *id))],
            )
        }
        Op::Text(s) if s.len() <= MAX => (text(s), vec![Expect::AnyReply]),
        Op::Text(_) => (Vec::new(), Vec::new()),
        Op::Binary(b) => (frame(true, 0, 2, true, b), vec![Expect::AnyReply]),
        Op::Fragmented(numbers, id, cuts, ping) => {
            let body = calc_text(numbers, *id).into_bytes();
            let mut points: Vec<usize> = cuts.iter().map(|c| c.index(body.len())).collect();
            points.sort_unstable();
            points.dedup();
            let mut pieces = Vec::new();
            let mut start = 0;
            for p in points.into_iter().chain([body.len()]) {
                pieces.push(&body[start..p]);
                start = p;
            }
            let mut bytes = Vec::new();
            let mut expect = Vec::new();
            let last = pieces.len() - 1;
            for (i, piece) in pieces.iter().enumerate() {
                let opcode = if i == 0 { 1 } else { 0 };
                bytes.extend(frame(i == last, 0, opcode, true, piece));
                if i == 0 && *ping && last > 0 {
                    bytes.extend(frame(true, 0, 9, true, b"mid"));
                    expect.push(Expect::Pong(b"mid".to_vec()));
                }
            }
            expect.push(Expect::Reply(calc_reply(numbers, *id)));
            (bytes, expect)
        }
        Op::NotUtf8(s, fragmented) => {
            let mut bad = s.clone().into_bytes();
            bad.push(0x80);
            let bytes = if *fragmented {
                let mut b = frame(false, 0, 1, true, &bad[..bad.len() / 2]);
                b.extend(frame(true, 0, 0, true, &bad[bad.len() / 2..]));
                b
            } else {
                frame(true, 0, 1, true, &bad)
            };
            (bytes, vec![Expect::Close(&[1007])])
        }
        Op::Oversize(extra, fragmented) => {
            let body = vec![b'x'; MAX + 1 + extra];
            let bytes = if *fragmented {
                let half = body.len() / 2;
                let mut b = frame(false, 0, 1, true, &body[..half]);
                b.extend(frame(true, 0, 0, true, &body[half..]));
                b
            } else {
                frame(true, 0, 1, true, &body)
            };
            (bytes, vec![Expect::Close(&[1009])])
        }
        Op::Ping(p) if p.len() <= 125 => {
            (frame(true, 0, 9, true, p), vec![Expect::Pong(p.clone())])
        }
        Op::Ping(p) => (frame(true, 0, 9, true, p), vec![Expect::Close(&[1002])]),
        Op::Pong(p) => (frame(true, 0, 10, true, p), Vec::new()),
        Op::Close(p) => {
            let valid = match p.len() {
                0 => true,
                1 => false,
                _ => {
                    let code = u16::from_be_bytes([p[0], p[1]]);
                    let sendable = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
                    sendable && std::str::from_utf8(&p[2..]).is_ok()
                }
            };
            // 0: a close frame without a code (the answer to one without a code).
            let expect: &'static [u16] = if p.is_empty() {
                &[0, 1000]
            } else if valid {
                &[
                    1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000,
                    4000, 4999,
                ]
            } else {
                &[1002, 1007]
            };
            (frame(true, 0, 8, true, p), vec![Expect::Close(expect)])
        }
        Op::Violation(v) => {
            let body = calc_text(&[1], 1);
            let bytes = match v {
                Violation::Reserved(rsv) => frame(true, *rsv, 1, true, body.as_bytes()),
                Violation::Opcode(op) => frame(true, 0, *op, true, body.as_bytes()),
                Violation::Unmasked => frame(true, 0, 1, false, body.as_bytes()),
                Violation::StrayContinuation => frame(true, 0, 0, true, body.as_bytes()),
                Violation::Interleaved => {
                    let mut b = frame(false, 0, 1, true, b"{\"Type\":");
                    b.extend(text(&body));
                    b
                }
                Violation::FragmentedControl => frame(false, 0, 9, true, b"x"),
            };
            (bytes, vec![Expect::Close(&[1002])])
        }
        Op::Garbage(b) => (b.clone(), vec![Expect::Unknown]),
    }
}

pub fn op() -> impl Strategy<Value = Op> {
    let numbers = || prop::collection::vec(-1000i16..1000, 0..8);
    let violation = prop_oneof![
        (1u8..8).prop_map(Violation::Reserved),
        prop::sample::select(vec![3u8, 4, 5, 6, 7, 11, 12, 13, 14, 15]).prop_map(Violation::Opcode),
        Just(Violation::Unmasked),
        Just(Violation::StrayContinuation),
        Just(Violation::Interleaved),
        Just(Violation::FragmentedControl),
    ];
    let close = prop_oneof![
        Just(Vec::new()),
        any::<u8>().prop_map(|b| vec![b]),
        (
            prop::sample::select(vec![
                1000u16, 1001, 3000, 4999, 999, 1004, 1005, 1006, 1015, 2000, 5000
            ]),
            "[a-z]{0,10}"
        )
            .prop_map(|(code, reason)| [code.to_be_bytes().to_vec(), reason.into_bytes()].concat()),
        (Just(1000u16), prop::collection::vec(any::<u8>(), 1..5)).prop_map(|(code, reason)| [
            code.to_be_bytes().to_vec(),
            reason
        ]
        .concat()),
    ];
    prop_oneof![
        8 => (numbers(), any::<u32>(), any::<bool>()).prop_map(|(n, id, b)| Op::Calc(n, id, b)),
        3 => prop_oneof![any::<String>(), crate::json::value()].prop_map(Op::Text),
        2 => prop::collection::vec(any::<u8>(), 0..64).prop_map(Op::Binary),
        3 => (numbers(), any::<u32>(), prop::collection::vec(any::<prop::sample::Index>(), 1..4), any::<bool>())
            .prop_map(|(n, id, cuts, ping)| Op::Fragmented(n, id, cuts, ping)),
        1 => ("[a-z]{0,8}", any::<bool>()).prop_map(|(s, f)| Op::NotUtf8(s, f)),
        1 => (prop_oneof![0usize..4, 60_000usize..70_000], any::<bool>()).prop_map(|(e, f)| Op::Oversize(e, f)),
        2 => prop_oneof![prop::collection::vec(any::<u8>(), 0..126), prop::collection::vec(any::<u8>(), 126..140)]
            .prop_map(Op::Ping),
        1 => prop::collection::vec(any::<u8>(), 0..20).prop_map(Op::Pong),
        1 => close.prop_map(Op::Close),
        2 => violation.prop_map(Op::Violation),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Op::Garbage),
    ]
}
