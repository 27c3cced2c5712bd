//! The transport: our own accept loop (header-read timeout, drain deadline)
//! around warp filters. It hands decrypted requests to the dispatcher and
//! never touches the database itself.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tower_service::Service;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

pub mod ops;
pub mod rpc;

/// A plain-text reply (every non-envelope answer).
pub fn text(status: StatusCode, body: impl Into<String>) -> Response {
    let mut res = Response::new(body.into().into());
    *res.status_mut() = status;
    res.headers_mut().insert(
        warp::http::header::CONTENT_TYPE,
        warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

#[derive(Debug)]
struct HostNotAllowed;
impl warp::reject::Reject for HostNotAllowed {}

/// Refuses `Host` headers not in `allowed_hosts` (DNS-rebinding guard, as
/// authnzerver). The port is ignored; a request without `Host` passes.
fn host_guard(
    allowed: Arc<Vec<String>>,
) -> impl Filter<Extract = (), Error = warp::Rejection> + Clone {
    warp::header::optional::<String>("host")
        .and_then(move |host: Option<String>| {
            let allowed = allowed.clone();
            async move {
                match host {
                    None => Ok(()),
                    Some(h) if allowed.iter().any(|a| *a == host_name(&h)) => Ok(()),
                    Some(_) => Err(warp::reject::custom(HostNotAllowed)),
                }
            }
        })
        .untuple_one()
}

fn host_name(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        return rest.split(']').next().unwrap_or_default().to_owned();
    }
    host.rsplit_once(':')
        .map_or(host.clone(), |(name, _)| name.to_owned())
}

async fn rejection_reply(err: warp::Rejection) -> Result<Response, Infallible> {
    Ok(if err.is_not_found() {
        text(StatusCode::NOT_FOUND, "not found")
    } else if err.find::<HostNotAllowed>().is_some() {
        text(StatusCode::FORBIDDEN, "host not allowed")
    } else if err.find::<warp::reject::MethodNotAllowed>().is_some() {
        text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
    } else {
        text(StatusCode::BAD_REQUEST, "bad request")
    })
}

/// Every route: `POST /` (the RPC), `GET /health`.
pub fn routes(
    rpc: Arc<rpc::Rpc>,
    ops: Arc<ops::Ops>,
    allowed_hosts: Vec<String>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    // Path before method, so an unknown path is 404, not 405.
    let rpc_route = warp::path::end().and(
        warp::post()
            .and(rpc::filter(rpc))
            .or(warp::any().map(|| text(StatusCode::METHOD_NOT_ALLOWED, "use POST / for requests")))
            .unify(),
    );
    let health = warp::path!("health").and(warp::get()).and(ops::health(ops));
    host_guard(Arc::new(allowed_hosts))
        .and(rpc_route.or(health).unify())
        .recover(rejection_reply)
        .unify()
}

/// Timeouts of the accept loop.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_read_timeout: Duration,
    pub drain_timeout: Duration,
}

/// Serves `routes` on `listener` until `shutdown` resolves, then stops
/// accepting, lets in-flight requests finish for up to the drain deadline,
/// and drops whatever is left (a stalled client cannot hold the process).
pub async fn serve<F>(
    listener: TcpListener,
    routes: F,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) where
    F: Filter<Extract = (Response,), Error = Infallible> + Clone + Send + Sync + 'static,
    F::Future: Send,
{
    let service = warp::service(routes);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        .max_buf_size(64 * 1024);
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(limits.header_read_timeout);
    let graceful = GracefulShutdown::new();
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, _peer): (_, SocketAddr) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let svc = service.clone();
                let hyper_svc = hyper::service::service_fn(move |req| {
                    let mut svc = svc.clone();
                    svc.call(req)
                });
                let conn = builder.serve_connection(TokioIo::new(stream), hyper_svc).into_owned();
                let conn = graceful.watch(conn);
                conns.spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    tracing::info!(open = conns.len(), "draining connections");
    if tokio::time::timeout(limits.drain_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            left = conns.len(),
            "drain deadline passed; closing remaining connections"
        );
    }
    conns.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::host_name;

    #[test]
    fn host_names_lose_their_port() {
        assert_eq!(host_name("127.0.0.1:13431"), "127.0.0.1");
        assert_eq!(host_name("LocalHost"), "localhost");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("[::1]"), "::1");
    }
}
