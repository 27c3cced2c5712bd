//! Limits: the request rate limits and the permissions policy (which also
//! holds the per-role limits).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::Config;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LimitsConfig {
    /// authnzerver's rate-limit string, or `none`.
    pub rate_limits: String,
    /// Path to a permissions policy JSON file; the built-in default if unset.
    pub permissions: Option<PathBuf>,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            rate_limits: "ipaddr:720; user:480; session:600; apikey:720; burst:150".into(),
            permissions: None,
        }
    }
}

impl LimitsConfig {
    /// Whether per-IP rate limiting is on (and so `client_ipaddr` required).
    pub fn rate_limiting(&self) -> bool {
        !self.rate_limits.trim().eq_ignore_ascii_case("none")
    }
}

impl Config {
    /// Whether per-IP rate limiting is on (and so `client_ipaddr` required).
    pub fn rate_limiting(&self) -> bool {
        self.limits.rate_limiting()
    }
}
