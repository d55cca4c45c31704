use super::*;

fn read(latest: Option<u64>, seqs: &[u64]) -> HistoryRead {
    HistoryRead {
        now_ms: 1_000,
        latest,
        entries: seqs.iter().map(|s| (*s, format!("m{s}"))).collect(),
    }
}

#[test]
fn seqs_are_non_negative_decimal_integers() {
    assert_eq!(parse("0"), Ok(0));
    assert_eq!(parse("18446744073709551615"), Ok(u64::MAX));
    for bad in [
        "",
        "-1",
        "+1",
        "1.5",
        "1e3",
        " 1",
        "0x10",
        "abc",
        "18446744073709551616",
    ] {
        assert!(
            matches!(parse(bad), Err(ResumeError::Malformed(_))),
            "{bad:?}"
        );
    }
    let long = "9".repeat(5000);
    let ResumeError::Malformed(shown) = parse(&long).unwrap_err() else {
        unreachable!()
    };
    assert!(
        shown.len() < 40,
        "the error quotes a bounded prefix: {shown}"
    );
}

#[test]
fn requests_carry_it_in_the_query_or_a_header() {
    let request = |uri: &str, header: Option<&str>| {
        let mut b = http::Request::builder().uri(uri);
        if let Some(h) = header {
            b = b.header(RESUME_HEADER, h);
        }
        b.body(()).unwrap()
    };
    assert_eq!(from_request(&request("/", None)), Ok(None));
    assert_eq!(
        from_request(&request("/?initData=x&resume=5", None)),
        Ok(Some(5))
    );
    assert_eq!(from_request(&request("/", Some("7"))), Ok(Some(7)));
    assert_eq!(from_request(&request("/?resume=7", Some("7"))), Ok(Some(7)));
    assert!(from_request(&request("/?resume=7", Some("8"))).is_err());
    assert!(from_request(&request("/?resume=x", None)).is_err());
    assert!(from_request(&request("/", Some("-3"))).is_err());
}

#[test]
fn auth_messages_carry_a_number_or_a_decimal_string() {
    use serde_json::json;
    assert_eq!(from_auth(None), Ok(None));
    assert_eq!(from_auth(Some(&json!(null))), Ok(None));
    assert_eq!(from_auth(Some(&json!(12))), Ok(Some(12)));
    assert_eq!(from_auth(Some(&json!("12"))), Ok(Some(12)));
    for bad in [json!(-1), json!(1.5), json!("x"), json!([1]), json!({})] {
        assert!(from_auth(Some(&bad)).is_err(), "{bad}");
    }
}

#[test]
fn a_complete_history_replays_without_a_gap() {
    let p = plan(5, read(Some(8), &[6, 7, 8])).unwrap();
    assert_eq!(p.frames, ["m6", "m7", "m8"]);
    assert_eq!(p.floor, 8);
    let p = plan(8, read(Some(8), &[])).unwrap();
    assert!(p.frames.is_empty());
    assert_eq!(p.floor, 8);
}

#[test]
fn a_trimmed_history_says_gap_first() {
    let p = plan(2, read(Some(8), &[6, 7, 8])).unwrap();
    assert_eq!(
        p.frames[0],
        r#"{"Type":"ResumeGap","Data":{"resume":2,"first":6,"latest":8}}"#
    );
    assert_eq!(&p.frames[1..], ["m6", "m7", "m8"]);
    let p = plan(2, read(Some(8), &[])).unwrap();
    assert_eq!(
        p.frames,
        [r#"{"Type":"ResumeGap","Data":{"resume":2,"first":null,"latest":8}}"#]
    );
    // Forgotten altogether: a gap, and live pushes (all newer) pass.
    let p = plan(2, read(None, &[])).unwrap();
    assert_eq!(p.frames.len(), 1);
    assert_eq!(p.floor, 2);
}

#[test]
fn a_seq_from_the_future_is_refused() {
    assert_eq!(
        plan(9, read(Some(8), &[])),
        Err(ResumeError::Ahead {
            requested: 9,
            latest: 8
        })
    );
    // No history: ahead of what a fresh one would start at now.
    assert!(plan(fresh_start(1_000) + 1, read(None, &[])).is_err());
    assert!(plan(u64::MAX, read(Some(8), &[])).is_err());
}
