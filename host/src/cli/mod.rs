//! Command-line interface. The doc comments here are the `--help` text.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

mod telegram;
mod values;

pub use telegram::{BotArgs, TelegramArgs, TelegramCommand};
pub use values::{LifecycleArg, TransportArg, UpdatesArg};

/// A WebSocket server for Telegram Mini Apps whose message handlers are sandboxed
/// WebAssembly components.
///
/// Clients connect with Telegram's initData, send {"Type": ..., "Data": ...} messages, and each
/// message runs in a fresh, capability-less instance of the component that handles its Type.
#[derive(Debug, Parser)]
#[command(name = "extws-wasm", version, propagate_version = true)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Human, global = true)]
    pub log_format: LogFormat,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve handler components over WebSocket.
    ///
    /// Example: extws-wasm serve --component calc.wasm --bot-token "$TOKEN"
    Serve(Box<ServeArgs>),
    /// Run one message through a component, without a server, and print the reply envelope.
    ///
    /// Uses the same sandbox and limits as `serve`. Exits 1 (printing the HandlerException
    /// envelope) when the handler fails.
    Call(CallArgs),
    /// Create a handler project in LANG on its SDK, ready to build.
    ///
    /// The project holds one example handler, the SDK and the WIT (all embedded in this
    /// binary: no checkout needed); `make` in it builds NAME.wasm, ready for
    /// `extws-wasm call NAME.wasm ...`. C has no SDK: its project is the raw-bindings calc.
    New(NewArgs),
    /// Print initData signed with a bot token (or an Ed25519 key), for local testing.
    SignInitData(SignArgs),
    /// Check an extws.toml without serving: files, worlds, Type collisions, limits.
    ///
    /// Loads every component as `serve` would and prints a summary per tenant; exits 1 and
    /// names each problem otherwise.
    Check(CheckArgs),
    /// Print a component's API: its Types with their request and reply JSON Schemas.
    ///
    /// Works for components that describe themselves (built with an SDK under sdk/, world
    /// described-handler). --typescript prints TypeScript declarations instead, for
    /// `new ExtwsClient<Api>(url)` of clients/js, e.g.
    /// extws-wasm describe calc.wasm --typescript > src/calc-api.ts
    Describe(DescribeArgs),
    /// Manage a tenant's bot at Telegram: register, remove or inspect its webhook.
    ///
    /// Calls the Bot API at the tenant's api_url as the tenant's bot, e.g.
    /// extws-wasm telegram set-webhook --config extws.toml --tenant shop
    /// --url https://example.com/shop/telegram/webhook
    Telegram(TelegramArgs),
    /// Turn a WASI preview1 core module into a handler component (preview1 reactor adapter).
    ///
    /// For Go, TinyGo and C guests: embeds the world `handler` from --wit (unless the module
    /// already carries component metadata) and adapts WASI preview1 to preview2.
    Componentize(ComponentizeArgs),
}

/// `serve` options.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A handler component (.wasm). Repeat to serve several; each declares its Types.
    /// Together with the auth and limit flags this is one tenant named `default`.
    #[arg(
        long = "component",
        value_name = "PATH",
        required_unless_present = "config"
    )]
    pub components: Vec<PathBuf>,
    /// Serve the tenants declared in this TOML file instead (see extws.example.toml).
    /// Tenant settings then come from the file only.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["components", "bot_token", "bot_id", "no_auth", "fanout"])]
    pub config: Option<PathBuf>,
    /// Address to listen on. Port 0 picks a free port; the real address is printed as
    /// `listening on ws://ADDR` on stderr.
    #[arg(long, default_value = "127.0.0.1:8000", value_name = "ADDR")]
    pub listen: SocketAddr,
    /// Serve /metrics on this address only (plain HTTP, e.g. 127.0.0.1:9100 or a private
    /// interface), and answer 404 for it on --listen: the metrics name tenants and Types.
    /// Without it (or `metrics_listen` in --config), /metrics is on --listen for everyone.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    #[command(flatten)]
    pub auth: AuthArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
    #[command(flatten)]
    pub grants: GrantArgs,
    /// Let several components handle the same Type: each answers in turn, in --component
    /// order (the predecessor's behaviour). Without it, a shared Type is a startup error.
    #[arg(long)]
    pub fanout: bool,
    /// Instance lifecycle of every --component: `fresh` (new instance per message, strongest
    /// isolation), `pooled` (warm instances reused within the tenant) or `connection` (one
    /// instance per connection, for in-memory session state).
    #[arg(long, value_enum, default_value_t = LifecycleArg::Fresh)]
    pub lifecycle: LifecycleArg,
    /// Also serve this directory over plain HTTP on the same port (e.g. the Mini App's
    /// index.html), so the page and its backend share one origin.
    #[arg(long = "static", value_name = "DIR", conflicts_with = "config")]
    pub static_dir: Option<PathBuf>,
    /// Directory of the embedded key-value store (durable; created if missing).
    #[arg(long, default_value = "./extws-data", value_name = "DIR")]
    pub data_dir: PathBuf,
    /// Share state and push between servers through Redis, e.g. redis://127.0.0.1:6379.
    /// Key-value then lives in Redis and pushes travel over Redis pub/sub.
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Push history per user: the last N pushes to each user are kept (and numbered with
    /// `Seq`) so a client that reconnects with `resume=SEQ` gets what it missed. 0 turns it
    /// off (user pushes are best-effort, without `Seq`).
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub push_history_size: u32,
    /// Seconds a pushed message stays in the history; a user's whole history is forgotten
    /// this long after its last push.
    #[arg(long, default_value_t = 300, value_name = "SECS")]
    pub push_history_ttl: u64,
    /// Bytes of push history kept over all users; a push past it is refused (the handler
    /// gets `invalid`, "quota exceeded") until older pushes expire.
    #[arg(long, default_value_t = 64 << 20, value_name = "BYTES")]
    pub push_history_max_bytes: u64,
    /// Reload a component when its file changes, without dropping connections: in-flight
    /// messages finish on the old version, new ones use the new one; a component that fails
    /// to load leaves the old one running (and the log says why).
    #[arg(long)]
    pub watch: bool,
}

