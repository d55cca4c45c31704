//! Plain HTTP on the WebSocket port: health, readiness, metrics for known traffic, static
//! files.

mod common;

use common::*;
use extws_wasm::Config;
use extws_wasm::auth::{AuthPolicy, Transport, Verifier, telegram};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness() {
    let server = start_simple(&["calc"]).await;
    assert_eq!(
        http_get(server.addr, "/healthz").await,
        (200, "ok\n".into())
    );
    assert_eq!(
        http_get(server.addr, "/readyz").await,
        (200, "ready\n".into())
    );
    assert_eq!(http_get(server.addr, "/nothing-here").await.0, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_while_redis_is_away_and_ready_again_when_it_is_back() {
    let mut redis = RedisServer::start();
    let mut config = Config::new(vec![tenant("default", &["calc"])]);
    config.state.redis = Some(redis.url());
    let server = start(config).await;
    assert_eq!(
        http_get(server.addr, "/readyz").await,
        (200, "ready\n".into())
    );
    redis.stop();
    let (status, body) = http_get(server.addr, "/readyz").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("not ready: Redis"), "{body}");
    // Liveness is not readiness: the process is fine.
    assert_eq!(http_get(server.addr, "/healthz").await.0, 200);
    redis.restart();
    eventually(
        "/readyz answering 200 once Redis is back",
        std::time::Duration::from_secs(30),
        async || match http_get(server.addr, "/readyz").await {
            (200, _) => Ok(()),
            (status, body) => Err(format!("{status} {body}")),
        },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_served_and_cannot_escape_their_directory() {
    let dir = std::env::temp_dir().join(format!("extws-static-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("js")).unwrap();
    std::fs::write(dir.join("index.html"), "<h1>mini app</h1>").unwrap();
    std::fs::write(dir.join("js/app.js"), "console.log(1)").unwrap();
    let mut t = tenant("default", &["calc"]);
    t.static_dir = Some(dir.clone());
    let server = start(Config::new(vec![t])).await;
    assert_eq!(
        http_get(server.addr, "/").await,
        (200, "<h1>mini app</h1>".into())
    );
    assert_eq!(
        http_get(server.addr, "/js/app.js?v=1").await,
        (200, "console.log(1)".into())
    );
    for escape in [
        "/../etc/passwd",
        "/js/../../etc/passwd",
        "/%2e%2e/etc/passwd",
    ] {
        assert_eq!(http_get(server.addr, escape).await.0, 404, "{escape}");
    }
    // A symlink inside the directory does not lead out of it, to a file or a directory; one
    // that stays inside is followed.
    let outside = temp_dir("static-outside");
    std::fs::write(outside.join("secret.txt"), "secret").unwrap();
    let _ = std::fs::remove_file(dir.join("leak.txt"));
    let _ = std::fs::remove_file(dir.join("leakdir"));
    let _ = std::fs::remove_file(dir.join("alias.js"));
    std::os::unix::fs::symlink(outside.join("secret.txt"), dir.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("leakdir")).unwrap();
    std::os::unix::fs::symlink(dir.join("js/app.js"), dir.join("alias.js")).unwrap();
    assert_eq!(http_get(server.addr, "/leak.txt").await.0, 404);
    assert_eq!(http_get(server.addr, "/leakdir/secret.txt").await.0, 404);
    assert_eq!(
        http_get(server.addr, "/alias.js").await,
        (200, "console.log(1)".into())
    );
    // The WebSocket still works on the same port.
    let mut ws = connect(&server.url("/")).await;
    assert_eq!(
        ask(
            &mut ws,
            r#"{"Type":"CalculateRequest","Data":{"numbers":[2,2]}}"#
        )
        .await,
        r#"{"Type":"CalculateResponse","Data":{"result":4}}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_known_traffic() {
    const TOKEN: &str = "42:metrics";
    let mut t = tenant("metrics-test", &["calc", "trap"]);
    t.auth = AuthPolicy {
        transports: vec![Transport::Query],
        ..AuthPolicy::new(Verifier::hmac(TOKEN))
    };
    let server = start(Config::new(vec![t])).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let init = telegram::sign_hmac(
        &[
            ("user".into(), r#"{"id":1,"first_name":"M"}"#.into()),
            ("auth_date".into(), now.to_string()),
        ],
        TOKEN,
    );
    let mut ws = connect(&server.url(&format!("/?{init}"))).await;
    for _ in 0..3 {
        ask(
            &mut ws,
            r#"{"Type":"CalculateRequest","Data":{"numbers":[1]}}"#,
        )
        .await;
    }
    // The handler's own error (overflow), and Data the host refuses by calc's schema before
    // creating an instance.
    ask(
        &mut ws,
        r#"{"Type":"CalculateRequest","Data":{"numbers":[9223372036854775807,1]}}"#,
    )
    .await;
    ask(
        &mut ws,
        r#"{"Type":"CalculateRequest","Data":{"numbers":"x"}}"#,
    )
    .await;
    ask(&mut ws, r#"{"Type":"Panic"}"#).await;
    ask(&mut ws, r#"{"Type":"NoSuchType"}"#).await;
    ask(&mut ws, "not json").await;
    for _ in 0..2 {
        let tampered = init.replace("%22M%22", "%22N%22");
        assert!(
            tokio_tungstenite::connect_async(server.url(&format!("/?{tampered}")))
                .await
                .is_err()
        );
    }
    let (status, body) = http_get(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    let has = |line: &str| body.lines().any(|l| l == line);
    for line in [
        r#"extws_messages_total{tenant="metrics-test",type="CalculateRequest",outcome="ok"} 3"#,
        r#"extws_messages_total{tenant="metrics-test",type="CalculateRequest",outcome="handler_error"} 1"#,
        r#"extws_messages_total{tenant="metrics-test",type="CalculateRequest",outcome="invalid_data"} 1"#,
        r#"extws_messages_total{tenant="metrics-test",type="Panic",outcome="handler_failed"} 1"#,
        r#"extws_messages_total{tenant="metrics-test",type="unknown",outcome="unknown_type"} 1"#,
        r#"extws_messages_total{tenant="metrics-test",type="invalid",outcome="invalid_message"} 1"#,
        r#"extws_auth_failures_total{tenant="metrics-test",reason="bad_signature"} 2"#,
        r#"extws_connections_open{tenant="metrics-test"} 1"#,
        r#"extws_connections_total{tenant="metrics-test"} 1"#,
        r#"extws_instances_created_total{tenant="metrics-test",lifecycle="fresh"} 5"#,
        r#"extws_invocation_seconds_count{tenant="metrics-test"} 5"#,
    ] {
        assert!(has(line), "missing {line:?} in\n{body}");
    }
}

/// Clients that ask for a big static file and never read it cost the server a bounded buffer
/// each, not the file: the file is streamed from disk in chunks (issue 25 #13: 8 such clients
/// of a 32 MiB file took RSS from 17 to 529 MB while the file was held whole per connection).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn static_files_are_streamed_to_clients_that_do_not_read() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    const MIB: usize = 1 << 20;
    let dir = temp_dir("static-big");
    let big: Vec<u8> = (0..32 * MIB).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), &big).unwrap();
    let server = ChildServer::start([
        "--no-auth".as_ref(),
        "--data-dir".as_ref(),
        temp_dir("static-big-data").as_os_str(),
        "--static".as_ref(),
        dir.as_os_str(),
        "--component".as_ref(),
        guest("calc").as_os_str(),
    ]);
    assert_eq!(http_get(&server.addr, "/healthz").await.0, 200);
    let before = server.rss_kib();
    let request = "GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n";
    let mut stuck = Vec::new();
    for _ in 0..8 {
        let mut client = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
        client.write_all(request.as_bytes()).await.unwrap();
        stuck.push(client);
    }
    // Every one of them has its response started (bytes are waiting in its socket, unread).
    eventually(
        "every stuck client having bytes of the file waiting",
        std::time::Duration::from_secs(30),
        async || {
            let mut byte = [0u8; 1];
            for client in &stuck {
                let peeked = tokio::time::timeout(
                    std::time::Duration::from_millis(50),
                    client.peek(&mut byte),
                );
                if !matches!(peeked.await, Ok(Ok(1))) {
                    return false;
                }
            }
            true
        },
    )
    .await;
    let during = server.rss_kib();
    assert!(
        during < before + 64 * 1024,
        "8 clients not reading a 32 MiB file took the server's RSS from {before} KiB to \
         {during} KiB"
    );
    assert_eq!(http_get(&server.addr, "/healthz").await.0, 200);
    // The file still arrives whole, with its length, to a client that reads it.
    let mut reader = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    reader.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    reader.read_to_end(&mut response).await.unwrap();
    let split = response.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&response[..split]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {}\r\n", big.len())),
        "{head}"
    );
    assert!(
        response[split..] == big[..],
        "the body differs from the file"
    );
    // HEAD: the length, no body.
    let mut head_only = tokio::net::TcpStream::connect(&server.addr).await.unwrap();
    let request = request.replacen("GET", "HEAD", 1);
    head_only.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    head_only.read_to_string(&mut response).await.unwrap();
    assert!(response.ends_with("\r\n\r\n"), "{response}");
    assert!(
        response.contains(&format!("content-length: {}", big.len())),
        "{response}"
    );
    drop(stuck);
}
