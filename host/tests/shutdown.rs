//! Shutdown does not wait for connections that have nothing in flight: clients that sent half a
//! request head (and so never upgraded) are dropped at once, not after the handshake timeout.

mod common;

use std::time::Duration;

use common::*;
use extws_wasm::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_request_heads_are_dropped_at_shutdown() {
    let mut config = Config::new(vec![tenant("t", &["calc"])]);
    // Far longer than the test waits: only shutdown can end these connections in time.
    config.timeouts.handshake = Duration::from_secs(120);
    let server = start(config).await;
    let mut slow = Vec::new();
    for _ in 0..20 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: webso")
            .await
            .unwrap();
        slow.push(stream);
    }
    // The server is still serving: a complete request gets its answer.
    assert_eq!(http_get(server.addr, "/healthz").await.0, 200);
    let stopping = tokio::spawn(server.shutdown());
    for (i, stream) in slow.iter_mut().enumerate() {
        let mut byte = [0u8; 1];
        let read = tokio::time::timeout(Duration::from_secs(30), stream.read(&mut byte)).await;
        assert!(
            matches!(read, Ok(Ok(0)) | Ok(Err(_))),
            "connection {i} was not dropped at shutdown: {read:?}"
        );
    }
    let stopped = tokio::time::timeout(Duration::from_secs(30), stopping).await;
    stopped.expect("shutdown finished").unwrap().unwrap();
}
