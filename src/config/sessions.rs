//! Sessions: how long they last and how long a lookup stays cached.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SessionsConfig {
    /// Default session lifetime in days (authnzerver's `sessionexpiry`).
    pub session_expiry_days: u32,
    /// Seconds a session lookup stays cached.
    pub session_cache_ttl: u64,
    /// Most sessions cached.
    pub session_cache_entries: u64,
    /// Seconds after a sign-in with all of the user's factors in which the
    /// session may add a credential (a device key now, passkeys and the
    /// portal's pages next); later it must sign in again.
    pub fresh_sign_in_window: u64,
    /// Cache invalidations waiting to be published to other processes, at
    /// most; past it the others are told to drop everything.
    pub invalidation_outbox: u64,
}

impl Default for SessionsConfig {
    fn default() -> Self {
        SessionsConfig {
            session_expiry_days: 30,
            session_cache_ttl: 60,
            session_cache_entries: 100_000,
            fresh_sign_in_window: 600,
            invalidation_outbox: 10_000,
        }
    }
}
