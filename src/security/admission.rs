//! Whether a request may go on: not a replay, and under every rate limit it
//! falls under. Decided in this process (`rate_limit`, and the envelope's
//! own replay memory), or, with `redis_url` set, for every process at once
//! (`cluster`), falling back as the operator chose when Redis is down.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use super::rate_limit::{PerClient, RateLimits, Refused};
use crate::clock::Clock;
use crate::cluster::{Limit, Shared, SharedError, Verdict};
use crate::config::Fallback;

/// Why a request may not go on.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("request token seen before")]
    Replayed,
    #[error("over the {} limit", .0.limit)]
    Limited(Refused),
    /// Redis did not answer and the operator chose to refuse then.
    #[error("shared state unavailable: {0}")]
    Unavailable(SharedError),
}

/// Redis and what to do without it.
pub struct SharedPolicy {
    pub redis: Arc<Shared>,
    /// `request_ttl`: a token is remembered until it expires.
    pub request_ttl: u64,
    pub replay_fallback: Fallback,
    pub limits_fallback: Fallback,
}

pub struct Admission {
    local: Option<Arc<RateLimits>>,
    shared: Option<SharedPolicy>,
}

impl Admission {
    /// `limits`: the configured limits (`None`: off); `shared`: Redis.
    pub fn new(limits: Option<Arc<RateLimits>>, shared: Option<SharedPolicy>) -> Admission {
        Admission {
            local: limits,
            shared,
        }
    }

    /// Decides for `request` from `client_ip` (and, for email actions, the
    /// `address` it concerns). `stamp` is the request token's timestamp and
    /// tag, for the shared replay check (the envelope has already checked
    /// this process's memory); the portal has none.
    pub async fn admit(
        &self,
        stamp: Option<(u64, u128)>,
        request: &str,
        client_ip: &str,
        address: Option<&str>,
    ) -> Result<(), Denied> {
        let Some(shared) = &self.shared else {
            return self.local(request, client_ip, address);
        };
        let plan = self
            .local
            .as_ref()
            .map(|l| l.plan(request, client_ip, address))
            .unwrap_or_default();
        if stamp.is_none() && plan.is_empty() {
            return Ok(());
        }
        let limits: Vec<Limit<'_>> = plan
            .iter()
            .map(|p| Limit {
                limiter: p.limiter,
                key: p.key,
                rate: p.rate,
            })
            .collect();
        // Kept until the token expires (a minute more for one stamped
        // ahead, as Fernet allows): Redis holds the rate times the TTL.
        let keep = stamp.map_or(Duration::ZERO, |(timestamp, _)| {
            let now = crate::clock::SystemClock.unix();
            Duration::from_secs(
                timestamp
                    .saturating_add(shared.request_ttl)
                    .saturating_add(1)
                    .saturating_sub(now)
                    .max(1),
            )
        });
        match shared.redis.admit(stamp, keep, &limits).await {
            Ok(Verdict::Admitted) => Ok(()),
            Ok(Verdict::Replayed) => Err(Denied::Replayed),
            Ok(Verdict::Limited { index, wait }) => Err(Denied::Limited(Refused {
                retry_after: wait,
                limit: plan.get(index).map_or("ipaddr", |p| p.label),
            })),
            Err(e) => {
                let refuse = (stamp.is_some() && shared.replay_fallback == Fallback::Refuse)
                    || (!plan.is_empty() && shared.limits_fallback == Fallback::Refuse);
                if refuse {
                    Err(Denied::Unavailable(e))
                } else {
                    self.local(request, client_ip, address)
                }
            }
        }
    }

    fn local(&self, request: &str, client_ip: &str, address: Option<&str>) -> Result<(), Denied> {
        match &self.local {
            Some(l) => l
                .check(request, client_ip, address)
                .map_err(Denied::Limited),
            None => Ok(()),
        }
    }
}

/// One limit per client address (the forward-auth endpoint's), shared
/// through Redis when it is on.
pub struct ClientLimit {
    local: PerClient,
    shared: Option<(Arc<Shared>, Fallback)>,
}

/// Why a forward-auth check may not go on.
#[derive(Debug)]
pub enum ClientDenied {
    Wait(Duration),
    Unavailable,
}

impl ClientLimit {
    pub fn new(local: PerClient, shared: Option<(Arc<Shared>, Fallback)>) -> ClientLimit {
        ClientLimit { local, shared }
    }

    pub async fn check(&self, ip: IpAddr) -> Result<(), ClientDenied> {
        let Some((redis, fallback)) = &self.shared else {
            return self.local.check_ip(ip).map_err(ClientDenied::Wait);
        };
        let limit = self.local.shared_limit(ip);
        match redis.admit(None, Duration::ZERO, &[limit]).await {
            Ok(Verdict::Limited { wait, .. }) => Err(ClientDenied::Wait(wait)),
            Ok(_) => Ok(()),
            Err(_) if *fallback == Fallback::Refuse => Err(ClientDenied::Unavailable),
            Err(_) => self.local.check_ip(ip).map_err(ClientDenied::Wait),
        }
    }

    pub fn sweep(&self) {
        self.local.sweep();
    }
}
