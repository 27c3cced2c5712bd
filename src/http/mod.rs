//! The transport: our own accept loop (connection cap, header-read and idle
//! timeout, drain deadline) around warp filters. It hands decrypted requests
//! to the dispatcher and never touches the database itself.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

mod accept;
pub mod gateway;
pub mod ops;
pub mod portal;
pub mod rpc;

pub use accept::{Limits, serve};

/// The TCP peer of the connection a request came on (warp's own
/// `addr::remote` is filled only by warp's server, not by this accept loop).
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

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

/// `POST /` taken straight from the connection to the RPC, ahead of warp's
/// filter tree (which the profile showed costing a few µs a request):
/// only the plain case (an allowed or absent `Host`, a readable length);
/// anything else goes through warp's routes, which answer it as before.
pub struct Direct {
    pub rpc: Arc<rpc::Rpc>,
    pub allowed_hosts: Vec<String>,
}

impl Direct {
    /// The declared length (`None` without one) if this request is ours.
    fn takes<B>(&self, req: &hyper::Request<B>) -> Option<Option<u64>> {
        if req.method() != hyper::Method::POST || req.uri().path() != "/" {
            return None;
        }
        let headers = req.headers();
        if let Some(host) = headers.get(hyper::header::HOST) {
            let host = host_name(host.to_str().ok()?);
            if !self.allowed_hosts.contains(&host) {
                return None;
            }
        }
        match headers.get(hyper::header::CONTENT_LENGTH) {
            None => Some(None),
            Some(v) => v.to_str().ok()?.parse::<u64>().ok().map(Some),
        }
    }

    async fn answer(&self, length: Option<u64>, body: hyper::body::Incoming) -> Response {
        use futures_util::StreamExt;
        let data = http_body_util::BodyStream::new(body).filter_map(|frame| {
            std::future::ready(match frame {
                Ok(f) => f.into_data().ok().map(Ok),
                Err(e) => Some(Err(e)),
            })
        });
        self.rpc.exchange(length, data).await
    }
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

/// Every route of the RPC listener: `POST /` (the RPC), `GET /health`,
/// `GET /metrics` when `with_metrics`, and the gateway's unless it has its
/// own listener (`gateway` is `None`).
pub fn routes(
    rpc: Arc<rpc::Rpc>,
    ops: Arc<ops::Ops>,
    gateway: Option<(Arc<gateway::Gateway>, Option<Arc<portal::Portal>>)>,
    allowed_hosts: Vec<String>,
    with_metrics: bool,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    // Path before method, so an unknown path is 404, not 405.
    let rpc_route = warp::path::end().and(
        warp::post()
            .and(rpc::filter(rpc))
            .or(warp::any().map(|| text(StatusCode::METHOD_NOT_ALLOWED, "use POST / for requests")))
            .unify(),
    );
    let health = warp::path!("health")
        .and(warp::get())
        .and(ops::health(ops.clone()));
    let metrics = warp::path!("metrics")
        .and(warp::get())
        .and(warp::any().and_then(move || async move {
            if with_metrics {
                Ok(())
            } else {
                Err(warp::reject::not_found())
            }
        }))
        .untuple_one()
        .and(ops::metrics(ops));
    let (gateway, portal) = match gateway {
        Some((g, p)) => (Some(g), p),
        None => (None, None),
    };
    host_guard(Arc::new(allowed_hosts))
        .and(
            rpc_route
                .or(health)
                .unify()
                .or(gateway::routes(gateway))
                .unify()
                .or(portal::routes(portal))
                .unify()
                .or(metrics)
                .unify(),
        )
        .recover(rejection_reply)
        .unify()
}

/// The routes of a separate gateway listener (`gateway_listen`): forward-auth,
/// JWKS and `/health`, for proxies; no RPC. No host guard: the proxy names
/// whatever upstream host it was configured with.
pub fn gateway_routes(
    gateway: Arc<gateway::Gateway>,
    portal: Option<Arc<portal::Portal>>,
    ops: Arc<ops::Ops>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    let health = warp::path!("health").and(warp::get()).and(ops::health(ops));
    gateway::routes(Some(gateway))
        .or(health)
        .unify()
        .or(portal::routes(portal))
        .unify()
        .recover(rejection_reply)
        .unify()
}

/// The routes of `metrics_listen`: `GET /metrics` only.
pub fn metrics_routes(
    ops: Arc<ops::Ops>,
) -> impl Filter<Extract = (Response,), Error = Infallible> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(ops::metrics(ops))
        .recover(rejection_reply)
        .unify()
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
