//! Hashing personal data (IP addresses, emails, user agents) before it
//! reaches a log line, so logs can correlate without holding the data: a
//! short keyed digest under the PII salt (`crypto::Salted`).

pub use crate::crypto::Salted as Pii;
