//! Unit tests of the argument checks and quota arithmetic shared by both backends.

use super::*;
use crate::state::types::{check_quota, parse_counter};

#[test]
fn counters_must_be_canonical() {
    assert_eq!(parse_counter(b"0"), Ok(0));
    assert_eq!(parse_counter(b"-42"), Ok(-42));
    assert_eq!(parse_counter(b"9223372036854775807"), Ok(i64::MAX));
    for bad in [
        &b""[..],
        b"+1",
        b"01",
        b"-0",
        b" 1",
        b"1.0",
        b"abc",
        b"\xff",
    ] {
        assert!(parse_counter(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn ttl_is_rounded_up_and_bounded() {
    assert_eq!(ttl_millis(Duration::from_micros(1)), Ok(1));
    assert_eq!(ttl_millis(Duration::from_millis(1500)), Ok(1500));
    assert!(ttl_millis(Duration::ZERO).is_err());
    assert!(ttl_millis(MAX_TTL + Duration::from_secs(1)).is_err());
}

#[test]
fn quota_judges_growth_only() {
    let q = Quota {
        max_keys: 2,
        max_bytes: 10,
    };
    assert!(check_quota(1, 5, 1, 5, q).is_ok());
    assert!(matches!(
        check_quota(2, 5, 1, 1, q),
        Err(KvError::QuotaExceeded(_))
    ));
    assert!(matches!(
        check_quota(1, 9, 0, 2, q),
        Err(KvError::QuotaExceeded(_))
    ));
    // Over quota already (quota lowered), but shrinking is fine.
    assert!(check_quota(5, 50, 0, -3, q).is_ok());
}

#[test]
fn namespaces_and_keys_are_checked() {
    assert!(check_ns("tenant-1").is_ok());
    assert!(check_ns("").is_err());
    assert!(check_ns("a{b").is_err());
    assert!(check_ns_key("t", "").is_err());
    assert!(check_ns_key("t", &"k".repeat(MAX_KEY_LEN)).is_ok());
    assert!(check_ns_key("t", &"k".repeat(MAX_KEY_LEN + 1)).is_err());
    assert!(check_value(&vec![0; MAX_VALUE_LEN]).is_ok());
    assert!(check_value(&vec![0; MAX_VALUE_LEN + 1]).is_err());
}
