//! The command line's value enums (`--lifecycle`, `--auth-transports`, `--telegram-updates`):
//! clap's derives stay here, each mapped to its domain type. Their doc comments are `--help`.

use clap::ValueEnum;

use crate::auth::Transport;
use crate::capabilities::telegram::UpdatesMode;
use crate::runtime::Lifecycle;

/// `--lifecycle` values (mapped to [`Lifecycle`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LifecycleArg {
    /// A new instance per message: nothing survives a call (strongest isolation).
    Fresh,
    /// Warm instances reused within the tenant.
    Pooled,
    /// One instance per connection, for in-memory session state.
    Connection,
}

impl From<LifecycleArg> for Lifecycle {
    fn from(l: LifecycleArg) -> Self {
        match l {
            LifecycleArg::Fresh => Lifecycle::Fresh,
            LifecycleArg::Pooled => Lifecycle::Pooled,
            LifecycleArg::Connection => Lifecycle::Connection,
        }
    }
}

/// `--auth-transports` values (mapped to [`Transport`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TransportArg {
    /// The URL's query string (whole, or `initData=` / `tgWebAppData=`).
    Query,
    /// `Authorization: tma <initData>`.
    Header,
    /// `Sec-WebSocket-Protocol: tma.<base64url initData>`.
    Subprotocol,
    /// A first message `{"Type":"Auth","Data":{"initData":"..."}}` after the upgrade.
    Message,
}

impl From<TransportArg> for Transport {
    fn from(t: TransportArg) -> Self {
        match t {
            TransportArg::Query => Transport::Query,
            TransportArg::Header => Transport::Header,
            TransportArg::Subprotocol => Transport::Subprotocol,
            TransportArg::Message => Transport::Message,
        }
    }
}

/// `--telegram-updates` values (mapped to [`UpdatesMode`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UpdatesArg {
    /// Bot updates are not received (the default).
    #[default]
    Off,
    /// Telegram posts updates to `<route><webhook_path>` (register it with
    /// `extws-wasm telegram set-webhook`).
    Webhook,
    /// The server asks Telegram for updates (`getUpdates`): for development and for bots
    /// without a public URL.
    Polling,
}

impl From<UpdatesArg> for UpdatesMode {
    fn from(u: UpdatesArg) -> Self {
        match u {
            UpdatesArg::Off => UpdatesMode::Off,
            UpdatesArg::Webhook => UpdatesMode::Webhook,
            UpdatesArg::Polling => UpdatesMode::Polling,
        }
    }
}
