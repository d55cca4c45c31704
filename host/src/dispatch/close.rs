//! The close policy: which close codes and reasons a connection may end with. Only sendable
//! codes go out (never 1005, 1006 or 1015) and reasons fit the frame (123 bytes).

/// Close code for a failed first-message authentication.
pub const CLOSE_UNAUTHENTICATED: u16 = 4401;

/// Why and how to end a connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Close {
    /// The close code (always a sendable one).
    pub code: u16,
    /// The reason (at most 123 bytes).
    pub reason: String,
}

impl Close {
    pub(crate) fn new(code: u16, reason: &str) -> Self {
        Self {
            code,
            reason: truncate_reason(reason),
        }
    }

    /// A frame over the tenant's message size limit.
    pub fn too_big(detail: &str) -> Self {
        Self::new(1009, &format!("message too big: {detail}"))
    }

    /// A text frame that is not UTF-8 (RFC 6455 §8.1).
    pub fn not_utf8() -> Self {
        Self::new(1007, "text frame is not valid UTF-8")
    }

    /// A frame that breaks RFC 6455 (reserved bits or opcodes, an unmasked or misplaced
    /// frame, an oversized control frame, ...): §7.1.7 fails the connection with 1002.
    pub fn protocol_error(detail: &str) -> Self {
        Self::new(1002, &format!("protocol error: {detail}"))
    }

    /// The first-message authentication did not come in time.
    pub fn auth_timed_out() -> Self {
        Self::new(CLOSE_UNAUTHENTICATED, "authentication timed out")
    }

    /// The client was silent past the idle limit.
    pub fn idle() -> Self {
        Self::new(1001, "idle")
    }

    /// The server is stopping.
    pub fn shutting_down() -> Self {
        Self::new(1001, "server shutting down")
    }

    /// The user already has as many connections as the tenant allows.
    pub fn too_many_for_user() -> Self {
        Self::new(1008, "too many connections for this user")
    }

    /// The client's `resume` Seq is malformed or ahead of the user's latest.
    pub fn bad_resume(detail: &str) -> Self {
        Self::new(crate::capabilities::push::resume::CLOSE_BAD_RESUME, detail)
    }

    /// The client's push queue overflowed.
    pub fn slow_consumer() -> Self {
        Self::new(1008, "too slow: push queue full")
    }
}

/// A close code a handler may ask for: 1000–1003, 1007–1014 and 3000–4999. Anything else
/// (including the reserved 1005/1006/1015, which must never be sent) becomes 1008.
pub fn valid_close_code(code: Option<u16>) -> u16 {
    code.filter(|c| matches!(c, 1000..=1003 | 1007..=1014 | 3000..=4999))
        .unwrap_or(1008)
}

/// Close reasons are limited to 123 bytes by the protocol.
fn truncate_reason(reason: &str) -> String {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    reason[..end].to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sendable_close_codes_pass() {
        assert_eq!(valid_close_code(Some(4000)), 4000);
        assert_eq!(valid_close_code(Some(1000)), 1000);
        for bad in [
            None,
            Some(1005),
            Some(1006),
            Some(1015),
            Some(999),
            Some(2000),
            Some(5000),
        ] {
            assert_eq!(valid_close_code(bad), 1008, "{bad:?}");
        }
    }

    #[test]
    fn close_reasons_fit_the_frame() {
        assert_eq!(truncate_reason(&"é".repeat(100)).len(), 122);
        assert!(Close::too_big(&"x".repeat(500)).reason.len() <= 123);
    }
}
