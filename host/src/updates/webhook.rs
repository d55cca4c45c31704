//! `POST <route><webhook_path>`: Telegram posts one `Update` per request. The secret header is
//! checked first (401, and nothing runs), then the size (413 above the tenant's
//! `max_message_bytes`, before reading the body, which is then read away, bounded, so the
//! sender gets the answer rather than a reset); the update runs within the handler's
//! deadline and the answer is 200 — also when the handler failed, which is logged and counted,
//! because Telegram would only send it again. 503 asks Telegram to retry an update that could
//! not run at all (state store down, every call slot busy).

use std::sync::Arc;
use std::time::Duration;

use tokio::io::AsyncReadExt as _;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::http::{self, Method, StatusCode, header};
use tracing::{debug, warn};

use super::{Outcome, Update, deliver};
use crate::config::updates::WebhookSecret;
use crate::tenants::Tenant;
use crate::web::Response;

/// The header Telegram sends the webhook's secret in.
pub const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

/// Answers one webhook request on `stream`; `body` holds what followed the head. Reading the
/// body and writing the answer each get `io_timeout`.
pub async fn serve(
    stream: &mut TcpStream,
    request: &http::Request<()>,
    body: Vec<u8>,
    tenant: &Arc<Tenant>,
    secret: &WebhookSecret,
    io_timeout: Duration,
) -> std::io::Result<()> {
    let response = match read(stream, request, body, tenant, secret, io_timeout).await? {
        Ok(update) => match deliver(tenant, &update).await {
            Outcome::Retry => {
                let mut r = Response::text(StatusCode::SERVICE_UNAVAILABLE, "try again later");
                r.header("retry-after", "1");
                r
            }
            _ => Response::text(StatusCode::OK, "ok"),
        },
        Err(refusal) => refusal,
    };
    // Refused before its body was read: the sender may still be sending it. Read it away
    // (bounded) after answering, so the answer is not lost to a reset of the unread bytes.
    let unread = !matches!(
        response.status(),
        StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE | StatusCode::BAD_REQUEST
    );
    let deadline = tokio::time::Instant::now() + io_timeout;
    response.write(stream, deadline, io_timeout).await?;
    if unread {
        drain(stream, io_timeout).await;
    }
    Ok(())
}

/// Most bytes read away after an early refusal (a bound, whatever the sender announced).
const DRAIN_BYTES: usize = 64 << 20;

/// Reads and drops what the peer still sends, until it closes, [`DRAIN_BYTES`] or `within`.
async fn drain(stream: &mut TcpStream, within: Duration) {
    let reading = async {
        let mut buf = vec![0u8; 64 << 10];
        let mut total = 0;
        while total < DRAIN_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(within, reading).await;
}

/// The update in the request, or the refusal to answer with.
async fn read(
    stream: &mut TcpStream,
    request: &http::Request<()>,
    mut body: Vec<u8>,
    tenant: &Arc<Tenant>,
    secret: &WebhookSecret,
    io_timeout: Duration,
) -> std::io::Result<Result<Update, Response>> {
    let refuse = |status, line: &str| Ok(Err(Response::text(status, line)));
    if request.method() != Method::POST {
        return refuse(StatusCode::METHOD_NOT_ALLOWED, "the webhook takes POST");
    }
    let given = request.headers().get(SECRET_HEADER).map(|v| v.as_bytes());
    if !given.is_some_and(|g| secret.matches(g)) {
        warn!("webhook request without the right secret token");
        tenant.metrics.auth_failure(&tenant.name, "webhook_secret");
        return refuse(StatusCode::UNAUTHORIZED, "wrong or missing secret token");
    }
    if request.headers().contains_key(header::TRANSFER_ENCODING) {
        return refuse(
            StatusCode::LENGTH_REQUIRED,
            "send Content-Length, not chunks",
        );
    }
    let length = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.trim().parse::<usize>().ok());
    let Some(length) = length else {
        return refuse(StatusCode::LENGTH_REQUIRED, "Content-Length is required");
    };
    if length > tenant.ledger.max_frame_bytes {
        tenant.metrics.update(&tenant.name, "other", "too_large");
        let line = format!(
            "the update is {length} bytes, the limit is {}",
            tenant.ledger.max_frame_bytes
        );
        return refuse(StatusCode::PAYLOAD_TOO_LARGE, &line);
    }
    let reading = async {
        while body.len() < length {
            body.reserve(length - body.len());
            if stream.read_buf(&mut body).await? == 0 {
                return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof));
            }
        }
        Ok(())
    };
    tokio::time::timeout(io_timeout, reading)
        .await
        .map_err(|_| std::io::ErrorKind::TimedOut)??;
    body.truncate(length);
    let Ok(text) = std::str::from_utf8(&body) else {
        return refuse(StatusCode::BAD_REQUEST, "the body is not UTF-8");
    };
    match Update::parse(text) {
        Ok(update) => Ok(Ok(update)),
        Err(why) => {
            debug!(%why, "not an update");
            tenant.metrics.update(&tenant.name, "other", "invalid");
            refuse(
                StatusCode::BAD_REQUEST,
                &format!("not a Telegram Update: {why}"),
            )
        }
    }
}
