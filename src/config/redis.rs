//! Redis as the shared fast state of several processes (`cluster`): the
//! replay guard and the rate limits. Off unless `redis_url` is set.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::secret::{ExposeSecret, SecretString};

/// What a process does when Redis does not answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Fallback {
    /// Refuse the request with a 503 (the client may retry).
    Refuse,
    /// Decide in this process alone (its own replay memory, its own limits).
    Local,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RedisConfig {
    /// `redis://[:password@]host:port/db` (or `rediss://`); unset: every
    /// process keeps its own replay memory and limits.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub redis_url: Option<SecretString>,
    /// Every key this server writes starts with it, so clusters can share
    /// one Redis.
    pub redis_key_prefix: String,
    /// The longest wait for one Redis call, ms.
    pub redis_timeout_ms: u64,
    /// Redis down, a request's replay check: `refuse` (503) or `local`.
    pub redis_replay_fallback: Fallback,
    /// Redis down, a request's rate limits: `local` or `refuse` (503).
    pub redis_limits_fallback: Fallback,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            redis_url: None,
            redis_key_prefix: "authnzd".into(),
            redis_timeout_ms: 250,
            redis_replay_fallback: Fallback::Refuse,
            redis_limits_fallback: Fallback::Local,
        }
    }
}

impl RedisConfig {
    /// The URL, if one is set (blank counts as unset).
    pub fn url(&self) -> Option<&str> {
        self.redis_url
            .as_ref()
            .map(|u| u.expose_secret().trim())
            .filter(|u| !u.is_empty())
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if let Some(url) = self.url()
            && redis::parse_redis_url(url).is_none()
        {
            return Err(ConfigError::invalid(
                "redis_url",
                "must be a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379/0",
            ));
        }
        let p = &self.redis_key_prefix;
        if p.is_empty()
            || p.len() > 64
            || !p
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        {
            return Err(ConfigError::invalid(
                "redis_key_prefix",
                "must be 1 to 64 letters, digits, `-`, `_`, `.` or `:`",
            ));
        }
        Ok(())
    }
}
