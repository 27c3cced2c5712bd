//! Outgoing messages: mail (lettre: SMTP, file or log) and SMS (Twilio,
//! a JSON webhook, file or log), with the message texts from templates.

pub mod mail;
pub mod sms;
pub mod templates;

use std::sync::atomic::{AtomicU64, Ordering};

/// Sends and failures, for `/health` and metrics.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
        })
    }

    pub fn record(&self, ok: bool) {
        let c = if ok { &self.sent } else { &self.failed };
        c.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sends_and_failures_are_counted_apart() {
        let c = Counters::default();
        c.record(true);
        c.record(true);
        c.record(false);
        assert_eq!(c.snapshot(), serde_json::json!({"sent": 2, "failed": 1}));
    }
}
