//! Request-rate limits with governor (GCRA: a sliding limit that forgets old
//! traffic), per client IP per request group, tighter per action for the
//! sensitive ones, and per address for email actions. IPv6 clients are keyed
//! by their /64. Keyed state is swept by `sweep`, so memory stays bounded
//! under a flood of distinct keys.
//!
//! Configured with authnzerver's string:
//! `"ipaddr:720; user:480; session:600; apikey:720; burst:150"` (per minute),
//! plus optional per-action entries (`"user-login:10"`), or `none`.

mod audits;

pub use audits::RateLimitAudits;

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::Clock;
use governor::middleware::{NoOpMiddleware, StateInformationMiddleware};
use governor::state::keyed::DashMapStateStore;
use governor::{Quota, RateLimiter};
use sha2::{Digest, Sha256};

use super::client_addr::window_key;
use super::rate_window::BurstWindows;
use crate::clock::SharedClock;
use crate::cluster::{Limit, Rate};

/// authnzerver's limits for sensitive actions, per minute.
const ACTION_LIMITS: &[(&str, u32)] = &[
    ("user-new", 5),
    ("user-login", 10),
    ("user-logout", 10),
    ("user-edit", 10),
    ("user-resetpass", 5),
    ("user-changepass", 5),
    ("user-sendemail-signup", 2),
    ("user-sendemail-forgotpass", 2),
    ("user-set-emailsent", 2),
    ("apikey-new", 30),
    ("apikey-new-nosession", 30),
    ("apikey-refresh-nosession", 30),
    ("passwordless-start", 10),
    ("passwordless-finish", 20),
    ("pubkey-challenge-new", 30),
    ("pubkey-register", 10),
    ("pubkey-login", 30),
    ("passkey-register-start", 10),
    ("passkey-register-finish", 10),
    ("passkey-login-start", 30),
    ("passkey-login-finish", 20),
    ("token-refresh", 60),
];

const GROUPS: &[&str] = &[
    "ipaddr", "user", "session", "apikey", "internal", "pubkey", "token", "burst",
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LimitConfigError {
    #[error("`{0}` is not `name:count`")]
    Syntax(String),
    #[error("`{0}` names neither a limit group nor a request type")]
    UnknownName(String),
    #[error("the count for `{0}` must be a whole number from 1")]
    BadCount(String),
}

/// Parsed limits: per-minute counts by group and by action.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub groups: HashMap<String, u32>,
    pub actions: HashMap<String, u32>,
}

impl Limits {
    /// `None` when limiting is off (`none`).
    pub fn parse(
        spec: &str,
        is_request: impl Fn(&str) -> bool,
    ) -> Result<Option<Limits>, LimitConfigError> {
        if spec.trim().eq_ignore_ascii_case("none") {
            return Ok(None);
        }
        let mut groups: HashMap<String, u32> = [
            ("ipaddr", 720),
            ("user", 480),
            ("session", 600),
            ("apikey", 720),
            ("internal", 3000),
            ("pubkey", 300),
            ("token", 600),
            ("burst", 150),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let mut actions: HashMap<String, u32> = ACTION_LIMITS
            .iter()
            .map(|(k, v)| ((*k).to_owned(), *v))
            .collect();
        for part in spec.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, count) = part
                .split_once(':')
                .ok_or_else(|| LimitConfigError::Syntax(part.to_owned()))?;
            let name = name.trim().to_ascii_lowercase();
            let count: u32 = count
                .trim()
                .parse()
                .ok()
                .filter(|c| *c > 0)
                .ok_or_else(|| LimitConfigError::BadCount(name.clone()))?;
            if GROUPS.contains(&name.as_str()) {
                groups.insert(name, count);
            } else if is_request(&name) {
                actions.insert(name, count);
            } else {
                return Err(LimitConfigError::UnknownName(name));
            }
        }
        Ok(Some(Limits { groups, actions }))
    }
}

/// The group a request counts against, as the catalogue says (unknown
/// names count against the per-address group).
fn group_of(request: &str) -> &'static str {
    crate::catalogue::spec(request).map_or("ipaddr", |s| s.group.as_str())
}

/// governor's view of our clock, so tests that move time move limits too.
#[derive(Clone)]
struct LimiterClock(SharedClock);

