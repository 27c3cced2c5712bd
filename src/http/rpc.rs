//! `POST /`: read the body within its limit, open the envelope, hand the
//! request to the dispatcher, seal the reply. Maps every outcome to the
//! status table of `protocol.md`.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

use super::text;
use crate::actions::{Ctx, Refusal};
use crate::app::App;
use crate::envelope::{Envelope, OpenError};
use crate::logging::{Escaped, REQUESTS};
use crate::metrics::{Outcome as Counted, Rejected};
use crate::rpc::{self, Dispatcher, Handled};
use crate::security::rate_limit::retry_after_secs;

pub struct Rpc {
    pub app: Arc<App>,
    pub envelope: Envelope,
    pub dispatcher: Dispatcher,
    pub max_body_bytes: u64,
    /// The whole body must arrive within this, counted from the end of the
    /// headers (a trickle does not extend it).
    pub body_read_timeout: Duration,
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
            async move { rpc.exchange(length, body).await }
        })
}

impl Rpc {
    /// Everything after the headers: the body read within its limit and
    /// deadline, then the answer. The same for warp's route and the
    /// transport's direct one (`http::Direct`).
    pub async fn exchange<S, B, E>(&self, length: Option<u64>, body: S) -> Response
    where
        S: Stream<Item = Result<B, E>>,
        B: Buf,
    {
        let metrics = &self.app.metrics;
        if length.is_some_and(|n| n > self.max_body_bytes) {
            metrics.rejected(Rejected::TooLarge);
            return too_large();
        }
        let read = read_limited(body, length, self.max_body_bytes);
        match tokio::time::timeout(self.body_read_timeout, read).await {
            Ok(Ok(Some(bytes))) => self.handle(&bytes).await,
            Ok(Ok(None)) => {
                metrics.rejected(Rejected::TooLarge);
                too_large()
            }
            Ok(Err(())) => text(StatusCode::BAD_REQUEST, "could not read the request body"),
            Err(_) => {
                tracing::info!(target: REQUESTS, outcome = "body timeout", "request refused");
                metrics.rejected(Rejected::BodyDeadline);
                body_timeout()
            }
        }
    }
}

fn too_large() -> Response {
    text(StatusCode::PAYLOAD_TOO_LARGE, "request body is too large")
}

/// 408, and the connection closed: the rest of a stalled body is not worth
/// waiting for, nor is the next request behind it.
fn body_timeout() -> Response {
    let mut res = text(
        StatusCode::REQUEST_TIMEOUT,
        "request body not received in time",
    );
    res.headers_mut().insert(
        warp::http::header::CONNECTION,
        warp::http::HeaderValue::from_static("close"),
    );
    res
}

/// Most a declared length reserves before the bytes arrive: envelopes are
/// a few KiB, and a client declaring the full limit then stalling must not
/// hold `max_body_bytes` per connection.
const RESERVE_MAX: u64 = 64 * 1024;

