//! Fuzz target `frames`: a fuzzed client against a live server (calc, 4 KiB frame limit).
//! Each case sends a random sequence of frames — requests as text and binary, fragmented ones
//! with pings in between, pings and pongs, oversize, non-UTF-8, protocol violations, closes,
//! raw garbage — in one write, then reads what comes back. A model says what RFC 6455 and the
//! docs/protocol.md require: one reply per message in order, a pong per ping, and at the first fault a
//! close frame with its code (1002 protocol, 1007 UTF-8, 1009 too big) and the end of the
//! connection. After every case a fresh client and a long-lived one still get correct
//! `CalculateResponse`s: the server neither crashed nor stalled.
//!
//! The client's ops, their bytes and what the server must answer to each are in [`ops`]; the
//! case runner, the health check and the tests are here.

mod ops;

use std::time::Duration;

use extws_wasm::Config;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::common::*;
use crate::driver::fuzz;
use ops::{Expect, Op, Violation, calc_reply, calc_text, encode, frame, op};

/// The tenant's frame and message limit.
const MAX: usize = 4096;

/// Runs one case against `server`.
async fn case(server: &TestServer, ops: &[Op]) -> Result<(), String> {
    let mut expected = Vec::new();
    let mut bytes = Vec::new();
    for op in ops {
        let (b, e) = encode(op);
        bytes.extend(b);
        let ends = e
            .iter()
            .any(|x| matches!(x, Expect::Close(_) | Expect::Unknown));
        expected.extend(e);
        if ends {
            break;
        }
    }
    let mut stream = raw_client(server).await;
    // The server may close before taking every byte: a failed write is fine then.
    let _ = stream.write_all(&bytes).await;
    let terminal = expected
        .last()
        .filter(|e| matches!(e, Expect::Close(_) | Expect::Unknown));
    let replies: Vec<&Expect> = expected
        .iter()
        .filter(|e| matches!(e, Expect::Reply(_) | Expect::AnyReply))
        .collect();
    let pongs: Vec<&Expect> = expected
        .iter()
        .filter(|e| matches!(e, Expect::Pong(_)))
        .collect();
    // Read until everything expected came (and, when closing, the connection ended).
    let mut got = Vec::new();
    let mut eof = false;
    let limit = if matches!(terminal, Some(Expect::Unknown)) {
        Duration::from_millis(300)
    } else {
        Duration::from_secs(10)
    };
    let deadline = tokio::time::Instant::now() + limit;
    let mut answered_close = false;
    loop {
        let frames = frames(&got);
        let texts = frames.iter().filter(|(o, _)| *o == 1).count();
        let pong_count = frames.iter().filter(|(o, _)| *o == 10).count();
        let closed = frames.iter().any(|(o, _)| *o == 8);
        if closed && !answered_close {
            answered_close = true;
            let _ = stream
                .write_all(&frame(true, 0, 8, true, &[0x03, 0xe8]))
                .await;
        }
        let done = match terminal {
            Some(Expect::Close(_)) => closed && eof,
            Some(Expect::Unknown) => eof,
            _ => texts >= replies.len() && pong_count >= pongs.len(),
        };
        if done || eof {
            break;
        }
        let mut buf = [0u8; 8192];
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => eof = true,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) if matches!(terminal, Some(Expect::Unknown)) => break,
            Err(_) => {
                return Err(format!(
                    "stalled: after 10 s the server had sent {:?}",
                    frames
                ));
            }
        }
    }
    let frames = frames(&got);
    let texts: Vec<String> = frames
        .iter()
        .filter(|(o, _)| *o == 1)
        .map(|(_, p)| String::from_utf8_lossy(p).into_owned())
        .collect();
    let got_pongs: Vec<&Vec<u8>> = frames
        .iter()
        .filter(|(o, _)| *o == 10)
        .map(|(_, p)| p)
        .collect();
    let close = frames.iter().find(|(o, _)| *o == 8).map(|(_, p)| p.clone());
    let shown = || {
        format!(
            "sent {} bytes; server sent {frames:?} (eof: {eof})",
            bytes.len()
        )
    };
    if matches!(terminal, Some(Expect::Unknown)) {
        return Ok(());
    }
    if texts.len() != replies.len() || got_pongs.len() != pongs.len() {
        return Err(format!(
            "expected {} replies and {} pongs: {}",
            replies.len(),
            pongs.len(),
            shown()
        ));
    }
    for (text, expect) in texts.iter().zip(&replies) {
        match expect {
            Expect::Reply(want) if text != want => {
                return Err(format!("reply {text:?}, not {want:?}: {}", shown()));
            }
            Expect::AnyReply => {
                let value: serde_json::Value = serde_json::from_str(text)
                    .map_err(|e| format!("reply {text:?} is not JSON ({e})"))?;
                if !value["Type"].is_string() {
                    return Err(format!("reply {text:?} has no Type"));
                }
            }
            _ => {}
        }
    }
    for (pong, expect) in got_pongs.iter().zip(&pongs) {
        if !matches!(expect, Expect::Pong(p) if p == *pong) {
            return Err(format!("pong {pong:?}, expected {expect:?}: {}", shown()));
        }
    }
    match terminal {
        Some(Expect::Close(codes)) => {
            let Some(close) = close else {
                return Err(format!(
                    "expected a close frame with {codes:?}: {}",
                    shown()
                ));
            };
            let code = match close.len() {
                0 => Some(0),
                1 => None,
                _ => Some(u16::from_be_bytes([close[0], close[1]])),
            };
            if !code.is_some_and(|c| codes.contains(&c)) {
                return Err(format!(
                    "close code {code:?}, expected one of {codes:?}: {}",
                    shown()
                ));
            }
            if !eof {
                return Err(format!(
                    "the connection stayed open after the close: {}",
                    shown()
                ));
            }
        }
        _ if close.is_some() => return Err(format!("closed unexpectedly: {}", shown())),
        _ => {}
    }
    Ok(())
}

