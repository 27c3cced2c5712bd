//! Passwordless sign-in: the magic link, how long codes live, and how often
//! they may be sent.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordlessConfig {
    /// The page a magic link opens; `?token=…` is appended.
    pub passwordless_link_base_url: String,
    /// Seconds a one-time code and link stay valid.
    pub passwordless_ttl: u64,
    /// Sends allowed per address per `passwordless_address_window` seconds.
    pub passwordless_per_address: u32,
    pub passwordless_address_window: u64,
    /// Sends allowed per client IP per `passwordless_ip_window` seconds.
    pub passwordless_per_ip: u32,
    pub passwordless_ip_window: u64,
    /// Milliseconds every `passwordless-start` that passes its checks takes
    /// at least, whether it sends or not (codes are sent after the answer).
    pub passwordless_min_answer_ms: u64,
}

impl Default for PasswordlessConfig {
    fn default() -> Self {
        PasswordlessConfig {
            passwordless_link_base_url: "http://localhost/login/magic".into(),
            passwordless_ttl: 900,
            passwordless_per_address: 3,
            passwordless_address_window: 12 * 3600,
            passwordless_per_ip: 10,
            passwordless_ip_window: 24 * 3600,
            passwordless_min_answer_ms: 500,
        }
    }
}
