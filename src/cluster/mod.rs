//! Shared fast state in Redis (`redis_url`, off by default): the replay
//! guard and the rate limits, so that several processes behind one balancer
//! refuse a replay and count a client's requests as one process would.
//!
//! One request costs one round trip: a Lua script (`admit.lua`) takes the
//! replay key and counts every limit the request falls under, atomically.
//! Each call has its own deadline; what a failure does is the caller's
//! choice (`security::admission`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::crypto::Keyed;

/// Why Redis could not decide.
#[derive(Debug, thiserror::Error)]
pub enum SharedError {
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    #[error("redis did not answer within {0} ms")]
    Timeout(u64),
    #[error("redis answered {0:?}, not an admission")]
    Unexpected(Vec<i64>),
}

/// A rate as GCRA counts it: one request per `interval`, `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval_us: u64,
    tolerance_us: u64,
}

impl Rate {
    /// `count` requests per `per`, up to `burst` at once (both at least 1).
    pub fn new(count: u32, per: Duration, burst: u32) -> Rate {
        let per_us = u64::try_from(per.as_micros()).unwrap_or(u64::MAX);
        let interval_us = (per_us / u64::from(count.max(1))).max(1);
        Rate {
            interval_us,
            tolerance_us: interval_us.saturating_mul(u64::from(burst.max(1))),
        }
    }
}

/// One limit a request is counted against: which (`limiter`, a fixed name
/// such as `action:user-login`), whose (`key`), and how fast.
#[derive(Debug, Clone, Copy)]
pub struct Limit<'a> {
    pub limiter: &'a str,
    pub key: u128,
    pub rate: Rate,
}

/// What Redis decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Admitted,
    /// The request token was seen before, by some process.
    Replayed,
    /// Limit number `index` (of those given) refused it for `wait`.
    Limited {
        index: usize,
        wait: Duration,
    },
}

/// The connection settings (`config::RedisConfig` holds the operator's).
pub struct Settings<'a> {
    pub url: &'a str,
    pub key_prefix: &'a str,
    pub timeout: Duration,
    /// Keys the limit keys (client addresses, address digests) so Redis
    /// holds no personal data.
    pub keyed: Keyed,
}

pub struct Shared {
    conn: ConnectionManager,
    prefix: String,
    timeout: Duration,
    keyed: Keyed,
    script: redis::Script,
    /// Whether the last call got an answer (`/health`).
    up: AtomicBool,
    failures: AtomicU64,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may hold a password: never shown.
        write!(f, "Shared(prefix {:?}, up {})", self.prefix, self.is_up())
    }
}

impl Shared {
    /// Connects lazily: a Redis that is down at start is a failure of the
    /// first calls, not of the start, and is reconnected to with backoff.
    pub fn connect(s: Settings<'_>) -> Result<Shared, SharedError> {
        let client = redis::Client::open(s.url)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(s.timeout))
            .set_response_timeout(Some(s.timeout))
            .set_number_of_retries(2)
            .set_max_delay(Duration::from_secs(1));
        let conn = ConnectionManager::new_lazy_with_config(client, config)?;
        Ok(Shared {
            conn,
            prefix: s.key_prefix.to_owned(),
            timeout: s.timeout,
            keyed: s.keyed,
            script: redis::Script::new(include_str!("admit.lua")),
            up: AtomicBool::new(true),
            failures: AtomicU64::new(0),
        })
    }

    /// Takes the replay key (`stamp`: the request token's timestamp and tag,
    /// remembered for `replay_ttl`) and counts `limits`, in one round trip.
    pub async fn admit(
        &self,
        stamp: Option<(u64, u128)>,
        replay_ttl: Duration,
        limits: &[Limit<'_>],
    ) -> Result<Verdict, SharedError> {
        let mut call = self.script.prepare_invoke();
        match stamp {
            Some((timestamp, tag)) => call.key(format!("{}:r:{timestamp}:{tag:032x}", self.prefix)),
            None => call.key(""),
        };
        call.arg(
            u64::try_from(replay_ttl.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
        );
        for l in limits {
            call.key(format!(
                "{}:l:{}:{}",
                self.prefix,
                l.limiter,
                self.keyed.hex(&format!("{:032x}", l.key))
            ));
            call.arg(l.rate.interval_us).arg(l.rate.tolerance_us);
        }
        let mut conn = self.conn.clone();
        let answer = tokio::time::timeout(self.timeout, call.invoke_async::<Vec<i64>>(&mut conn))
            .await
            .map_err(|_| SharedError::Timeout(self.millis()))
            .and_then(|r| r.map_err(SharedError::from));
        let answer = self.noted(answer)?;
        match answer.as_slice() {
            [0] => Ok(Verdict::Admitted),
            [-1] => Ok(Verdict::Replayed),
            [k, wait_us] if *k >= 1 && usize::try_from(*k).is_ok_and(|k| k <= limits.len()) => {
                Ok(Verdict::Limited {
                    index: usize::try_from(*k - 1).unwrap_or(0),
                    wait: Duration::from_micros(u64::try_from(*wait_us).unwrap_or(0)),
                })
            }
            _ => Err(SharedError::Unexpected(answer)),
        }
    }

    /// Whether Redis answers a `PING` now (`/health`).
    pub async fn ping(&self) -> bool {
        let mut conn = self.conn.clone();
        let answer = tokio::time::timeout(
            self.timeout,
            redis::cmd("PING").query_async::<String>(&mut conn),
        )
        .await
        .map_err(|_| SharedError::Timeout(self.millis()))
        .and_then(|r| r.map_err(SharedError::from));
        self.noted(answer).is_ok()
    }

    /// Whether the last call got an answer.
    pub fn is_up(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }

    /// Calls that got no answer since start.
    pub fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn noted<T>(&self, r: Result<T, SharedError>) -> Result<T, SharedError> {
        let was_up = self.up.swap(r.is_ok(), Ordering::Relaxed);
        match &r {
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                if was_up {
                    tracing::error!(error = %e, "redis unreachable");
                }
            }
            Ok(_) if !was_up => tracing::warn!("redis answers again"),
            Ok(_) => {}
        }
        r
    }

    fn millis(&self) -> u64 {
        u64::try_from(self.timeout.as_millis()).unwrap_or(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_are_intervals_and_tolerances() {
        let r = Rate::new(60, Duration::from_secs(60), 10);
        assert_eq!(r.interval_us, 1_000_000);
        assert_eq!(r.tolerance_us, 10_000_000);
        let r = Rate::new(100, Duration::from_secs(1), 200);
        assert_eq!(r.interval_us, 10_000);
        assert_eq!(r.tolerance_us, 2_000_000);
        // Degenerate counts stay at least one request per period, never a
        // division by zero.
        let r = Rate::new(0, Duration::from_secs(1), 0);
        assert_eq!(r.interval_us, 1_000_000);
        assert_eq!(r.tolerance_us, 1_000_000);
        let r = Rate::new(u32::MAX, Duration::from_millis(1), u32::MAX);
        assert_eq!(r.interval_us, 1);
    }
}
