//! `POST /`: read the body within its limit, open the envelope, hand the
//! request to the dispatcher, seal the reply. Maps every outcome to the
//! status table of `protocol.md`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Buf, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::text;
use crate::actions::Ctx;
use crate::app::App;
use crate::dispatch::{self, Dispatcher};
use crate::envelope::{Envelope, OpenError};

pub struct Rpc {
    pub app: Arc<App>,
    pub envelope: Envelope,
    pub dispatcher: Dispatcher,
    pub max_body_bytes: u64,
    /// `client_ipaddr` is required while rate limiting is on.
    pub require_client_ip: bool,
}

pub fn filter(
    rpc: Arc<Rpc>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and(warp::body::stream())
        .then(move |length: Option<u64>, body| {
            let rpc = rpc.clone();
            async move {
                if length.is_some_and(|n| n > rpc.max_body_bytes) {
                    return too_large();
                }
                match read_limited(body, rpc.max_body_bytes).await {
                    Ok(Some(bytes)) => rpc.handle(&bytes).await,
                    Ok(None) => too_large(),
                    Err(()) => text(StatusCode::BAD_REQUEST, "could not read the request body"),
                }
            }
        })
}

fn too_large() -> Response {
    text(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
}

/// The whole body, or `None` once it passes `limit` (chunked bodies carry no
/// length up front).
async fn read_limited<S, B>(body: S, limit: u64) -> Result<Option<BytesMut>, ()>
where
    S: Stream<Item = Result<B, warp::Error>>,
    B: Buf,
{
    let mut buf = BytesMut::new();
    tokio::pin!(body);
    while let Some(chunk) = body.next().await {
        let mut chunk = chunk.map_err(|_| ())?;
        if (buf.len() + chunk.remaining()) as u64 > limit {
            return Ok(None);
        }
        while chunk.has_remaining() {
            let part = chunk.chunk();
            buf.extend_from_slice(part);
            let n = part.len();
            chunk.advance(n);
        }
    }
    Ok(Some(buf))
}

impl Rpc {
    async fn handle(&self, body: &[u8]) -> Response {
        let started = Instant::now();
        let opened = match self.envelope.open(body) {
            Ok(o) => o,
            Err(OpenError::Undecryptable) => {
                tracing::info!(outcome = "unauthenticated", "request refused");
                return text(
                    StatusCode::UNAUTHORIZED,
                    "request could not be decrypted: wrong key, tampered, expired or replayed",
                );
            }
            Err(e) => {
                tracing::info!(outcome = "bad envelope", error = %e, "request refused");
                return text(StatusCode::BAD_REQUEST, e.to_string());
            }
        };
        if self.require_client_ip && opened.client_ipaddr.is_none() {
            return text(
                StatusCode::BAD_REQUEST,
                "request field `client_ipaddr` is required while rate limiting is on",
            );
        }
        let ctx = Ctx {
            reqid: opened.reqid.clone(),
            client_ipaddr: opened.client_ipaddr,
        };
        let name = opened.request;
        let handled =
            AssertUnwindSafe(
                self.dispatcher
                    .handle(self.app.clone(), ctx, &name, opened.body),
            )
            .catch_unwind()
            .await;
        let logged_name = if self.dispatcher.is_known(&name) {
            name.as_str()
        } else {
            "(unknown)"
        };
        let latency_us = started.elapsed().as_micros() as u64;
        match handled {
            Ok(Ok(handled)) => {
                let outcome = match &handled.outcome.failure_reason {
                    None => "success",
                    Some(reason) => reason.as_str(),
                };
                tracing::info!(reqid = %opened.reqid, request = logged_name, outcome, latency_us, "request");
                let reply = dispatch::envelope(handled.outcome, opened.reqid);
                text(StatusCode::OK, self.envelope.seal(opened.key, &reply))
            }
            Ok(Err(fault)) => {
                tracing::error!(reqid = %opened.reqid, request = logged_name, outcome = "fault", error = %fault, latency_us, "request");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server could not handle this request now; try again",
                )
            }
            Err(_) => {
                tracing::error!(reqid = %opened.reqid, request = logged_name, outcome = "panic", latency_us, "request");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the server could not handle this request now; try again",
                )
            }
        }
    }
}
