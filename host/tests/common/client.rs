//! WebSocket clients (tokio-tungstenite: pongs and framing done for the test): connect, send,
//! receive the next reply or the close, and read what came back.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A client socket.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Connects to `url`.
pub async fn connect(url: &str) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(url.into_client_request().unwrap())
        .await
        .expect("connect failed");
    ws
}

/// Sends a text frame.
pub async fn send(ws: &mut Ws, text: &str) {
    ws.send(Message::text(text)).await.expect("send failed");
}

/// The next text frame (skipping pings), within a generous 30 s in all: a server that only
/// pings does not keep the test waiting.
pub async fn recv(ws: &mut Ws) -> String {
    let next_text = async {
        loop {
            let frame = ws
                .next()
                .await
                .expect("connection ended")
                .expect("read error");
            match frame {
                Message::Text(t) => return t.to_string(),
                Message::Close(c) => panic!("closed instead of replying: {c:?}"),
                _ => continue,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), next_text)
        .await
        .expect("no reply within 30 s")
}

/// Sends `text` and returns the reply.
pub async fn ask(ws: &mut Ws, text: &str) -> String {
    send(ws, text).await;
    recv(ws).await
}

/// Sends `text` and returns the reply parsed as JSON.
pub async fn ask_json(ws: &mut Ws, text: &str) -> serde_json::Value {
    let reply = ask(ws, text).await;
    serde_json::from_str(&reply).unwrap_or_else(|e| panic!("reply {reply:?} is not JSON: {e}"))
}

/// Waits for the server's close frame and returns it (`None`: the connection ended without
/// one), reading past whatever comes first, for 60 s in all.
pub async fn expect_close(ws: &mut Ws) -> Option<CloseFrame> {
    let close = async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(c))) => return c,
                Some(Ok(_)) => continue,
                None | Some(Err(_)) => return None,
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(60), close)
        .await
        .expect("no close within 60 s")
}

/// A pushed envelope without its `Seq` (user pushes carry one while push history is on), and
/// the `Seq`.
pub fn without_seq(envelope: &str) -> (String, Option<u64>) {
    let mut v: serde_json::Value = serde_json::from_str(envelope).unwrap();
    let seq = v.as_object_mut().unwrap().remove("Seq");
    (
        v.to_string(),
        seq.map(|s| s.as_u64().expect("Seq is an integer")),
    )
}

/// The `Data.code` of a HandlerException reply.
pub fn error_code(reply: &serde_json::Value) -> &str {
    assert_eq!(reply["Type"], "HandlerException", "not an error: {reply}");
    reply["Data"]["code"].as_str().unwrap()
}

/// initData for user `id` signed with `token`, dated now.
pub fn signed_user(token: &str, id: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let fields = vec![
        (
            "user".to_string(),
            format!(r#"{{"id":{id},"first_name":"U{id}"}}"#),
        ),
        ("auth_date".to_string(), now.to_string()),
    ];
    extws_wasm::auth::telegram::sign_hmac(&fields, token)
}
