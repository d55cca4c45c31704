//! `extws-bench-native`: the `native` baseline. A minimal tokio-tungstenite server that speaks
//! the same `{"Type","Data","Id"}` envelope as extws-wasm (the host's own envelope and initData
//! code), with the calc logic compiled in: no sandbox, no tenants, no limits. It is the ceiling
//! for this stack.
//!
//! Usage: extws-bench-native [--listen 127.0.0.1:0] [--bot-token TOKEN]
//! Prints `listening on ws://ADDR` on stderr, like extws-wasm.

use std::sync::Arc;

use extws_bench::calc;
use extws_wasm::auth::{AuthPolicy, HandshakeAuth, Session, Verifier};
use extws_wasm::envelope::{self, ErrorCode};
use futures_util::{SinkExt as _, StreamExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;

fn main() -> anyhow::Result<()> {
    let mut listen = "127.0.0.1:0".to_string();
    let mut token = None;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--listen" => listen = args.next().expect("--listen ADDR"),
            "--bot-token" => token = args.next(),
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let auth = Arc::new(token.map(|t| AuthPolicy {
        max_age: None,
        ..AuthPolicy::new(Verifier::hmac(&t))
    }));
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(async move {
            let listener = TcpListener::bind(&listen).await?;
            eprintln!("listening on ws://{}", listener.local_addr()?);
            loop {
                let (stream, _) = listener.accept().await?;
                let _ = stream.set_nodelay(true);
                tokio::spawn(serve(stream, auth.clone()));
            }
        })
}

async fn serve(stream: TcpStream, auth: Arc<Option<AuthPolicy>>) {
    let mut session = Session::anonymous();
    #[allow(clippy::result_large_err)]
    let callback = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
        let Some(policy) = auth.as_ref() else {
            return Ok(response);
        };
        match policy.at_handshake(request) {
            Ok((HandshakeAuth::Done(s), _)) => {
                session = *s;
                Ok(response)
            }
            _ => {
                let mut e = ErrorResponse::new(Some("unauthorized\n".into()));
                *e.status_mut() = StatusCode::UNAUTHORIZED;
                Err(e)
            }
        }
    };
    let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, callback).await else {
        return;
    };
    while let Some(Ok(frame)) = ws.next().await {
        let text = match frame {
            Message::Text(t) => t,
            Message::Close(_) => break,
            _ => continue,
        };
        let reply = match envelope::parse(&text) {
            Err(e) => envelope::error(ErrorCode::InvalidMessage, &e.to_string(), None),
            Ok(req) => match calc::handle(&req.msg_type, req.data, session.user.as_ref()) {
                Ok((t, data)) => envelope::reply(t, &data, req.id),
                Err(message) => envelope::error(ErrorCode::HandlerError, &message, req.id),
            },
        };
        if ws.send(Message::text(reply)).await.is_err() {
            break;
        }
    }
}
