//! Plain-HTTP operations endpoints: `GET /health` (database reachability
//! and delivery counts) and `GET /metrics` (Prometheus).

use std::sync::Arc;

use serde_json::json;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

/// Asks whether a backing service answers.
pub type Ping = Box<dyn Fn() -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// What `/health` needs: a way to ask whether the database (and Redis, when
/// it is on) answers. The transport never holds the database itself.
pub struct Ops {
    pub version: &'static str,
    pub database_ping: Ping,
    pub redis_ping: Option<Ping>,
    /// Whether requests are refused while Redis is down (a fallback is
    /// `refuse`): then `/health` says 503 too, so a balancer looks elsewhere.
    pub redis_required: bool,
    /// Mail and SMS sent and failed since start.
    pub delivery: Box<dyn Fn() -> serde_json::Value + Send + Sync>,
    /// The metrics' exposition text.
    pub metrics: Box<dyn Fn() -> String + Send + Sync>,
}

/// `GET /metrics`: OpenMetrics text, which Prometheus scrapes as is.
pub fn metrics(
    ops: Arc<Ops>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    warp::any().map(move || {
        let mut res = Response::new((ops.metrics)().into());
        res.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static(
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            ),
        );
        res
    })
}

pub fn health(
    ops: Arc<Ops>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    warp::any().then(move || {
        let ops = ops.clone();
        async move {
            let database = (ops.database_ping)().await;
            let redis = match &ops.redis_ping {
                Some(ping) => Some(ping().await),
                None => None,
            };
            let healthy = database && !(ops.redis_required && redis == Some(false));
            let status = if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = json!({
                "status": if healthy { "ok" } else { "degraded" },
                "version": ops.version,
                "database": database,
                "redis": redis.map(|up| json!({"up": up})),
                "delivery": (ops.delivery)(),
            });
            let mut res = Response::new(body.to_string().into());
            *res.status_mut() = status;
            res.headers_mut().insert(
                warp::http::header::CONTENT_TYPE,
                warp::http::HeaderValue::from_static("application/json"),
            );
            res
        }
    })
}
