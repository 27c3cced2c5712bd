//! The values read at scrape time (hashing pool, session cache, mail and
//! SMS, the database pool, Redis), encoded as a collector so they are typed
//! and named by prometheus-client like the rest.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// Values read at scrape time from the parts that keep them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Samples {
    /// The runtime's threads serving requests (`worker_threads`).
    pub worker_threads: u64,
    pub hash_workers_busy: u64,
    pub hash_queue_depth: u64,
    pub hashes: u64,
    pub cache_hits: u64,
    pub cache_misses: u64,
    pub mail_sent: u64,
    pub mail_failed: u64,
    pub sms_sent: u64,
    pub sms_failed: u64,
    pub db_pool_size: u64,
    pub db_pool_idle: u64,
    /// With Redis on: whether its last call got an answer, and the calls
    /// that got none since start.
    pub redis: Option<(bool, u64)>,
}

pub(super) type Source = Box<dyn Fn() -> Samples + Send + Sync>;

/// Encodes the sampled values (a collector, so they are typed and named by
/// prometheus-client like the rest).
pub(super) struct Sampled(pub(super) Arc<parking_lot::RwLock<Option<Source>>>);

impl std::fmt::Debug for Sampled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sampled")
    }
}

fn counter(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let c = ConstCounter::new(v);
    c.encode(e.encode_descriptor(name, help, None, c.metric_type())?)
}

fn gauge(e: &mut DescriptorEncoder, name: &str, help: &str, v: u64) -> std::fmt::Result {
    let g = ConstGauge::new(i64::try_from(v).unwrap_or(i64::MAX));
    g.encode(e.encode_descriptor(name, help, None, g.metric_type())?)
}

impl Collector for Sampled {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let s = self.0.read().as_ref().map(|f| f()).unwrap_or_default();
        let e = &mut e;
        gauge(
            e,
            "authnzd_worker_threads",
            "Threads serving requests.",
            s.worker_threads,
        )?;
        gauge(
            e,
            "authnzd_hash_workers_busy",
            "Password hashes running.",
            s.hash_workers_busy,
        )?;
        gauge(
            e,
            "authnzd_hash_queue_depth",
            "Password hashes waiting for a worker.",
            s.hash_queue_depth,
        )?;
        counter(
            e,
            "authnzd_password_hashes",
            "Password hashes computed (checks included).",
            s.hashes,
        )?;
        counter(
            e,
            "authnzd_session_cache_hits",
            "Session lookups answered from the cache.",
            s.cache_hits,
        )?;
        counter(
            e,
            "authnzd_session_cache_misses",
            "Session lookups that went to the database.",
            s.cache_misses,
        )?;
        let looked = s.cache_hits + s.cache_misses;
        let ratio = if looked == 0 {
            0.0
        } else {
            s.cache_hits as f64 / looked as f64
        };
        let g = ConstGauge::new(ratio);
        g.encode(e.encode_descriptor(
            "authnzd_session_cache_hit_ratio",
            "Share of session lookups answered from the cache since start.",
            None,
            g.metric_type(),
        )?)?;
        counter(e, "authnzd_mail_sent", "Mail messages sent.", s.mail_sent)?;
        counter(
            e,
            "authnzd_mail_failed",
            "Mail messages that failed.",
            s.mail_failed,
        )?;
        counter(e, "authnzd_sms_sent", "SMS messages sent.", s.sms_sent)?;
        counter(
            e,
            "authnzd_sms_failed",
            "SMS messages that failed.",
            s.sms_failed,
        )?;
        gauge(
            e,
            "authnzd_db_pool_connections",
            "Database connections open.",
            s.db_pool_size,
        )?;
        let in_use = s.db_pool_size.saturating_sub(s.db_pool_idle);
        gauge(
            e,
            "authnzd_db_pool_in_use",
            "Database connections in use.",
            in_use,
        )?;
        if let Some((up, failures)) = s.redis {
            gauge(
                e,
                "authnzd_redis_up",
                "Whether the last Redis call got an answer.",
                u64::from(up),
            )?;
            counter(
                e,
                "authnzd_redis_failures",
                "Redis calls that got no answer in time (each then fell back as configured).",
                failures,
            )?;
        }
        Ok(())
    }
}
