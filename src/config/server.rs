//! The listener and its transport limits: address, hosts answered, request
//! freshness and replay memory, timeouts, connection and body caps.

use std::net::IpAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Config, ConfigError};
use crate::security::client_addr::{DEFAULT_TRUSTED_PROXIES, TrustedProxies};

/// A list written as an array (TOML) or as one comma-separated string (an
/// environment variable).
fn list_or_commas<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        List(Vec<String>),
        Text(String),
    }
    Ok(match Form::deserialize(d)? {
        Form::List(v) => v,
        Form::Text(s) => s
            .split(',')
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to bind.
    pub listen: IpAddr,
    /// TCP port; 0 picks a free one (tests).
    pub port: u16,
    /// This server's public name, used in messages sent; passwords too
    /// similar to it are refused.
    pub server_name: String,
    /// `Host` header values the RPC endpoint answers, separated by `;`.
    pub allowed_hosts: String,
    /// Peers (CIDR blocks or addresses) whose `X-Forwarded-For` /
    /// `X-Real-IP` are believed; from anyone else the TCP peer is the
    /// client. A TOML array, or one comma-separated string.
    #[serde(deserialize_with = "list_or_commas")]
    pub trusted_proxies: Vec<String>,
    /// Oldest request token accepted, in seconds.
    pub request_ttl: u64,
    /// Most request tokens remembered for replay detection.
    pub replay_cache_entries: usize,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Time a client gets to send a request's headers, in seconds, counted
    /// from the connection's start or the previous answer (so also the idle
    /// keep-alive timeout).
    pub header_read_timeout: u64,
    /// Time a client gets to send a whole request body once its headers are
    /// in, in seconds (a total deadline: a trickle does not extend it).
    pub body_read_timeout: u64,
    /// Most connections served at once; past it new ones wait in the
    /// kernel's backlog. Default: derived from the descriptor limit.
    pub max_connections: Option<usize>,
    /// Time in-flight requests get to finish at shutdown, in seconds.
    pub drain_timeout: u64,
    /// Threads serving requests; default one per core. Fewer than the
    /// cores costs less CPU a request (no hand-offs between threads) where
    /// a proxy or the frontend shares the machine (BENCHMARKS.md).
    pub worker_threads: Option<usize>,
    /// How answers spell datetimes: `naive` (authnzerver's naive UTC ISO
    /// form) or `rfc3339` (with `+00:00`).
    pub datetime_format: crate::timefmt::DatetimeFormat,
    /// PEM certificate chain; with `tls_key_file`, the listener speaks HTTPS.
    pub tls_cert_file: Option<PathBuf>,
    /// PEM private key of `tls_cert_file`.
    pub tls_key_file: Option<PathBuf>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: IpAddr::from([127, 0, 0, 1]),
            port: 13431,
            server_name: "localhost".into(),
            allowed_hosts: "localhost;127.0.0.1".into(),
            trusted_proxies: DEFAULT_TRUSTED_PROXIES
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            request_ttl: 300,
            replay_cache_entries: 1_000_000,
            max_body_bytes: 1024 * 1024,
            header_read_timeout: 10,
            body_read_timeout: 5,
            max_connections: None,
            worker_threads: None,
            drain_timeout: 10,
            datetime_format: crate::timefmt::DatetimeFormat::Naive,
            tls_cert_file: None,
            tls_key_file: None,
        }
    }
}

impl ServerConfig {
    /// Host names (without port) the RPC endpoint answers to.
    pub fn allowed_host_list(&self) -> Vec<String> {
        self.allowed_hosts
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// The peers whose forwarding headers are believed.
    pub fn trusted_proxies(&self) -> Result<TrustedProxies, ConfigError> {
        TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| ConfigError::invalid("trusted_proxies", e.to_string()))
    }

