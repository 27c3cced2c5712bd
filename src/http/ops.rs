//! Plain-HTTP operations endpoints: `GET /health` (database reachability
//! and delivery counts) and `GET /metrics` (Prometheus).

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use warp::Filter;
use warp::http::StatusCode;
use warp::reply::Response;

/// Asks whether a backing service answers.
pub type Ping = Box<dyn Fn() -> futures_util::future::BoxFuture<'static, bool> + Send + Sync>;

/// How long a check's answer is reused: a balancer polling `/health` many
/// times a second costs one query a second, and a database that went away
/// shows within a second.
pub const CHECK_REUSED_FOR: Duration = Duration::from_secs(1);

/// A ping's answer, asked again once it is `CHECK_REUSED_FOR` old, by one
/// caller at a time (the others wait for that answer rather than asking too).
pub struct Checked {
    ping: Ping,
    last: parking_lot::Mutex<Option<(Instant, bool)>>,
    asking: tokio::sync::Mutex<()>,
}

impl Checked {
    pub fn new(ping: Ping) -> Checked {
        Checked {
            ping,
            last: parking_lot::Mutex::new(None),
            asking: tokio::sync::Mutex::new(()),
        }
    }

    fn recent(&self) -> Option<bool> {
        let last = *self.last.lock();
        last.filter(|(at, _)| at.elapsed() < CHECK_REUSED_FOR)
            .map(|(_, up)| up)
    }

    pub async fn up(&self) -> bool {
        if let Some(up) = self.recent() {
            return up;
        }
        let _asking = self.asking.lock().await;
        if let Some(up) = self.recent() {
            return up;
        }
        let up = (self.ping)().await;
        *self.last.lock() = Some((Instant::now(), up));
        up
    }
}

/// What `/health` needs: a way to ask whether the database (and Redis, when
/// it is on) answers. The transport never holds the database itself.
pub struct Ops {
    pub version: &'static str,
    pub database: Checked,
    pub redis: Option<Checked>,
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

#[derive(Serialize)]
struct Health<'a> {
    status: &'static str,
    version: &'a str,
    database: bool,
    redis: Option<RedisUp>,
    delivery: serde_json::Value,
}

#[derive(Serialize)]
struct RedisUp {
    up: bool,
}

pub fn health(
    ops: Arc<Ops>,
) -> impl Filter<Extract = (Response,), Error = std::convert::Infallible> + Clone {
    warp::any().then(move || {
        let ops = ops.clone();
        async move {
            let database = ops.database.up().await;
            let redis = match &ops.redis {
                Some(r) => Some(r.up().await),
                None => None,
            };
            let healthy = database && !(ops.redis_required && redis == Some(false));
            let status = if healthy {
                StatusCode::OK
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            };
            let body = Health {
                status: if healthy { "ok" } else { "degraded" },
                version: ops.version,
                database,
                redis: redis.map(|up| RedisUp { up }),
                delivery: (ops.delivery)(),
            };
            let mut res = Response::new(serde_json::to_vec(&body).unwrap_or_default().into());
            *res.status_mut() = status;
            res.headers_mut().insert(
                warp::http::header::CONTENT_TYPE,
                warp::http::HeaderValue::from_static("application/json"),
            );
            res
        }
    })
}