/// Authentication options.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// Bot token: validate initData's HMAC `hash` (first-party). Prefer the environment
    /// variable, which does not show in `ps`.
    #[arg(long, env = "EXTWS_BOT_TOKEN", hide_env_values = true, value_name = "TOKEN",
          conflicts_with_all = ["no_auth", "bot_id"])]
    pub bot_token: Option<String>,
    /// Bot id: validate initData's Ed25519 `signature` (third-party, no token needed).
    #[arg(long, value_name = "ID", conflicts_with = "no_auth")]
    pub bot_id: Option<u64>,
    /// Public key for --bot-id: `prod` (Telegram's production key), `test` (Telegram's test
    /// environment) or 64 hex digits of your own Ed25519 key.
    #[arg(
        long,
        default_value = "prod",
        value_name = "prod|test|HEX",
        requires = "bot_id"
    )]
    pub telegram_key: String,
    /// Maximum age of initData (`auth_date`) in seconds; 0 disables the check.
    #[arg(long, default_value_t = 86_400, value_name = "SECONDS")]
    pub auth_max_age: u64,
    /// Where clients may send initData (comma-separated).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "query,header,subprotocol,message"
    )]
    pub auth_transports: Vec<TransportArg>,
    /// Seconds a connection may take to send its `Auth` message (message transport).
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub auth_timeout: u64,
    /// Accept every connection without initData; handlers get no user. Development only.
    #[arg(long)]
    pub no_auth: bool,
}

/// What handlers may reach beyond the sandbox: nothing unless granted here.
#[derive(Debug, Args)]
pub struct GrantArgs {
    /// Let handlers call this Bot API method as the bot (repeat for several), e.g.
    /// `--telegram-method sendMessage`. The host holds the token (--bot-token, or
    /// --telegram-bot-token-env) and enforces Telegram's flood limits; none allowed by default.
    #[arg(
        long = "telegram-method",
        value_name = "METHOD",
        conflicts_with = "config"
    )]
    pub telegram_methods: Vec<String>,
    /// Bot API base URL (a local Bot API server, or a test double).
    #[arg(long, value_name = "URL", default_value = crate::capabilities::telegram::DEFAULT_API_URL)]
    pub telegram_api_url: String,
    /// Environment variable holding the bot token for the Bot API, when --bot-id (Ed25519)
    /// validates initData and there is no --bot-token.
    #[arg(long, value_name = "VAR", conflicts_with = "config")]
    pub telegram_bot_token_env: Option<String>,
    /// Deliver the bot's updates (messages, callback queries, payments) to the components as
    /// `telegram.<kind>` messages: `polling` asks Telegram with getUpdates (development, or no
    /// public URL); `webhook` serves POST /telegram/webhook (needs
    /// --telegram-webhook-secret-env; register it with `extws-wasm telegram set-webhook`).
    #[arg(
        long,
        value_name = "MODE",
        value_enum,
        default_value = "off",
        conflicts_with = "config"
    )]
    pub telegram_updates: UpdatesArg,
    /// Environment variable holding the webhook secret Telegram sends with each update
    /// (1-256 of A-Z a-z 0-9 _ -); with --telegram-updates webhook.
    #[arg(long, value_name = "VAR", conflicts_with = "config")]
    pub telegram_webhook_secret_env: Option<String>,
    /// Let handlers make HTTP requests (`wasi:http`) to this origin (repeat for several):
    /// `scheme://host[:port]`, the host may start with `*.`, e.g. `https://api.example.com`.
    /// Internal addresses (loopback, private, link-local) only when listed as an IP literal,
    /// e.g. `http://127.0.0.1:9000`. None allowed by default.
    #[arg(long = "allow-http", value_name = "ORIGIN", conflicts_with = "config")]
    pub allow_http: Vec<String>,
}