    /// Both TLS files or neither.
    pub(super) fn check_tls(&self) -> Result<(), ConfigError> {
        match (&self.tls_cert_file, &self.tls_key_file) {
            (Some(_), None) => Err(ConfigError::invalid(
                "tls_key_file",
                "must be set with tls_cert_file",
            )),
            (None, Some(_)) => Err(ConfigError::invalid(
                "tls_cert_file",
                "must be set with tls_key_file",
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn check_allowed_hosts(&self) -> Result<(), ConfigError> {
        if self.allowed_hosts.split(';').all(|h| h.trim().is_empty()) {
            return Err(ConfigError::invalid("allowed_hosts", "names no host"));
        }
        Ok(())
    }
}

/// Upper bound of `body_read_timeout`, in seconds.
pub(super) const MAX_BODY_READ_TIMEOUT: u64 = 600;
/// Upper bound of `max_connections`, whatever the descriptor limit.
pub(super) const MAX_CONNECTIONS: usize = 1_000_000;
/// Most connections served by default: past this it is memory, not
/// descriptors, that runs out first.
pub(super) const DEFAULT_MAX_CONNECTIONS: usize = 65_536;
/// Assumed where the descriptor limit cannot be read.
const UNKNOWN_DESCRIPTOR_LIMIT: u64 = 1024;

// The connection cap depends on the database pool's size too, so it is
// worked out on the whole configuration.
impl Config {
    /// Host names (without port) the RPC endpoint answers to.
    pub fn allowed_host_list(&self) -> Vec<String> {
        self.server.allowed_host_list()
    }

    /// The connection cap in force: `max_connections`, or what the
    /// descriptor limit leaves room for (at most `DEFAULT_MAX_CONNECTIONS`).
    pub fn connection_limit(&self) -> usize {
        self.server
            .max_connections
            .unwrap_or_else(|| self.connection_ceiling().min(DEFAULT_MAX_CONNECTIONS))
    }

    /// The most connections this process's descriptors allow.
    pub(super) fn connection_ceiling(&self) -> usize {
        let limit = descriptor_limit().unwrap_or(UNKNOWN_DESCRIPTOR_LIMIT);
        connection_budget(limit, self.database.db_max_connections)
    }

    /// `max_connections`, when set, within what the descriptors allow.
    pub(super) fn check_max_connections(&self) -> Result<(), ConfigError> {
        let Some(n) = self.server.max_connections else {
            return Ok(());
        };
        let most = self.connection_ceiling();
        if !(1..=most).contains(&n) {
            return Err(ConfigError::invalid(
                "max_connections",
                match descriptor_limit() {
                    Some(limit) if most < MAX_CONNECTIONS => format!(
                        "must be between 1 and {most}: the descriptor limit (ulimit -n) \
                         is {limit} and {} are kept for the database pool, mail and logs",
                        limit.saturating_sub(most as u64)
                    ),
                    _ => format!("must be between 1 and {most}"),
                },
            ));
        }
        Ok(())
    }
}

/// The soft `RLIMIT_NOFILE` of this process (`ulimit -n`).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
pub fn descriptor_limit() -> Option<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid pointer.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    (rc == 0).then_some(lim.rlim_cur)
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn descriptor_limit() -> Option<u64> {
    None
}

/// Descriptors kept back from connections: the database pool (SQLite opens
/// up to three files per connection), the SMTP and HTTP client pools, logs,
/// the listener and the runtime's own.
fn reserved_descriptors(db_max_connections: u32) -> u64 {
    256 + 3 * u64::from(db_max_connections)
}

/// The most connections `limit` descriptors leave room for: the limit less
/// the reserve, or half of a limit too small for the whole reserve; never
/// more than `MAX_CONNECTIONS`.
pub(super) fn connection_budget(limit: u64, db_max_connections: u32) -> usize {
    let reserve = reserved_descriptors(db_max_connections);
    let budget = if limit > 2 * reserve {
        limit - reserve
    } else {
        limit / 2
    };
    usize::try_from(budget)
        .unwrap_or(MAX_CONNECTIONS)
        .clamp(1, MAX_CONNECTIONS)
}
