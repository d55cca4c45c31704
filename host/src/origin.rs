//! Where a call comes from ([`Origin`]) and which `Type`s each origin may send: the
//! namespaces the host reserves for its own sources (`telegram.` for bot updates, `schedule.`
//! for schedules) are refused from every other origin, so a client can never send what only
//! Telegram or a schedule may send.

/// Who is asking a component to handle a `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A frame from an authenticated client connection (also its `on-connect` /
    /// `on-disconnect` hooks).
    Client,
    /// A bot update from Telegram (webhook or `getUpdates`), with its `update_id`.
    Update {
        /// The update's `update_id`.
        update_id: i64,
    },
    /// A schedule firing.
    Schedule,
    /// The `extws-wasm call` subcommand: the operator, who may send any `Type`.
    Cli,
}

/// A namespace of `Type`s only one origin may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// The `Type` prefix, with its dot.
    pub prefix: &'static str,
    /// Who may send it, for the refusal's message.
    pub source: &'static str,
}

/// The namespaces the host reserves for its own sources.
pub const RESERVED: [Reserved; 2] = [
    Reserved {
        prefix: "telegram.",
        source: "bot updates from Telegram",
    },
    Reserved {
        prefix: "schedule.",
        source: "schedules",
    },
];

impl Origin {
    /// The short name used in logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Origin::Client => "client",
            Origin::Update { .. } => "update",
            Origin::Schedule => "schedule",
            Origin::Cli => "cli",
        }
    }

    /// `Ok` when this origin may send `msg_type`; else the reserved namespace it belongs to.
    pub fn may_send(self, msg_type: &str) -> Result<(), Reserved> {
        let Some(reserved) = RESERVED.iter().find(|r| msg_type.starts_with(r.prefix)) else {
            return Ok(());
        };
        let allowed = matches!(
            (self, reserved.prefix),
            (Origin::Cli, _)
                | (Origin::Update { .. }, "telegram.")
                | (Origin::Schedule, "schedule.")
        );
        if allowed { Ok(()) } else { Err(*reserved) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_namespaces_are_refused_from_every_other_origin() {
        let update = Origin::Update { update_id: 1 };
        for t in [
            "telegram.message",
            "telegram.successful_payment",
            "telegram.pre_checkout_query",
            "telegram.",
        ] {
            assert!(Origin::Client.may_send(t).is_err(), "{t}");
            assert!(Origin::Schedule.may_send(t).is_err(), "{t}");
            assert!(update.may_send(t).is_ok(), "{t}");
            assert!(Origin::Cli.may_send(t).is_ok(), "{t}");
        }
        for t in ["schedule.DailyDigest", "schedule.x"] {
            assert!(Origin::Client.may_send(t).is_err(), "{t}");
            assert!(update.may_send(t).is_err(), "{t}");
            assert!(Origin::Schedule.may_send(t).is_ok(), "{t}");
        }
        for t in [
            "CalculateRequest",
            "Telegram.message",
            "telegram",
            "my.telegram.x",
        ] {
            assert!(Origin::Client.may_send(t).is_ok(), "{t}");
        }
    }
}