impl Clock for LimiterClock {
    type Instant = Duration;
    fn now(&self) -> Duration {
        let now = self.0.now();
        Duration::new(
            u64::try_from(now.timestamp()).unwrap_or(0),
            now.timestamp_subsec_nanos(),
        )
    }
}

/// Key: an IPv4 address, an IPv6 /64, or a digest of an email address.
pub type Key = u128;
type Gcra = RateLimiter<Key, DashMapStateStore<Key>, LimiterClock, StateInformationMiddleware>;

/// One limit: GCRA, and burst windows so a burst counts as authnzerver
/// counts it (`rate_window`); `rate` is the same GCRA for Redis.
struct Keyed {
    gcra: Gcra,
    windows: BurstWindows,
    rate: Rate,
    /// Its name in Redis's keys, made once here, not per request.
    name: String,
}

impl Keyed {
    fn new(name: String, per_minute: u32, burst: u32, clock: &LimiterClock) -> Keyed {
        Keyed {
            name,
            gcra: RateLimiter::dashmap_with_clock(quota(per_minute, burst), clock.clone())
                .with_middleware::<StateInformationMiddleware>(),
            windows: BurstWindows::new(per_minute, burst),
            rate: Rate::new(per_minute, Duration::from_secs(60), burst),
        }
    }

    /// Counts a request for `key`; when refused, how long until it would pass.
    fn check_key(&self, key: &Key, now: Duration) -> Result<(), Duration> {
        if let Some(wait) = self.windows.full(*key, now) {
            return Err(wait);
        }
        match self.gcra.check_key(key) {
            Ok(state) => {
                self.windows
                    .record(*key, state.remaining_burst_capacity(), now);
                Ok(())
            }
            Err(not_until) => Err(not_until.wait_time_from(now)),
        }
    }

    fn len(&self) -> usize {
        self.gcra.len() + self.windows.len()
    }
}

/// A refused request: how long until it would pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub retry_after: Duration,
    pub limit: &'static str,
}

pub struct RateLimits {
    by_group: HashMap<&'static str, Keyed>,
    by_action: HashMap<String, Keyed>,
    by_address: HashMap<String, Keyed>,
    clock: LimiterClock,
}

impl std::fmt::Debug for RateLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RateLimits({} keys)", self.keys())
    }
}

fn quota(per_minute: u32, burst: u32) -> Quota {
    let rate = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(rate).allow_burst(burst)
}

impl RateLimits {
    pub fn new(limits: &Limits, clock: SharedClock) -> RateLimits {
        let clock = LimiterClock(clock);
        let burst = limits.groups.get("burst").copied().unwrap_or(150);
        let by_group = [
            "ipaddr", "user", "session", "apikey", "internal", "pubkey", "token",
        ]
        .into_iter()
        .map(|g| {
            let n = limits.groups.get(g).copied().unwrap_or(720);
            (g, Keyed::new(format!("g:{g}"), n, burst, &clock))
        })
        .collect();
        // Sensitive actions get no burst beyond their own rate.
        let by_action = limits
            .actions
            .iter()
            .map(|(a, n)| (a.clone(), Keyed::new(format!("a:{a}"), *n, *n, &clock)))
            .collect();
        let by_address = limits
            .actions
            .iter()
            .filter(|(a, _)| a.contains("email"))
            .map(|(a, n)| (a.clone(), Keyed::new(format!("e:{a}"), *n, *n, &clock)))
            .collect();
        RateLimits {
            by_group,
            by_action,
            by_address,
            clock,
        }
    }

    /// Counts the request against every limit it falls under; the first one
    /// exceeded refuses it.
    pub fn check(
        &self,
        request: &str,
        client_ip: &str,
        address: Option<&str>,
    ) -> Result<(), Refused> {
        let ip = ip_key(client_ip);
        let now = self.clock.now();
        let refused = |limit: &'static str| move |retry_after| Refused { retry_after, limit };
        if let Some(l) = self.by_action.get(request) {
            l.check_key(&ip, now).map_err(refused("action"))?;
        }
        if let (Some(l), Some(addr)) = (self.by_address.get(request), address) {
            l.check_key(&address_key(addr), now)
                .map_err(refused("address"))?;
        }
        let group = group_of(request);
        if let Some(l) = self.by_group.get(group) {
            l.check_key(&ip, now).map_err(refused(group))?;
        }
        Ok(())
    }

