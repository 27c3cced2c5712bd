//! Operations: the audit log's retention and the Prometheus endpoint.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OpsConfig {
    /// Days audit events are kept; older ones are pruned hourly.
    pub audit_retention_days: u32,
    /// Whether `GET /metrics` is served at all.
    pub metrics: bool,
    /// Serve `GET /metrics` on this address (`host:port`) instead of the
    /// RPC port.
    pub metrics_listen: Option<std::net::SocketAddr>,
}

impl Default for OpsConfig {
    fn default() -> Self {
        OpsConfig {
            audit_retention_days: 365,
            metrics: true,
            metrics_listen: None,
        }
    }
}
