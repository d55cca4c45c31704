//! The `telegram` commands and `check` of the shop example, run by the real binary: the
//! commands register, show and delete the webhook from the tenant's own settings without ever
//! printing the token or the secret, and the example's configuration checks.

mod common;

use common::fake_telegram::FakeTelegram;
use common::*;
use serde_json::json;

const TOKEN: &str = "777000:shop-token-never-shown";
const SECRET: &str = "webhook-secret_42";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_telegram_commands_register_the_webhook_from_the_tenants_settings() {
    let telegram = FakeTelegram::start().await;
    let dir = temp_dir("updates-commands");
    let shop = guest("shop");
    let toml = format!(
        "[[tenant]]\nname = \"shop\"\nroute = \"/shop\"\n[tenant.auth]\nbot_token_env = \"SHOP_TOKEN\"\n\
         [tenant.telegram]\napi_url = \"{}\"\nupdates = \"webhook\"\nwebhook_secret_env = \"SHOP_SECRET\"\n\
         [[tenant.component]]\npath = \"{}\"\n",
        telegram.http.url(),
        shop.display()
    );
    let file = dir.join("extws.toml");
    std::fs::write(&file, toml).unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(BIN)
            .arg("telegram")
            .args(args)
            .args(["--config", file.to_str().unwrap(), "--tenant", "shop"])
            .env("SHOP_TOKEN", TOKEN)
            .env("SHOP_SECRET", SECRET)
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!text.contains(TOKEN) && !text.contains(SECRET), "{text}");
        (out.status.success(), text)
    };

    let url = "https://bot.example.com/shop/telegram/webhook";
    let (ok, text) = run(&["set-webhook", "--url", url]);
    assert!(ok, "{text}");
    let set = telegram.calls_of("setWebhook")[0].json();
    assert_eq!(set["url"], url);
    assert_eq!(set["secret_token"], SECRET);
    assert_eq!(
        set["allowed_updates"],
        json!(["message", "pre_checkout_query"])
    );
    assert!(
        telegram.calls_of("setWebhook")[0]
            .path
            .ends_with(&format!("bot{TOKEN}/setWebhook"))
    );

    // A URL that does not end in the tenant's webhook path would never reach it.
    let (ok, text) = run(&["set-webhook", "--url", "https://bot.example.com/elsewhere"]);
    assert!(!ok && text.contains("/shop/telegram/webhook"), "{text}");

    let (ok, text) = run(&["webhook-info"]);
    assert!(ok && text.contains("pending_update_count"), "{text}");
    let (ok, text) = run(&["delete-webhook"]);
    assert!(ok && text.contains("deleted"), "{text}");
    assert_eq!(telegram.calls_of("deleteWebhook").len(), 1);
}

#[test]
fn the_shop_examples_configuration_checks() {
    let out = std::process::Command::new(BIN)
        .args(["check", "--config"])
        .arg(repo().join("examples/shop/extws.toml"))
        .env("SHOP_BOT_TOKEN", TOKEN)
        .env("SHOP_WEBHOOK_SECRET", SECRET)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("bot updates by webhook at /shop/telegram/webhook"),
        "{text}"
    );
    assert!(!text.contains("warning"), "{text}");
}
