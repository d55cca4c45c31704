//! Authentication of a connection: the tenant's [`AuthPolicy`], where initData may come from
//! (the transports) and the [`Session`] a valid one yields.
//!
//! Transports, tried in this order at the handshake:
//! 1. `Authorization: tma <initData>` header (non-browser clients);
//! 2. `Sec-WebSocket-Protocol: tma.<base64url(initData)>` (browsers; the server echoes `extws`
//!    when offered, else the offered `tma.` protocol, as browsers require an echo);
//! 3. the query string: `?initData=<urlencoded>` or `?tgWebAppData=<urlencoded>`, otherwise
//!    the whole query string is the initData (the predecessor's form).
//!
//! Any of them may be combined with a session resume ([`crate::capabilities::push::resume`]): `resume=SEQ` in the
//! query (removed before the whole query string is read as initData), an `Extws-Resume`
//! header, or `"resume"` in the `Auth` message.
//!
//! If none is present and the first-message transport is enabled, the connection is upgraded
//! unauthenticated and must send `{"Type":"Auth","Data":{"initData":"..."}}` in time.

pub mod telegram;
mod user;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use tokio_tungstenite::tungstenite::http;

pub use telegram::{InitDataError, ValidInitData, Verifier};
pub use user::{Chat, InitDataContext, TelegramUser};

/// The subprotocol name a browser offers beside its `tma.` protocol; echoed when offered.
pub const PLAIN_SUBPROTOCOL: &str = "extws";
/// Prefix of the subprotocol that carries base64url initData.
pub const INIT_DATA_SUBPROTOCOL_PREFIX: &str = "tma.";
/// The `Type` of a first-message authentication request.
pub const AUTH_MESSAGE_TYPE: &str = "Auth";

/// A source of unix time, injectable for tests.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    })
}

/// Where a client may present its initData.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Transport {
    /// The URL's query string (whole, or `initData=` / `tgWebAppData=`).
    Query,
    /// `Authorization: tma <initData>`.
    Header,
    /// `Sec-WebSocket-Protocol: tma.<base64url initData>`.
    Subprotocol,
    /// A first message `{"Type":"Auth","Data":{"initData":"..."}}` after the upgrade.
    Message,
}

impl Transport {
    /// Every transport.
    pub const ALL: [Transport; 4] = [Self::Query, Self::Header, Self::Subprotocol, Self::Message];
}

/// How one tenant authenticates connections.
#[derive(Clone)]
pub struct AuthPolicy {
    /// The signature check; `None` disables authentication (development only).
    pub verifier: Option<Verifier>,
    /// Maximum age of `auth_date` in seconds; `None` disables the expiry check.
    pub max_age: Option<u64>,
    /// Enabled transports.
    pub transports: Vec<Transport>,
    /// How long a connection may stay unauthenticated with the first-message transport.
    pub first_message_timeout: Duration,
    /// The clock expiry is checked against.
    pub clock: Clock,
}

impl std::fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("verifier", &self.verifier)
            .field("max_age", &self.max_age)
            .field("transports", &self.transports)
            .finish_non_exhaustive()
    }
}

impl AuthPolicy {
    /// No authentication: every connection is anonymous.
    pub fn disabled() -> Self {
        Self {
            verifier: None,
            max_age: None,
            transports: Transport::ALL.to_vec(),
            first_message_timeout: Duration::from_secs(10),
            clock: system_clock(),
        }
    }

    /// Authentication with `verifier`, 24 h expiry and every transport.
    pub fn new(verifier: Verifier) -> Self {
        Self {
            verifier: Some(verifier),
            max_age: Some(24 * 3600),
            ..Self::disabled()
        }
    }

    fn enabled(&self, t: Transport) -> bool {
        self.transports.contains(&t)
    }

    /// Validates raw initData into a session.
    pub fn validate(&self, raw: &str) -> Result<Session, InitDataError> {
        let Some(verifier) = &self.verifier else {
            return Ok(Session::anonymous());
        };
        let valid = telegram::validate(raw, verifier, self.max_age, (self.clock)())?;
        Ok(Session::from_valid(valid))
    }