/// The whole body, or `None` once it passes `limit` (chunked bodies carry no
/// length up front; a declared length sizes the buffer, up to `RESERVE_MAX`).
async fn read_limited<S, B, E>(
    body: S,
    length: Option<u64>,
    limit: u64,
) -> Result<Option<BytesMut>, ()>
where
    S: Stream<Item = Result<B, E>>,
    B: Buf,
{
    let expected = length.unwrap_or(0).min(limit).min(RESERVE_MAX);
    let mut buf = BytesMut::with_capacity(usize::try_from(expected).unwrap_or(0));
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
    /// Everything from the first byte of the envelope to the sealed reply
    /// runs inside one fault guard: a panic anywhere is a 503 and a log
    /// line, and the server goes on.
    async fn handle(&self, body: &[u8]) -> Response {
        match AssertUnwindSafe(self.answer(body)).catch_unwind().await {
            Ok(res) => res,
            Err(_) => {
                tracing::error!(target: REQUESTS, outcome = "panic", "request");
                unavailable()
            }
        }
    }

    async fn answer(&self, body: &[u8]) -> Response {
        let started = Instant::now();
        let opened = match self.envelope.open(body) {
            Ok(o) => o,
            Err(OpenError::Undecryptable) => {
                tracing::info!(target: REQUESTS, outcome = "unauthenticated", "request refused");
                self.app.metrics.rejected(Rejected::Unauthenticated);
                return undecryptable();
            }
            Err(e) => {
                tracing::info!(target: REQUESTS, outcome = "bad envelope", error = %Escaped(&e), "request refused");
                self.app.metrics.rejected(Rejected::BadEnvelope);
                return text(StatusCode::BAD_REQUEST, e.to_string());
            }
        };
        if self.require_client_ip && opened.client_ipaddr.is_none() {
            self.app.metrics.rejected(Rejected::BadEnvelope);
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
        let handled = self
            .dispatcher
            .handle(
                self.app.clone(),
                ctx,
                &name,
                opened.body,
                Some(opened.stamp),
            )
            .await;
        let logged_name = if self.dispatcher.is_known(&name) {
            name.as_str()
        } else {
            "(unknown)"
        };
        let took = started.elapsed();
        let latency_us = took.as_micros() as u64;
        let metrics = &self.app.metrics;
        match handled {
            Ok(Handled::Reply(outcome)) => {
                let counted = if outcome.success {
                    Counted::Ok
                } else {
                    Counted::Refused
                };
                metrics.request(&name, counted, took);
                log_answered(
                    &opened.reqid,
                    logged_name,
                    outcome.failure_reason.as_ref(),
                    latency_us,
                );
                let reply = rpc::envelope(outcome, opened.reqid);
                text(StatusCode::OK, self.envelope.seal(opened.key, &reply))
            }
            Ok(Handled::Limited(refused)) => {
                metrics.request(&name, Counted::Limited, took);
                metrics.rate_limited(refused.limit);
                let secs = retry_after_secs(refused.retry_after);
                tracing::warn!(target: REQUESTS, reqid = %opened.reqid, request = logged_name, outcome = "rate limited", limit = refused.limit, retry_after = secs, "request");
                let mut res = text(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate limit exceeded; retry later",
                );
                res.headers_mut()
                    .insert(warp::http::header::RETRY_AFTER, secs.into());
                res
            }
            Ok(Handled::Replayed) => {
                tracing::info!(target: REQUESTS, outcome = "unauthenticated", "request refused");
                metrics.rejected(Rejected::Unauthenticated);
                undecryptable()
            }
            Err(fault) => {
                metrics.request(&name, Counted::Fault, took);
                tracing::error!(target: REQUESTS, reqid = %opened.reqid, request = logged_name, outcome = "fault", error = %Escaped(&fault), latency_us, "request");
                unavailable()
            }
        }
    }
}

/// The log line of an answered request. The refusal is named by its
/// variant; the free text of `Invalid` / `Other` (which may quote the
/// request: an `update_dict` key, a phone number's parse error) goes in
/// escaped, so no request can write a line of its own into the log.
fn log_answered(
    reqid: &serde_json::Value,
    request: &str,
    refusal: Option<&Refusal>,
    latency_us: u64,
) {
    let (outcome, detail) = match refusal {
        None => ("success", None),
        Some(Refusal::Invalid(text) | Refusal::Other(text)) => ("refused", Some(text.as_str())),
        // A fixed wire string: ours, not the request's.
        Some(r) => (r.as_str(), None),
    };
    tracing::info!(
        target: REQUESTS,
        reqid = %reqid,
        request,
        outcome,
        refusal = refusal.map(Refusal::variant),
        detail = detail.map(tracing::field::debug),
        latency_us,
        "request"
    );
}

/// One answer for every token that does not pass, replays included.
fn undecryptable() -> Response {
    text(
        StatusCode::UNAUTHORIZED,
        "request could not be decrypted: wrong key, tampered, expired or replayed",
    )
}

fn unavailable() -> Response {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "the server could not handle this request now; try again",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(parts: &[&'static [u8]]) -> impl Stream<Item = Result<&'static [u8], warp::Error>> {
        futures_util::stream::iter(parts.iter().map(|p| Ok(*p)).collect::<Vec<_>>())
    }

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Captured(Arc<parking_lot::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// The default (compact) format's output of `log`.
    fn logged(log: impl FnOnce()) -> String {
        let out = Captured::default();
        let writer = out.clone();
        let subscriber = tracing_subscriber::fmt()
            .compact()
            .with_ansi(false)
            .with_writer(move || writer.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, log);
        String::from_utf8(out.0.lock().clone()).unwrap()
    }

    #[test]
    fn request_text_cannot_forge_a_log_line() {
        let forged = "invalid request: disallowed keys: x\n2026-01-01T00:00:00Z  INFO authnzd: request outcome=success\r";
        let out = logged(|| {
            log_answered(
                &serde_json::json!("a\nb"),
                "internal-user-edit",
                Some(&Refusal::Invalid(forged.into())),
                7,
            );
        });
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("refusal=\"Invalid\""), "{out}");
        assert!(out.contains("outcome=\"refused\""), "{out}");
        assert!(out.contains("x\\n2026"), "the newline escaped: {out}");
        let out = logged(|| {
            log_answered(
                &serde_json::json!(1),
                "user-login",
                Some(&Refusal::WrongPassword),
                7,
            );
            log_answered(&serde_json::json!(2), "user-login", None, 7);
        });
        assert_eq!(out.lines().count(), 2, "{out}");
        assert!(out.contains("refusal=\"WrongPassword\""), "{out}");
        assert!(out.contains("outcome=\"success\""), "{out}");
    }

    #[tokio::test]
    async fn a_declared_length_reserves_at_most_a_bounded_buffer() {
        // A client declaring the whole limit and sending a few bytes.
        let limit = 1024 * 1024;
        let read = read_limited(body(&[b"abc"]), Some(limit), limit).await;
        let buf = read.unwrap().unwrap();
        assert_eq!(&buf[..], b"abc");
        assert!(buf.capacity() as u64 <= RESERVE_MAX, "{}", buf.capacity());
        // A small declared length is reserved as it is; past the limit, refused.
        let buf = read_limited(body(&[b"ab", b"cd"]), Some(4), limit).await;
        assert_eq!(&buf.unwrap().unwrap()[..], b"abcd");
        let over = read_limited(body(&[b"abcdef"]), None, 4).await;
        assert!(over.unwrap().is_none());
    }
}
