//! Which connections belong to a tenant: a path prefix and, optionally, a `Host`.

/// Which connections belong to a tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// URL path prefix, e.g. `/acme` (`/` matches every path).
    pub path_prefix: String,
    /// Exact `Host` header (without port), when routing by host.
    pub host: Option<String>,
}

impl Route {
    /// Every path on every host.
    pub fn any() -> Self {
        Self {
            path_prefix: "/".into(),
            host: None,
        }
    }

    /// Whether a request for `path` on `host` belongs here. `/acme` matches `/acme` and
    /// `/acme/...`, not `/acmeX`.
    pub fn matches(&self, path: &str, host: Option<&str>) -> bool {
        if let Some(want) = &self.host
            && !host.is_some_and(|h| h.eq_ignore_ascii_case(want))
        {
            return false;
        }
        let prefix = self.path_prefix.trim_end_matches('/');
        prefix.is_empty()
            || path == prefix
            || path
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_prefix_matches_whole_segments() {
        let r = Route {
            path_prefix: "/acme".into(),
            host: None,
        };
        assert!(r.matches("/acme", None));
        assert!(r.matches("/acme/ws", None));
        assert!(!r.matches("/acmex", None));
        assert!(!r.matches("/", None));
        assert!(Route::any().matches("/anything", Some("h")));
    }

    #[test]
    fn host_routes_need_the_host() {
        let r = Route {
            path_prefix: "/".into(),
            host: Some("a.example".into()),
        };
        assert!(r.matches("/", Some("A.example")));
        assert!(!r.matches("/", Some("b.example")));
        assert!(!r.matches("/", None));
    }
}
