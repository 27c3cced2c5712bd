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
}

impl Default for LoggingConfig {
    fn default() -> Self {
        LoggingConfig {
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
        }
    }
}
