//! The `http` capability, `wasi:http/outgoing-handler`: denied unless the tenant allows an
//! origin ([`allow`]). Every request (so
//! every redirect hop, which a guest makes as a new request) is checked against the tenant's
//! [`AllowList`], sent by the host's own client to the address that was checked, with the
//! tenant's caps on concurrent requests and on response bodies. A refusal is the wasi-http
//! error `HTTP-request-denied`, never a trap.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame};
use http_body_util::BodyExt as _;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use wasmtime_wasi_http::{Error, RequestOptions, WasiBody, WasiHttpHooks};

pub mod allow;
pub mod client;
pub mod settings;

use allow::{AllowList, Target};
use client::ClientError;

/// A tenant's outbound HTTP grant, shared by all its stores.
#[derive(Debug)]
pub struct HttpGrant {
    allow: AllowList,
    concurrent: Arc<Semaphore>,
    max_body_bytes: usize,
}

impl HttpGrant {
    /// Allows `allow`, at most `concurrent` requests in flight for the tenant, response bodies
    /// of at most `max_body_bytes`.
    pub fn new(allow: AllowList, concurrent: usize, max_body_bytes: usize) -> Self {
        Self {
            allow,
            concurrent: Arc::new(Semaphore::new(concurrent.max(1))),
            max_body_bytes,
        }
    }
}

/// The hooks of one store: its tenant's grant, if any.
#[derive(Debug, Default)]
pub struct HttpHooks {
    pub grant: Option<Arc<HttpGrant>>,
}

type SendFuture = Box<
    dyn Future<
            Output = wasmtime_wasi_http::Result<(
                http::Response<WasiBody>,
                Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
            )>,
        > + Send,
>;

impl WasiHttpHooks for HttpHooks {
    fn send_request(
        &mut self,
        request: http::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _fut: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send>,
    ) -> SendFuture {
        let grant = self.grant.clone();
        Box::new(async move {
            let Some(grant) = grant else {
                tracing::debug!("outbound HTTP denied: the tenant allows no origin");
                return Err(Error::HttpRequestDenied);
            };
            let Some(target) = grant.allow.check(request.uri()) else {
                tracing::info!(uri = %request.uri().authority().map_or("", |a| a.as_str()),
                    "outbound HTTP denied: origin not allowed");
                return Err(Error::HttpRequestDenied);
            };
            let permit = grant
                .concurrent
                .clone()
                .try_acquire_owned()
                .map_err(|_| Error::ConnectionLimitReached)?;
            let response = send(&target, request).await?;
            let max = grant.max_body_bytes;
            let response = response.map(|body| {
                Capped {
                    body,
                    left: max,
                    max,
                    _permit: permit,
                }
                .boxed_unsync()
            });
            let io: Box<dyn Future<Output = wasmtime_wasi_http::Result<()>> + Send> =
                Box::new(async { Ok(()) });
            Ok((response, io))
        })
    }
}

async fn send(
    target: &Target,
    request: http::Request<WasiBody>,
) -> wasmtime_wasi_http::Result<http::Response<hyper::body::Incoming>> {
    // The call's deadline ends the store and with it this request; the connection task ends
    // with the response body, or after a minute whatever the peer does.
    client::send(target, request, Duration::from_secs(60))
        .await
        .map_err(|e| match e {
            ClientError::Denied(why) => {
                tracing::info!(%why, "outbound HTTP denied");
                Error::HttpRequestDenied
            }
            ClientError::Dns(_) => Error::DnsError {
                rcode: Some("not found".into()),
                info_code: None,
            },
            ClientError::Connect(_) => Error::ConnectionRefused,
            ClientError::Tls(_) => Error::TlsProtocolError,
            ClientError::Protocol(_) => Error::HttpProtocolError,
        })
}

/// A response body that ends with `HTTP-response-body-size` past the tenant's cap and holds
/// the tenant's concurrency permit until it is dropped.
struct Capped {
    body: hyper::body::Incoming,
    left: usize,
    max: usize,
    _permit: OwnedSemaphorePermit,
}

impl Body for Capped {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        let this = &mut *self;
        match Pin::new(&mut this.body).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    if data.len() > this.left {
                        return Poll::Ready(Some(Err(Error::HttpResponseBodySize(Some(
                            this.max as u64 + 1,
                        )))));
                    }
                    this.left -= data.len();
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Error::from(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }
}
