//! Failed logins: when an account locks, for how long, and the delay that
//! slows guessing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LockoutConfig {
    /// Failed logins before an account locks.
    pub user_lock_tries: u32,
    /// Seconds an account stays locked.
    pub user_lock_time: u64,
    /// Milliseconds the answer to a first failed login waits; each further
    /// failure waits 1.5 times longer, up to 40 times this (0: no delay).
    pub failed_login_delay_ms: u64,
}

impl Default for LockoutConfig {
    fn default() -> Self {
        LockoutConfig {
            user_lock_tries: 10,
            user_lock_time: 3600,
            failed_login_delay_ms: 1000,
        }
    }
}