    /// Authenticates an upgrade request. Returns the outcome and the subprotocol to echo.
    pub fn at_handshake(
        &self,
        request: &http::Request<()>,
    ) -> Result<(HandshakeAuth, Option<String>), InitDataError> {
        let offered = offered_subprotocols(request);
        let echo = offered
            .iter()
            .find(|p| *p == PLAIN_SUBPROTOCOL)
            .or_else(|| {
                offered
                    .iter()
                    .find(|p| p.starts_with(INIT_DATA_SUBPROTOCOL_PREFIX))
            })
            .cloned();
        if self.verifier.is_none() {
            return Ok((HandshakeAuth::Done(Box::default()), echo));
        }
        let raw = match self.find_init_data(request, &offered)? {
            Some(raw) => raw,
            None if self.enabled(Transport::Message) => {
                return Ok((HandshakeAuth::AwaitFirstMessage, echo));
            }
            None => return Err(InitDataError::Missing),
        };
        Ok((HandshakeAuth::Done(Box::new(self.validate(&raw)?)), echo))
    }

    fn find_init_data(
        &self,
        request: &http::Request<()>,
        offered: &[String],
    ) -> Result<Option<String>, InitDataError> {
        if self.enabled(Transport::Header)
            && let Some(value) = request.headers().get(http::header::AUTHORIZATION)
        {
            let value = value.to_str().map_err(|_| InitDataError::Malformed)?;
            if let Some(raw) = value.strip_prefix("tma ") {
                return Ok(Some(raw.trim().to_string()));
            }
        }
        if self.enabled(Transport::Subprotocol)
            && let Some(encoded) = offered
                .iter()
                .find_map(|p| p.strip_prefix(INIT_DATA_SUBPROTOCOL_PREFIX))
        {
            {
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(encoded.trim_end_matches('='))
                    .map_err(|_| InitDataError::Malformed)?;
                return String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| InitDataError::Malformed);
            }
        }
        if self.enabled(Transport::Query)
            && let Some(query) = request.uri().query().filter(|q| !q.is_empty())
        {
            let raw = query_init_data(query)?;
            // `?resume=N` alone carries no initData (it may come in the first message).
            if !raw.is_empty() {
                return Ok(Some(raw));
            }
        }
        Ok(None)
    }
}

/// initData from a query string: the `initData` / `tgWebAppData` parameter when present,
/// otherwise the whole query string less a `resume=` parameter (the session resume's, see
/// [`crate::capabilities::push::resume`]; Telegram signs no such field).
fn query_init_data(query: &str) -> Result<String, InitDataError> {
    for piece in query.split('&') {
        if let Some((key, value)) = piece.split_once('=')
            && (key == "initData" || key == "tgWebAppData")
        {
            return telegram::form_decode(value);
        }
    }
    let resume = |piece: &&str| piece.starts_with("resume=");
    if query.split('&').any(|p| resume(&p)) {
        let rest: Vec<&str> = query.split('&').filter(|p| !resume(p)).collect();
        return Ok(rest.join("&"));
    }
    Ok(query.to_string())
}

fn offered_subprotocols(request: &http::Request<()>) -> Vec<String> {
    request
        .headers()
        .get_all(http::header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// What the handshake decided.
#[derive(Debug)]
pub enum HandshakeAuth {
    /// Authenticated (or authentication is off).
    Done(Box<Session>),
    /// No initData yet: the first message must authenticate.
    AwaitFirstMessage,
}

/// An authenticated connection's identity.
#[derive(Debug, Clone, Default)]
pub struct Session {
    /// The Telegram user, when the initData had one.
    pub user: Option<TelegramUser>,
    /// The rest of the initData, for the `session` import.
    pub init_data: Option<Arc<InitDataContext>>,
}

impl Session {
    /// No user: authentication is off.
    pub fn anonymous() -> Self {
        Self::default()
    }

    fn from_valid(valid: ValidInitData) -> Self {
        Self {
            user: valid.user,
            init_data: Some(Arc::new(valid.context)),
        }
    }
}
