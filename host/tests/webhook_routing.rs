//! Webhooks at the edge. They are routed like connections: a tenant routed by `Host` wins over
//! one on every host at the same path, so each bot's updates reach its own tenant and are
//! checked against its own secret, whatever the order of the configuration. An oversized update
//! gets its 413 even while its sender is still sending the body.

mod common;

use common::fake_telegram::{message, send_raw, update, webhook_at};
use common::*;
use extws_wasm::Config;

const HOOK: &str = "/telegram/webhook";

/// A POST of an update to the webhook with `host` and `secret`; the status.
async fn post(addr: std::net::SocketAddr, host: &str, secret: &str) -> u16 {
    let body = update(1, "message", message(5, "hi"));
    let request = format!(
        "POST {HOOK} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
         X-Telegram-Bot-Api-Secret-Token: {secret}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    send_raw(addr, request.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_goes_to_the_tenant_of_its_host_first() {
    for host_tenant_first in [false, true] {
        let mut everywhere = tenant("a", &["probe"]);
        everywhere.updates = Some(webhook_at(HOOK, "secret-of-a"));
        let mut by_host = tenant("b", &["probe"]);
        by_host.route.host = Some("bot.test".into());
        by_host.updates = Some(webhook_at(HOOK, "secret-of-b"));
        let tenants = if host_tenant_first {
            vec![by_host, everywhere]
        } else {
            vec![everywhere, by_host]
        };
        let server = start(Config::new(tenants)).await;
        let addr = server.addr;
        for (host, secret, status, what) in [
            ("bot.test", "secret-of-b", 200, "b's own update"),
            ("bot.test:443", "secret-of-b", 200, "with a port"),
            ("bot.test", "secret-of-a", 401, "a's secret on b's host"),
            ("other.test", "secret-of-a", 200, "a's own update"),
            ("other.test", "secret-of-b", 401, "b's secret on a"),
        ] {
            assert_eq!(post(addr, host, secret).await, status, "{what}");
        }
        server.shutdown().await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_update_gets_its_413_while_still_sending() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut t = tenant("a", &["probe"]);
    t.ledger.max_frame_bytes = 64 << 10;
    t.updates = Some(webhook_at(HOOK, "secret-of-a"));
    let server = start(Config::new(vec![t])).await;
    let body = vec![b'x'; 20 << 20];
    let head = format!(
        "POST {HOOK} HTTP/1.1\r\nHost: x\r\nX-Telegram-Bot-Api-Secret-Token: secret-of-a\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
        .write_all(&body)
        .await
        .expect("the whole body is read away, not reset");
    let mut response = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut response),
    );
    read.await.expect("an answer").expect("read");
    let response = String::from_utf8_lossy(&response);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
}
