//! Outgoing messages: mail (lettre: SMTP, file or log) and SMS (Twilio,
//! a JSON webhook, file or log), with the message texts from templates.

pub mod mail;
pub mod sms;
pub mod templates;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Sends and failures, for logs and metrics, and how long a successful send
/// typically takes (so requests that send nothing can take as long).
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    /// Moving average of successful send times, in microseconds.
    typical_micros: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> serde_json::Value {
        serde_json::json!({
            "sent": self.sent.load(Ordering::Relaxed),
            "failed": self.failed.load(Ordering::Relaxed),
        })
    }

    pub fn record(&self, ok: bool, took: Duration) {
        let c = if ok { &self.sent } else { &self.failed };
        c.fetch_add(1, Ordering::Relaxed);
        if ok {
            let sample = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
            let old = self.typical_micros.load(Ordering::Relaxed);
            // An exponential moving average over about eight sends; the first
            // send seeds it. Racing updates lose a sample, which is harmless.
            let new = if old == 0 {
                sample
            } else {
                old - old / 8 + sample / 8
            };
            self.typical_micros.store(new, Ordering::Relaxed);
        }
    }

    /// How long a successful send typically takes (zero before the first).
    pub fn typical(&self) -> Duration {
        Duration::from_micros(self.typical_micros.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typical_send_time_follows_successes_only() {
        let c = Counters::default();
        assert_eq!(c.typical(), Duration::ZERO);
        c.record(true, Duration::from_millis(80));
        assert_eq!(c.typical(), Duration::from_millis(80));
        for _ in 0..100 {
            c.record(true, Duration::from_millis(40));
        }
        let t = c.typical().as_secs_f64();
        assert!((t - 0.040).abs() < 0.001, "{t}");
        c.record(false, Duration::from_secs(10));
        assert!(
            (c.typical().as_secs_f64() - t).abs() < 1e-9,
            "a failure moved it"
        );
        assert_eq!(c.sent.load(Ordering::Relaxed), 101);
        assert_eq!(c.failed.load(Ordering::Relaxed), 1);
    }
}