/// Sandbox limits.
#[derive(Debug, Args)]
pub struct LimitArgs {
    /// Deadline of one handler call, in milliseconds.
    #[arg(long, default_value_t = 1000, value_name = "MS")]
    pub timeout_ms: u64,
    /// Maximum linear memory of one handler instance, in MiB.
    #[arg(long, default_value_t = 64, value_name = "MIB")]
    pub max_memory_mib: usize,
    /// Largest accepted message and largest frame sent, in bytes (the whole frame, envelope
    /// included). Bigger frames from a client close the connection with 1009; a bigger reply
    /// becomes a `limit` error, a bigger push is refused to the handler.
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_message_bytes: usize,
    /// Topics one connection may be subscribed to at once; past it `push.subscribe` is
    /// refused (`invalid`).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_topics_per_connection: usize,
    /// Handler calls running at once; more wait in a queue of --max-queue, then get
    /// `overloaded`.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub max_concurrency: usize,
    /// Calls that may wait for a free slot.
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_queue: usize,
    /// Open connections; more are refused with HTTP 503.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_connections: usize,
    /// Open connections of one Telegram user; more are refused with HTTP 429.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_connections_per_user: usize,
    /// Open connections from one IP address still waiting for their first-message auth; more
    /// are refused with HTTP 429 (once authenticated they count as their user).
    #[arg(long, default_value_t = 64, value_name = "N")]
    pub max_connections_per_ip: usize,
    /// Sustained messages per second per connection; faster gets `rate_limited`.
    #[arg(long, default_value_t = 50.0, value_name = "N")]
    pub rate_per_second: f64,
    /// Messages a connection may send in a burst above the sustained rate.
    #[arg(long, default_value_t = 100, value_name = "N")]
    pub rate_burst: u32,
}

/// `new` options.
#[derive(Debug, Args)]
pub struct NewArgs {
    /// Project name (letters, digits, '-', '_'); also the directory unless --dir is given.
    pub name: String,
    /// Language of the handler.
    #[arg(long, value_enum)]
    pub lang: NewLang,
    /// Where to create the project (default: ./NAME).
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
}

/// Languages `new` can scaffold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NewLang {
    /// Rust on extws-sdk (cargo, target wasm32-wasip2).
    Rust,
    /// Go on the Go SDK: Go ≥ 1.24 (go:wasmexport) or TinyGo.
    Go,
    /// C on the raw WIT bindings (wasi-libc and clang): the low-level path.
    C,
    /// Python on the `extws` package (componentize-py).
    Python,
    /// JavaScript or TypeScript on the JS SDK (componentize-js).
    Js,
}

/// `check` options.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The configuration file.
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
}

/// `call` options.
#[derive(Debug, Args)]
pub struct CallArgs {
    /// The handler component (.wasm).
    pub component: PathBuf,
    /// The request's Type, e.g. CalculateRequest.
    pub msg_type: String,
    /// The request's Data as JSON.
    #[arg(default_value = "null")]
    pub data: String,
    /// The Telegram user the handler sees, as WebAppUser JSON, e.g. '{"id":1,"first_name":"A"}'.
    #[arg(long, value_name = "JSON")]
    pub user: Option<String>,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// `describe` options.
#[derive(Debug, Args)]
pub struct DescribeArgs {
    /// The handler component (.wasm).
    pub component: PathBuf,
    /// Print TypeScript declarations (interfaces per model and an `Api` type) instead of JSON.
    #[arg(long)]
    pub typescript: bool,
}

/// `sign-init-data` options.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// Sign with this bot token (HMAC `hash`).
    #[arg(
        long,
        env = "EXTWS_BOT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        required_unless_present = "ed25519_key"
    )]
    pub bot_token: Option<String>,
    /// Sign with this Ed25519 private key seed (64 hex digits) instead, adding `signature`.
    #[arg(
        long,
        value_name = "HEX",
        requires = "bot_id",
        conflicts_with = "bot_token"
    )]
    pub ed25519_key: Option<String>,
    /// Bot id for --ed25519-key.
    #[arg(long, value_name = "ID")]
    pub bot_id: Option<u64>,
    /// The user as WebAppUser JSON.
    #[arg(long, value_name = "JSON")]
    pub user: String,
    /// auth_date (unix seconds); default now.
    #[arg(long, value_name = "UNIX")]
    pub auth_date: Option<u64>,
    /// Extra fields, e.g. --field start_param=abc (repeatable).
    #[arg(long = "field", value_name = "KEY=VALUE")]
    pub fields: Vec<String>,
}

/// `componentize` options.
#[derive(Debug, Args)]
pub struct ComponentizeArgs {
    /// The core module (WASI preview1, reactor).
    pub module: PathBuf,
    /// Output component.
    #[arg(short, long, value_name = "OUT")]
    pub output: PathBuf,
    /// WIT directory whose world to embed (default: none; the module must carry its
    /// component metadata, as wit-bindgen C's `_component_type.o` does).
    #[arg(long, value_name = "DIR")]
    pub wit: Option<PathBuf>,
    /// World to embed from --wit.
    #[arg(long, default_value = "handler")]
    pub world: String,
}
