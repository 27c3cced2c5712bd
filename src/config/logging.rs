//! Logging: format and filter.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LoggingConfig {
    pub log_format: LogFormat,
    /// tracing filter directive, e.g. `info` or `authnzd=debug`.
    pub log_level: String,
    /// The INFO line of each answered or refused request (target
    /// `authnzd::requests`); `false` keeps only that target's warnings and
    /// errors, whatever `log_level` lets through elsewhere.
    pub log_requests: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            log_requests: true,
        }
    }
}
