//! Which rate-limit hits are worth an audit row: a flood of refused
//! requests writes one row a minute per client and limit, not one per
//! request.

use std::time::Duration;

/// How often one client is audited for hitting one limit.
const EVERY: Duration = Duration::from_secs(60);

/// Clients recently audited for a rate-limit hit (bounded).
#[derive(Debug)]
pub struct RateLimitAudits(moka::sync::Cache<(String, &'static str), ()>);

impl Default for RateLimitAudits {
    fn default() -> Self {
        RateLimitAudits(
            moka::sync::Cache::builder()
                .max_capacity(10_000)
                .time_to_live(EVERY)
                .build(),
        )
    }
}

impl RateLimitAudits {
    /// True for the first hit of `limit` by the client keyed `ip` in a
    /// minute (the caller audits it); false while that hit is remembered.
    pub fn first_in_window(&self, ip: String, limit: &'static str) -> bool {
        self.0.entry((ip, limit)).or_insert(()).is_fresh()
    }
}