/// A correct answer on `ws`.
async fn healthy(ws: &mut Ws, n: i16) -> Result<(), String> {
    let reply = tokio::time::timeout(Duration::from_secs(10), ask(ws, &calc_text(&[n, 1], 7)))
        .await
        .map_err(|_| "a clean client got no answer within 10 s".to_string())?;
    if reply != calc_reply(&[n, 1], 7) {
        return Err(format!("a clean client got {reply:?}"));
    }
    Ok(())
}

/// The server every case runs against.
async fn server() -> TestServer {
    let mut tenant = tenant("default", &["calc"]);
    tenant.ledger.max_frame_bytes = MAX;
    // The long-lived client asks once per case, faster than a real client may.
    tenant.limits.rate_per_second = 1e9;
    tenant.limits.rate_burst = u32::MAX;
    start(Config::new(vec![tenant])).await
}

/// Found by `make fuzz` (target frames): a client's close frame was never answered (the
/// socket was dropped with tungstenite's reply still queued), and every protocol violation
/// (here a close frame with a 1-byte payload, and the other kinds) dropped TCP without a
/// close frame instead of closing with 1002.
#[tokio::test]
async fn closes_and_protocol_violations_get_a_close_frame() {
    let server = server().await;
    let cases = [
        vec![Op::Close(Vec::new())],
        vec![Op::Close(vec![0])],
        vec![
            Op::Calc(vec![1, 2], 3, false),
            Op::Violation(Violation::Unmasked),
        ],
        vec![Op::Violation(Violation::Reserved(4))],
        vec![Op::Violation(Violation::Opcode(3))],
        vec![Op::Violation(Violation::StrayContinuation)],
        vec![Op::Violation(Violation::Interleaved)],
        vec![Op::Violation(Violation::FragmentedControl)],
        vec![Op::Ping(vec![0; 126])],
    ];
    for ops in cases {
        case(&server, &ops)
            .await
            .unwrap_or_else(|e| panic!("{ops:?}: {e}"));
    }
    let mut ws = connect(&server.url("/")).await;
    healthy(&mut ws, 1).await.unwrap();
}

#[test]
#[ignore = "fuzzing: run by `make fuzz`"]
fn fuzz_frames() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(server());
    let steady = tokio::sync::Mutex::new(runtime.block_on(connect(&server.url("/"))));
    let ops = || prop::collection::vec(op(), 1..8);
    fuzz("frames", 20, ops, |ops| {
        runtime.block_on(async {
            let outcome = case(&server, &ops).await;
            let mut fresh = connect(&server.url("/")).await;
            healthy(&mut fresh, ops.len() as i16)
                .await
                .map_err(TestCaseError::fail)?;
            healthy(&mut *steady.lock().await, 3)
                .await
                .map_err(TestCaseError::fail)?;
            outcome.map_err(TestCaseError::fail)
        })
    });
}