    /// The limits `check` would count `request` against, in its order, for
    /// the shared (Redis) limiter: same rates, same keys.
    pub fn plan(&self, request: &str, client_ip: &str, address: Option<&str>) -> Vec<Planned<'_>> {
        let ip = ip_key(client_ip);
        let mut plan = Vec::with_capacity(3);
        if let Some(l) = self.by_action.get(request) {
            plan.push(Planned::new("action", &l.name, ip, l.rate));
        }
        if let (Some(l), Some(addr)) = (self.by_address.get(request), address) {
            let key = address_key(addr);
            plan.push(Planned::new("address", &l.name, key, l.rate));
        }
        let group = group_of(request);
        if let Some(l) = self.by_group.get(group) {
            plan.push(Planned::new(group, &l.name, ip, l.rate));
        }
        plan
    }

    /// Forgets keys whose limits are fully replenished; run on a timer.
    pub fn sweep(&self) {
        let now = self.clock.now();
        for l in self.all() {
            l.gcra.retain_recent();
            l.gcra.shrink_to_fit();
            l.windows.sweep(now);
        }
    }

    /// Keys held now, over all limiters.
    pub fn keys(&self) -> usize {
        self.all().map(|l| l.len()).sum()
    }

    fn all(&self) -> impl Iterator<Item = &Keyed> {
        self.by_group
            .values()
            .chain(self.by_action.values())
            .chain(self.by_address.values())
    }
}

/// A limit `RateLimits::plan` names: `label` as a refusal names it,
/// `limiter` as Redis keys it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned<'a> {
    pub label: &'static str,
    pub limiter: &'a str,
    pub key: Key,
    pub rate: Rate,
}

impl<'a> Planned<'a> {
    fn new(label: &'static str, limiter: &'a str, key: Key, rate: Rate) -> Planned<'a> {
        Planned {
            label,
            limiter,
            key,
            rate,
        }
    }
}

/// One limit per client address (IPv6 by its /64), for the forward-auth
/// endpoint, which has no envelope and no request groups.
pub struct PerClient {
    limiter: RateLimiter<Key, DashMapStateStore<Key>, LimiterClock, NoOpMiddleware<Duration>>,
    clock: LimiterClock,
    rate: Rate,
}

impl std::fmt::Debug for PerClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PerClient({} keys)", self.limiter.len())
    }
}

impl PerClient {
    /// `per_second` checks per address, with a burst of twice that.
    pub fn new(per_second: u32, clock: SharedClock) -> PerClient {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(per_second.saturating_mul(2)).unwrap_or(rate);
        let quota = Quota::per_second(rate).allow_burst(burst);
        let clock = LimiterClock(clock);
        PerClient {
            limiter: RateLimiter::dashmap_with_clock(quota, clock.clone()),
            clock,
            rate: Rate::new(
                rate.get(),
                Duration::from_secs(1),
                per_second.saturating_mul(2),
            ),
        }
    }

    /// This limit for `ip`, as the shared (Redis) limiter counts it.
    pub fn shared_limit(&self, ip: IpAddr) -> Limit<'static> {
        Limit {
            limiter: "gw",
            key: addr_key(ip),
            rate: self.rate,
        }
    }

    /// How long until `ip` may ask again, if it must wait.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), Duration> {
        let now = self.clock.now();
        self.limiter
            .check_key(&addr_key(ip))
            .map_err(|not_until| not_until.wait_time_from(now))
    }

    pub fn sweep(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
    }
}

/// The address's window key (`client_addr::window_key`: IPv4 as is, IPv6
/// by its /64) in v6 space; unparsable text by its digest so it still
/// counts.
fn ip_key(ip: &str) -> Key {
    match ip.trim().parse::<IpAddr>() {
        Ok(ip) => addr_key(ip),
        Err(_) => address_key(ip),
    }
}

fn addr_key(ip: IpAddr) -> Key {
    match window_key(ip) {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().to_bits(),
        IpAddr::V6(v6) => v6.to_bits(),
    }
}

fn address_key(s: &str) -> Key {
    let d = Sha256::digest(s.trim().to_lowercase().as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b) | (1u128 << 127)
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after_secs(d: Duration) -> u64 {
    (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1)
}

#[cfg(test)]
mod tests;
