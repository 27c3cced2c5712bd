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
    use super::Escaped;

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
