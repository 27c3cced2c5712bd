//! tracing set-up: pretty or JSON lines on stderr. Secrets never reach a log
//! call; personal data goes through `Pii::hash` first.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::config::{Config, LogFormat, LoggingConfig};

/// The target of the per-request lines (`log_requests` switches its INFO
/// lines off); named, not a module path, so moving the code keeps it.
pub const REQUESTS: &str = "authnzd::requests";

/// Installs the global subscriber; a second call (tests) is a no-op.
pub fn init(config: &Config) {
    let filter = EnvFilter::try_new(directive(&config.logging))
        .unwrap_or_else(|_| EnvFilter::new("warn,authnzd=info"));
    // Colours for a person at a terminal only: a file, a pipe or the
    // journal would keep the escape codes as text. NO_COLOR is the
    // convention for turning them off there too.
    let ansi = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match config.logging.log_format {
        LogFormat::Json => builder
            .with_ansi(false)
            .json()
            .flatten_event(true)
            .try_init(),
        LogFormat::Pretty => builder.with_ansi(ansi).compact().try_init(),
    };
}

/// The filter: `log_level` for authnzd and warn for dependencies, or
/// `log_level` itself when it is a whole directive; either way
/// `log_requests = false` caps the request lines at warn.
fn directive(logging: &LoggingConfig) -> String {
    let level = &logging.log_level;
    let mut directive = if level.contains('=') || level.contains(',') {
        level.clone()
    } else {
        format!("warn,authnzd={level}")
    };
    if !logging.log_requests {
        directive.push_str(&format!(",{REQUESTS}=warn"));
    }
    directive
}

/// Display text with control characters escaped (`\n` → `\\n`), for log
/// fields whose text may quote a request (a database error naming a value,
/// a mail server's answer naming the recipient): a newline in it cannot
/// start a line of its own in the log.
pub struct Escaped<T>(pub T);

impl<T: std::fmt::Display> std::fmt::Display for Escaped<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        use std::fmt::Write;
        for c in self.0.to_string().chars() {
            if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') {
                for e in c.escape_default() {
                    f.write_char(e)?;
                }
            } else {
                f.write_char(c)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{Escaped, LoggingConfig, directive};

    #[test]
    fn log_requests_false_caps_the_request_target_at_warn() {
        let mut logging = LoggingConfig::default();
        assert_eq!(directive(&logging), "warn,authnzd=info");
        logging.log_requests = false;
        assert_eq!(
            directive(&logging),
            "warn,authnzd=info,authnzd::requests=warn"
        );
        logging.log_level = "authnzd=debug,sqlx=info".into();
        assert_eq!(
            directive(&logging),
            "authnzd=debug,sqlx=info,authnzd::requests=warn"
        );
    }

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        let text = "duplicate key (x)=(a\nINFO forged\r\u{1b}[31m) caf\u{e9}";
        assert_eq!(
            Escaped(text).to_string(),
            "duplicate key (x)=(a\\nINFO forged\\r\\u{1b}[31m) caf\u{e9}"
        );
        assert!(!Escaped("a\u{2028}b").to_string().contains('\u{2028}'));
    }
}
