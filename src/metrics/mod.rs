//! Prometheus metrics (prometheus-client, OpenMetrics text): requests by
//! type and outcome, latency per type, rate-limit rejections, lockouts,
//! envelope rejections and the transport's connection counts, plus values
//! sampled at scrape time (hashing pool, session cache, mail / SMS, the
//! database pool).
//!
//! The hot path allocates nothing: every request type's counters and
//! histogram are made at start-up and found by one hash lookup; a count is
//! an atomic add.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

mod sampled;

pub use sampled::Samples;
use sampled::{Sampled, Source};

/// How a handled request ended, as `outcome` labels it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// `success: true`.
    Ok,
    /// `success: false` (refused, bad parameters, unknown request).
    Refused,
    /// Over a rate limit: 429.
    Limited,
    /// Could not be handled: 503.
    Fault,
}

impl Outcome {
    const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Refused,
        Outcome::Limited,
        Outcome::Fault,
    ];

    fn label(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::Limited => "limited",
            Outcome::Fault => "fault",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Why a request never reached the dispatcher.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejected {
    /// 401: not Fernet, wrong key, tampered, expired or replayed.
    Unauthenticated,
    /// 400: not a well-formed envelope.
    BadEnvelope,
    /// 413.
    TooLarge,
    /// 408: the body did not arrive within `body_read_timeout`.
    BodyDeadline,
}

impl Rejected {
    const ALL: [Rejected; 4] = [
        Rejected::Unauthenticated,
        Rejected::BadEnvelope,
        Rejected::TooLarge,
        Rejected::BodyDeadline,
    ];

    fn label(self) -> &'static str {
        match self {
            Rejected::Unauthenticated => "unauthenticated",
            Rejected::BadEnvelope => "bad_envelope",
            Rejected::TooLarge => "too_large",
            Rejected::BodyDeadline => "body_deadline",
        }
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestOutcome {
    request: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabel {
    request: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabel {
    limit: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: &'static str,
}

/// One request type's counters (by outcome) and latency histogram.
#[derive(Debug)]
struct PerRequest {
    outcomes: [Counter; 4],
    latency: Histogram,
}

/// The transport's counts, shared with the accept loop.
#[derive(Debug, Default)]
pub struct Transport {
    /// Connections open now.
    pub open: Gauge,
    /// Times the accept loop stopped accepting at `max_connections`.
    pub at_cap: Counter,
}

/// Cache invalidations shared with other processes (see `instances`).
#[derive(Debug, Default)]
pub struct Invalidations {
    /// Invalidations written to the log.
    pub published: Counter,
    /// Batches the log refused after every retry.
    pub publish_failed: Counter,
    /// Invalidations the outbox had no room for.
    pub outbox_full: Counter,
    /// "Drop everything" published in their place.
    pub flush_all_published: Counter,
    /// Other processes' invalidations applied here.
    pub applied: Counter,
    /// Whole-cache flushes here: told to, fell behind the log, listener
    /// reconnected, too many ids missing.
    pub flushes: Counter,
}

pub struct Metrics {
    registry: Registry,
    per_request: HashMap<&'static str, PerRequest>,
    /// Requests whose name is not in the catalogue.
    unknown: PerRequest,
    rate_limited: Family<LimitLabel, Counter>,
    rejected: [Counter; 4],
    pub lockouts: Counter,
    pub transport: Arc<Transport>,
    pub invalidations: Invalidations,
    source: Arc<parking_lot::RwLock<Option<Source>>>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics(..)")
    }
}

/// Latency buckets: 100 µs to about 6.5 s, doubling.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0001, 2.0, 17))
}

impl Metrics {
    /// Every request type's metrics, made once.
    pub fn new(requests: impl Iterator<Item = &'static str>, version: &'static str) -> Metrics {
        let mut registry = Registry::default();
        let requests_total = Family::<RequestOutcome, Counter>::default();
        let latency = Family::<RequestLabel, Histogram>::new_with_constructor(
            latency_histogram as fn() -> Histogram,
        );
        let make = |request: &'static str| PerRequest {
            outcomes: Outcome::ALL.map(|o| {
                requests_total
                    .get_or_create(&RequestOutcome {
                        request,
                        outcome: o.label(),
                    })
                    .clone()
            }),
            latency: latency.get_or_create(&RequestLabel { request }).clone(),
        };
        let per_request: HashMap<_, _> = requests.map(|r| (r, make(r))).collect();
        let unknown = make("(unknown)");
        registry.register(
            "authnzd_requests",
            "Requests handled, by request type and outcome.",
            requests_total,
        );
        registry.register(
            "authnzd_request_duration_seconds",
            "Time from the opened envelope to the answer, by request type.",
            latency,
        );
        let rate_limited = Family::<LimitLabel, Counter>::default();
        registry.register(
            "authnzd_rate_limited",
            "Requests refused by a rate limit, by limit (group, action or address).",
            rate_limited.clone(),
        );
        let rejected_family = Family::<ReasonLabel, Counter>::default();
        let rejected = Rejected::ALL.map(|r| {
            rejected_family
                .get_or_create(&ReasonLabel { reason: r.label() })
                .clone()
        });
        registry.register(
            "authnzd_rejected",
            "Requests refused before dispatch, by reason.",
            rejected_family,
        );
        let lockouts = Counter::default();
        registry.register(
            "authnzd_lockouts",
            "Accounts locked after repeated failures.",
            lockouts.clone(),
        );
        let invalidations = Invalidations::default();
        for (name, help, c) in [
            (
                "authnzd_invalidations_published",
                "Cache invalidations written to the log for other processes.",
                &invalidations.published,
            ),
            (
                "authnzd_invalidation_publish_failed",
                "Batches of cache invalidations not written after every retry.",
                &invalidations.publish_failed,
            ),
            (
                "authnzd_invalidation_outbox_full",
                "Cache invalidations the outbox had no room for.",
                &invalidations.outbox_full,
            ),
            (
                "authnzd_invalidation_flush_all_published",
                "Flush-everything messages published for lost invalidations.",
                &invalidations.flush_all_published,
            ),
            (
                "authnzd_invalidations_applied",
                "Other processes' cache invalidations applied.",
                &invalidations.applied,
            ),
            (
                "authnzd_session_cache_flushes",
                "Whole session-cache flushes (invalidations may have been missed).",
                &invalidations.flushes,
            ),
        ] {
            registry.register(name, help, c.clone());
        }
        let transport = Arc::new(Transport::default());
        registry.register(
            "authnzd_connections_open",
            "Connections open now.",
            transport.open.clone(),
        );
        registry.register(
            "authnzd_connections_at_cap",
            "Times new connections were left in the backlog at max_connections.",
            transport.at_cap.clone(),
        );
        registry.register(
            "authnzd_build",
            "Build information.",
            Info::new(vec![("version", version)]),
        );
        let source = Arc::new(parking_lot::RwLock::new(None));
        registry.register_collector(Box::new(Sampled(source.clone())));
        Metrics {
            registry,
            per_request,
            unknown,
            rate_limited,
            rejected,
            lockouts,
            transport,
            invalidations,
            source,
        }
    }

    /// Where scrape-time values come from (set once the parts exist).
    pub fn set_source(&self, source: impl Fn() -> Samples + Send + Sync + 'static) {
        *self.source.write() = Some(Box::new(source));
    }

    /// Counts a handled request of type `request` and its latency.
    pub fn request(&self, request: &str, outcome: Outcome, took: Duration) {
        let m = self.per_request.get(request).unwrap_or(&self.unknown);
        m.outcomes[outcome.index()].inc();
        m.latency.observe(took.as_secs_f64());
    }

    pub fn rate_limited(&self, limit: &'static str) {
        self.rate_limited.get_or_create(&LimitLabel { limit }).inc();
    }

    pub fn rejected(&self, why: Rejected) {
        self.rejected[why as usize].inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(error = %e, "metrics not encoded");
        }
        out
    }
}
