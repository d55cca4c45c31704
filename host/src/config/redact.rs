//! Configuration errors that never quote the configuration: a line of `extws.toml` may hold a
//! bot token or a secret, so parse errors name the line and column and elide string values.

/// A TOML error that never quotes the file: its line and column and what is wrong, with any
/// string value the message carries elided. The line itself may hold a bot token or a secret
/// (a typo in `bot_token`'s own key would print it back).
pub fn toml_error(e: &toml::de::Error, text: &str) -> anyhow::Error {
    let mut message = String::new();
    for (i, part) in e.message().split('"').enumerate() {
        match i % 2 {
            0 => message.push_str(part),
            _ => message.push_str("\"…\""),
        }
    }
    let Some(span) = e.span() else {
        return anyhow::anyhow!("TOML error: {}", message.trim());
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before.chars().rev().take_while(|&c| c != '\n').count() + 1;
    // The key the line sets, never its value: `make fuzz` (`config`) saw `transports =
    // ["Query"]` refused with a message naming no key once the line was no longer quoted.
    let key = text
        .lines()
        .nth(line - 1)
        .and_then(|l| l.split_once('='))
        .map(|(key, _)| key.trim())
        .filter(|k| {
            let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
            !k.is_empty() && k.len() <= 64 && k.chars().all(bare)
        })
        .map(|k| format!(" (`{k}`)"))
        .unwrap_or_default();
    anyhow::anyhow!(
        "TOML error at line {line}, column {column}{key}: {}",
        message.trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error_of(text: &str) -> String {
        let e = toml::from_str::<toml::Table>(text)
            .err()
            .or_else(|| {
                #[derive(Debug, serde::Deserialize)]
                #[serde(deny_unknown_fields)]
                #[allow(dead_code)]
                struct Auth {
                    bot_token: Option<String>,
                    max_age: Option<u64>,
                }
                toml::from_str::<Auth>(text).err()
            })
            .expect("an error");
        toml_error(&e, text).to_string()
    }

    #[test]
    fn errors_name_the_place_and_never_the_secret() {
        let token = "6917209907:AA97abcdefghijklmnopqrstuvwxyz012345";
        for text in [
            format!("bot_tokn = \"{token}\"\n"),
            format!("max_age = \"{token}\"\n"),
            format!("bot_token = \"{token}\"\nbot_token = \"{token}\"\n"),
            format!("bot_token = \"{token}\n"),
        ] {
            let message = error_of(&text);
            assert!(!message.contains("AA97"), "{message}");
            assert!(message.contains("line "), "{message}");
        }
        assert!(error_of(&format!("bot_tokn = \"{token}\"")).contains("bot_tokn"));
        // The key of a wrong value is named (its value never).
        let message = error_of(&format!("max_age = \"{token}\"\n"));
        assert!(message.contains("`max_age`"), "{message}");
    }
}
