//! The `telegram` subcommands' options.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `telegram` subcommands.
#[derive(Debug, Args)]
pub struct TelegramArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: TelegramCommand,
}

/// What `telegram` does.
#[derive(Debug, Subcommand)]
pub enum TelegramCommand {
    /// Register the tenant's webhook (setWebhook) with its secret and `allowed_updates`
    /// derived from the telegram.* Types its components claim.
    SetWebhook {
        /// The bot.
        #[command(flatten)]
        bot: BotArgs,
        /// The public HTTPS URL Telegram posts updates to: this server's address, then the
        /// tenant's route and webhook_path (default /telegram/webhook).
        #[arg(long, value_name = "URL")]
        url: String,
        /// Drop the updates waiting at Telegram instead of delivering them.
        #[arg(long)]
        drop_pending_updates: bool,
    },
    /// Remove the bot's webhook (deleteWebhook), e.g. before switching to polling.
    DeleteWebhook {
        /// The bot.
        #[command(flatten)]
        bot: BotArgs,
        /// Drop the updates waiting at Telegram.
        #[arg(long)]
        drop_pending_updates: bool,
    },
    /// Print what Telegram knows of the bot's webhook (getWebhookInfo): URL, pending
    /// updates, the last delivery error.
    WebhookInfo {
        /// The bot.
        #[command(flatten)]
        bot: BotArgs,
    },
}

/// Which tenant's bot.
#[derive(Debug, Args)]
pub struct BotArgs {
    /// The extws.toml declaring the tenant (its [tenant.telegram] gives the token and api_url).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// The tenant's name.
    #[arg(long, value_name = "NAME")]
    pub tenant: String,
}
