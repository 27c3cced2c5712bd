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

/// How long a ping may take before it counts as "down": the others wait
/// for the one asking, so a database that hangs must not hang `/health`.
pub const PING_WITHIN: Duration = Duration::from_secs(2);

/// A ping's answer, asked again once it is `CHECK_REUSED_FOR` old, by one
/// caller at a time (the others wait for that answer rather than asking
/// too), and "down" when it does not come within `within`.
pub struct Checked {
    ping: Ping,
    within: Duration,
    last: parking_lot::Mutex<Option<(Instant, bool)>>,
    asking: tokio::sync::Mutex<()>,
}

impl Checked {
    pub fn new(ping: Ping, within: Duration) -> Checked {
        Checked {
            ping,
            within,
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
        let up = tokio::time::timeout(self.within, (self.ping)())
            .await
            .unwrap_or(false);
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::{Checked, Ping};

    fn counting(asked: &Arc<AtomicUsize>, answer: Option<bool>) -> Ping {
        let asked = asked.clone();
        Box::new(move || {
            asked.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move {
                match answer {
                    Some(up) => {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        up
                    }
                    None => std::future::pending().await,
                }
            })
        })
    }

    #[tokio::test]
    async fn sixty_four_checks_at_once_ask_once() {
        let asked = Arc::new(AtomicUsize::new(0));
        let checked = Checked::new(counting(&asked, Some(true)), Duration::from_secs(1));
        let all = futures_util::future::join_all((0..64).map(|_| checked.up())).await;
        assert!(all.into_iter().all(|up| up));
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_ping_that_never_answers_is_down_for_everyone_waiting() {
        let asked = Arc::new(AtomicUsize::new(0));
        let checked = Checked::new(counting(&asked, None), Duration::from_millis(100));
        let started = std::time::Instant::now();
        let all = futures_util::future::join_all((0..8).map(|_| checked.up())).await;
        assert!(all.into_iter().all(|up| !up));
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }
}
