//! tracing set-up: pretty or JSON lines on stderr. Secrets never reach a log
//! call; personal data goes through `Pii::hash` first.

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat};

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(config: &Config) {
    // Our own level applies to authnzd; dependencies stay at warn.
    let directive =
        if config.logging.log_level.contains('=') || config.logging.log_level.contains(',') {
            config.logging.log_level.clone()
        } else {
            format!("warn,authnzd={}", config.logging.log_level)
        };
    let filter =
        EnvFilter::try_new(&directive).unwrap_or_else(|_| EnvFilter::new("warn,authnzd=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.logging.log_format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Pretty => builder.compact().try_init(),
    };
}
