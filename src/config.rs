//! Configuration: defaults < `authnzd.toml` < `AUTHNZERVER_*` env (authnzerver's
//! names, for drop-in use) < `AUTHNZD_*` env < command-line flags.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::secret::{ExposeSecret, SecretString};

/// authnzerver's environment names and the field each one sets.
const AUTHNZERVER_ENV: &[(&str, &str)] = &[
    ("authdb", "database_url"),
    ("secret", "secret"),
    ("piisalt", "pii_salt"),
    ("listen", "listen"),
    ("port", "port"),
    ("allowedhosts", "allowed_hosts"),
    ("sessionexpiry", "session_expiry_days"),
    ("userlocktries", "user_lock_tries"),
    ("userlocktime", "user_lock_time"),
    ("passpolicy", "password_policy"),
    ("ratelimits", "rate_limits"),
    ("permissions", "permissions"),
    ("emailserver", "smtp_host"),
    ("emailport", "smtp_port"),
    ("emailuser", "smtp_username"),
    ("emailpass", "smtp_password"),
    ("emailsender", "mail_from"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address to bind.
    pub listen: IpAddr,
    /// TCP port; 0 picks a free one (tests).
    pub port: u16,
    /// sea-orm database URL; SQLAlchemy-style `+driver` suffixes are accepted.
    pub database_url: String,
    /// Fernet key ring, comma separated, newest first; or a path to a file
    /// holding one key per line. When unset, `key_file` is used.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub secret: Option<SecretString>,
    /// Key file read (or created with mode 0600) when `secret` is unset.
    pub key_file: PathBuf,
    /// Salt for hashing personal data (IPs, emails) before logging.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub pii_salt: Option<SecretString>,
    /// `Host` header values the RPC endpoint answers, separated by `;`.
    pub allowed_hosts: String,
    /// Default session lifetime in days (authnzerver's `sessionexpiry`).
    pub session_expiry_days: u32,
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
    /// authnzerver's rate-limit string, or `none`.
    pub rate_limits: String,
    /// Failed logins before an account locks.
    pub user_lock_tries: u32,
    /// Seconds an account stays locked.
    pub user_lock_time: u64,
    /// Milliseconds the answer to a first failed login waits; each further
    /// failure waits 1.5 times longer, up to 40 times this (0: no delay).
    pub failed_login_delay_ms: u64,
    /// authnzerver's password-policy string.
    pub password_policy: String,
    /// This server's public name; passwords too similar to it are refused.
    pub server_name: String,
    /// Look new passwords up in a breached-password range API (k-anonymity:
    /// only 5 hex digits of the SHA-1 leave the server).
    pub breached_password_check: bool,
    /// Range API base URL (`{url}/{5 hex digits}`).
    pub breached_password_url: String,
    /// Refuse the password when the lookup fails (else accept it).
    pub breached_password_fail_closed: bool,
    /// Path to a permissions policy JSON file; the built-in default if unset.
    pub permissions: Option<PathBuf>,
    /// Seconds a session lookup stays cached.
    pub session_cache_ttl: u64,
    /// Most sessions cached.
    pub session_cache_entries: u64,
    /// Database pool size.
    pub db_max_connections: u32,
    /// First superuser's email (first start only).
    pub superuser_email: Option<String>,
    /// First superuser's password (first start only); generated when unset.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub superuser_password: Option<SecretString>,
    /// Where generated superuser credentials are written (mode 0600).
    pub superuser_credentials_file: PathBuf,
    /// argon2 memory cost in KiB.
    pub argon2_memory_kib: u32,
    /// argon2 iterations.
    pub argon2_iterations: u32,
    /// argon2 lanes.
    pub argon2_parallelism: u32,
    /// Concurrent password hashes (default: number of cores).
    pub hash_workers: Option<usize>,
    /// Password hashes allowed to wait for a worker before 503.
    pub hash_queue: usize,
    pub log_format: LogFormat,
    /// tracing filter directive, e.g. `info` or `authnzd=debug`.
    pub log_level: String,
    /// How mail leaves: `smtp`, `file` (one `.eml` per message in
    /// `mail_dir`) or `log` (logged, not sent; the default).
    pub mail_transport: MailTransport,
    pub smtp_host: String,
    pub smtp_port: u16,
    /// `none`, `starttls` (required) or `tls` (implicit, port 465).
    pub smtp_tls: SmtpTls,
    pub smtp_username: Option<String>,
    #[serde(serialize_with = "crate::secret::redacted")]
    pub smtp_password: Option<SecretString>,
    /// A PEM file of extra CA certificates to trust for the SMTP server (a
    /// private CA); the public web roots are trusted anyway.
    pub smtp_ca_file: Option<PathBuf>,
    /// `From:` of every message, `Name <address>` or a bare address.
    pub mail_from: String,
    /// Most seconds a send may take before the request fails.
    pub mail_timeout: u64,
    /// Where the `file` transport writes.
    pub mail_dir: PathBuf,
    /// A directory of template overrides (`magic_link.subject`,
    /// `magic_link.txt`, `magic_link.html`, `signup.*`, `forgotpass.*`).
    pub mail_templates: Option<PathBuf>,
    /// How SMS leave: `twilio`, `webhook`, `file` or `log` (the default).
    pub sms_sender: SmsSender,
    pub twilio_account_sid: Option<String>,
    #[serde(serialize_with = "crate::secret::redacted")]
    pub twilio_auth_token: Option<SecretString>,
    /// The sending number, E.164.
    pub twilio_from: Option<String>,
    /// Twilio's API base, overridable to point at a test server.
    pub twilio_base_url: String,
    /// The generic JSON webhook (`{"to", "body"}` POSTed).
    #[serde(serialize_with = "crate::secret::redacted")]
    pub sms_webhook_url: Option<SecretString>,
    /// Where the `file` SMS sender writes.
    pub sms_dir: PathBuf,
    /// Region for phone numbers written without `+country` (ISO 3166, e.g. `US`).
    pub sms_default_region: String,
    /// The page a magic link opens; `?token=…` is appended.
    pub passwordless_link_base_url: String,
    /// Seconds a one-time code and link stay valid.
    pub passwordless_ttl: u64,
    /// Sends allowed per address per `passwordless_address_window` seconds.
    pub passwordless_per_address: u32,
    pub passwordless_address_window: u64,
    /// Sends allowed per client IP per `passwordless_ip_window` seconds.
    pub passwordless_per_ip: u32,
    pub passwordless_ip_window: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MailTransport {
    Smtp,
    File,
    Log,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    None,
    Starttls,
    Tls,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmsSender {
    Twilio,
    Webhook,
    File,
    Log,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: IpAddr::from([127, 0, 0, 1]),
            port: 13431,
            database_url: "sqlite://./authnzd.sqlite".into(),
            secret: None,
            key_file: PathBuf::from("./authnzd.key"),
            pii_salt: None,
            allowed_hosts: "localhost;127.0.0.1".into(),
            session_expiry_days: 30,
            request_ttl: 300,
            replay_cache_entries: 1_000_000,
            max_body_bytes: 1024 * 1024,
            header_read_timeout: 10,
            body_read_timeout: 5,
            max_connections: None,
            drain_timeout: 10,
            rate_limits: "ipaddr:720; user:480; session:600; apikey:720; burst:150".into(),
            user_lock_tries: 10,
            user_lock_time: 3600,
            failed_login_delay_ms: 1000,
            password_policy: "min_pass_length:12; max_unsafe_similarity:50; \
                              max_char_frequency:0.3; min_pwned_matches:25"
                .into(),
            server_name: "localhost".into(),
            breached_password_check: false,
            breached_password_url: "https://api.pwnedpasswords.com/range".into(),
            breached_password_fail_closed: false,
            permissions: None,
            session_cache_ttl: 60,
            session_cache_entries: 100_000,
            db_max_connections: 8,
            superuser_email: None,
            superuser_password: None,
            superuser_credentials_file: PathBuf::from("./authnzd-superuser.json"),
            argon2_memory_kib: 19 * 1024,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            hash_workers: None,
            hash_queue: 256,
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            mail_transport: MailTransport::Log,
            smtp_host: "localhost".into(),
            smtp_port: 587,
            smtp_tls: SmtpTls::Starttls,
            smtp_username: None,
            smtp_password: None,
            smtp_ca_file: None,
            mail_from: "authnzd <noreply@localhost>".into(),
            mail_timeout: 10,
            mail_dir: PathBuf::from("./mail"),
            mail_templates: None,
            sms_sender: SmsSender::Log,
            twilio_account_sid: None,
            twilio_auth_token: None,
            twilio_from: None,
            twilio_base_url: "https://api.twilio.com".into(),
            sms_webhook_url: None,
            sms_dir: PathBuf::from("./sms"),
            sms_default_region: "US".into(),
            passwordless_link_base_url: "http://localhost/login/magic".into(),
            passwordless_ttl: 900,
            passwordless_per_address: 3,
            passwordless_address_window: 12 * 3600,
            passwordless_per_ip: 10,
            passwordless_ip_window: 24 * 3600,
        }
    }
}

/// A configuration problem, named by its key so the operator can fix it.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config: {0}")]
    Load(String),
    #[error("config key `{key}`: {problem}")]
    Invalid { key: &'static str, problem: String },
}

impl ConfigError {
    fn invalid(key: &'static str, problem: impl Into<String>) -> Self {
        ConfigError::Invalid {
            key,
            problem: problem.into(),
        }
    }
}

impl Config {
    /// Layers the file (if any) and the environment over the defaults, then
    /// validates. `file` defaults to `./authnzd.toml` when that exists.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// Extracts and validates a layered configuration.
    pub fn from_figment(fig: Figment) -> Result<Config, ConfigError> {
        fig.extract::<Config>()
            .map_err(|e| ConfigError::Load(one_line(&e)))
            .and_then(Config::validated)
    }

    /// The layered sources, for callers (the CLI) that merge more on top.
    pub fn figment(file: Option<&Path>) -> Figment {
        // `mail_transport` and `smtp_host` are left out of the defaults layer
        // (serde fills them in) so that naming an SMTP server anywhere, as
        // authnzerver's EMAILSERVER does, means SMTP unless a transport is
        // named too.
        let mut defaults = serde_json::to_value(Config::default()).unwrap_or_default();
        if let Some(map) = defaults.as_object_mut() {
            map.remove("mail_transport");
            map.remove("smtp_host");
        }
        let mut fig = Figment::from(Serialized::defaults(defaults));
        match file {
            Some(path) => fig = fig.merge(Toml::file_exact(path)),
            None => fig = fig.merge(Toml::file("authnzd.toml")),
        }
        let authnzerver = Env::prefixed("AUTHNZERVER_").filter_map(|k| {
            let k = k.as_str().to_ascii_lowercase();
            AUTHNZERVER_ENV
                .iter()
                .find(|(old, _)| *old == k)
                .map(|(_, new)| (*new).into())
        });
        // Only known keys: other AUTHNZD_* variables (a client's AUTHNZD_URL,
        // the test harness's settings) are not the server's business.
        let known = config_keys();
        let ours = Env::prefixed("AUTHNZD_")
            .filter(move |k| known.iter().any(|f| k.as_str().eq_ignore_ascii_case(f)));
        let fig = fig.merge(authnzerver).merge(ours);
        if fig.contains("smtp_host") && !fig.contains("mail_transport") {
            return fig.merge(Serialized::default("mail_transport", MailTransport::Smtp));
        }
        fig
    }

    /// Checks values serde cannot, and normalises the database URL.
    pub fn validated(mut self) -> Result<Config, ConfigError> {
        // Every number that reaches date arithmetic, a timer or an
        // allocation has a range; README's table lists the same ones.
        for (key, value, min, max, unit) in self.bounded() {
            if !(min..=max).contains(&value) {
                return Err(ConfigError::invalid(
                    key,
                    format!("must be between {min} and {max}{unit} (got {value})"),
                ));
            }
        }
        if let Some(n) = self.max_connections {
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
        }
        argon2::Params::new(
            self.argon2_memory_kib,
            self.argon2_iterations,
            self.argon2_parallelism,
            None,
        )
        .map_err(|e| ConfigError::invalid("argon2_memory_kib", e.to_string()))?;
        if self.sms_sender == SmsSender::Twilio {
            for (key, value) in [
                ("twilio_account_sid", &self.twilio_account_sid),
                (
                    "twilio_auth_token",
                    &self
                        .twilio_auth_token
                        .as_ref()
                        .map(|t| t.expose_secret().to_owned()),
                ),
                ("twilio_from", &self.twilio_from),
            ] {
                if value.as_deref().is_none_or(|v| v.trim().is_empty()) {
                    return Err(ConfigError::invalid(
                        key,
                        "required when sms_sender is twilio",
                    ));
                }
            }
        }
        if self.sms_sender == SmsSender::Webhook && self.sms_webhook_url.is_none() {
            return Err(ConfigError::invalid(
                "sms_webhook_url",
                "required when sms_sender is webhook",
            ));
        }
        if self.allowed_hosts.split(';').all(|h| h.trim().is_empty()) {
            return Err(ConfigError::invalid("allowed_hosts", "names no host"));
        }
        self.database_url = normalise_database_url(&self.database_url).ok_or_else(|| {
            ConfigError::invalid(
                "database_url",
                "must start with sqlite:, postgres://, postgresql:// or mysql://",
            )
        })?;
        Ok(self)
    }

    /// `(key, value, min, max, unit)` for every bounded number.
    fn bounded(&self) -> [(&'static str, u64, u64, u64, &'static str); 24] {
        const DAY: u64 = 86_400;
        const YEAR: u64 = 366 * DAY;
        let n = |v: u32| u64::from(v);
        let z = |v: usize| u64::try_from(v).unwrap_or(u64::MAX);
        [
            ("request_ttl", self.request_ttl, 1, DAY, " s"),
            (
                "replay_cache_entries",
                z(self.replay_cache_entries),
                1000,
                100_000_000,
                "",
            ),
            (
                "max_body_bytes",
                self.max_body_bytes,
                1024,
                1 << 30,
                " bytes",
            ),
            (
                "header_read_timeout",
                self.header_read_timeout,
                1,
                3600,
                " s",
            ),
            (
                "body_read_timeout",
                self.body_read_timeout,
                1,
                MAX_BODY_READ_TIMEOUT,
                " s",
            ),
            ("drain_timeout", self.drain_timeout, 0, 3600, " s"),
            (
                "session_expiry_days",
                n(self.session_expiry_days),
                1,
                3660,
                " days",
            ),
            ("user_lock_tries", n(self.user_lock_tries), 1, 1000, ""),
            ("user_lock_time", self.user_lock_time, 1, YEAR, " s"),
            (
                "failed_login_delay_ms",
                self.failed_login_delay_ms,
                0,
                10_000,
                " ms",
            ),
            ("session_cache_ttl", self.session_cache_ttl, 0, DAY, " s"),
            (
                "session_cache_entries",
                self.session_cache_entries,
                0,
                100_000_000,
                "",
            ),
            (
                "db_max_connections",
                n(self.db_max_connections),
                2,
                10_000,
                "",
            ),
            (
                "hash_workers",
                z(self.hash_workers.unwrap_or(1)),
                1,
                1024,
                "",
            ),
            ("hash_queue", z(self.hash_queue), 1, 1_000_000, ""),
            (
                "argon2_memory_kib",
                n(self.argon2_memory_kib),
                8,
                4 << 20,
                " KiB",
            ),
            ("argon2_iterations", n(self.argon2_iterations), 1, 100, ""),
            ("argon2_parallelism", n(self.argon2_parallelism), 1, 64, ""),
            ("mail_timeout", self.mail_timeout, 1, 300, " s"),
            ("passwordless_ttl", self.passwordless_ttl, 60, DAY, " s"),
            (
                "passwordless_address_window",
                self.passwordless_address_window,
                60,
                YEAR,
                " s",
            ),
            (
                "passwordless_ip_window",
                self.passwordless_ip_window,
                60,
                YEAR,
                " s",
            ),
            (
                "passwordless_per_address",
                n(self.passwordless_per_address),
                1,
                1000,
                "",
            ),
            (
                "passwordless_per_ip",
                n(self.passwordless_per_ip),
                1,
                100_000,
                "",
            ),
        ]
    }

    /// Host names (without port) the RPC endpoint answers to.
    pub fn allowed_host_list(&self) -> Vec<String> {
        self.allowed_hosts
            .split(';')
            .map(|h| h.trim().to_ascii_lowercase())
            .filter(|h| !h.is_empty())
            .collect()
    }

    /// The connection cap in force: `max_connections`, or what the
    /// descriptor limit leaves room for (at most `DEFAULT_MAX_CONNECTIONS`).
    pub fn connection_limit(&self) -> usize {
        self.max_connections
            .unwrap_or_else(|| self.connection_ceiling().min(DEFAULT_MAX_CONNECTIONS))
    }

    /// The most connections this process's descriptors allow.
    fn connection_ceiling(&self) -> usize {
        let limit = descriptor_limit().unwrap_or(UNKNOWN_DESCRIPTOR_LIMIT);
        connection_budget(limit, self.db_max_connections)
    }

    /// Whether per-IP rate limiting is on (and so `client_ipaddr` required).
    pub fn rate_limiting(&self) -> bool {
        !self.rate_limits.trim().eq_ignore_ascii_case("none")
    }

    /// A configuration for tests and tools: an ephemeral port, the SQLite
    /// database, key file and superuser credentials in `dir`, cheap argon2,
    /// no rate limits (tests drive many requests from one address; limits
    /// are tested on their own), `warn` logging and a 2 s drain. Not
    /// validated, and with no `secret`: callers set what they need.
    pub fn for_tests(dir: &Path) -> Config {
        Config {
            port: 0,
            database_url: format!("sqlite://{}", dir.join("authnzd.sqlite").display()),
            key_file: dir.join("authnzd.key"),
            superuser_credentials_file: dir.join("superuser.json"),
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            drain_timeout: 2,
            rate_limits: "none".into(),
            log_level: "warn".into(),
            ..Config::default()
        }
    }
}

/// Upper bound of `body_read_timeout`, in seconds.
const MAX_BODY_READ_TIMEOUT: u64 = 600;
/// Upper bound of `max_connections`, whatever the descriptor limit.
const MAX_CONNECTIONS: usize = 1_000_000;
/// Most connections served by default: past this it is memory, not
/// descriptors, that runs out first.
const DEFAULT_MAX_CONNECTIONS: usize = 65_536;
/// Assumed where the descriptor limit cannot be read.
const UNKNOWN_DESCRIPTOR_LIMIT: u64 = 1024;

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
fn connection_budget(limit: u64, db_max_connections: u32) -> usize {
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

/// The configuration's field names.
fn config_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(m)) => m.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Accepts sea-orm URLs and SQLAlchemy ones (`postgresql+psycopg2://`,
/// `sqlite:///path`), returning the sea-orm form. SQLite files are created
/// when missing.
fn normalise_database_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let base = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    match base.as_str() {
        "sqlite" => {
            let mut out = format!("sqlite:{rest}");
            if !rest.contains("mode=") && !rest.contains(":memory:") {
                out.push_str(if rest.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            Some(out)
        }
        "postgres" | "postgresql" => Some(format!("postgres:{rest}")),
        "mysql" | "mariadb" => Some(format!("mysql:{rest}")),
        _ => None,
    }
}

/// One line naming the key (lower-cased, as the field is spelled), the
/// problem and the source it came from.
fn one_line(e: &figment::Error) -> String {
    let key = e.path.join(".").to_ascii_lowercase();
    let source = e
        .metadata
        .as_ref()
        .map(|m| format!(" (from {})", m.name))
        .unwrap_or_default();
    let text = if key.is_empty() {
        format!("{}{source}", e.kind)
    } else {
        format!("key `{key}`: {}{source}", e.kind)
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature
mod tests {
    use super::*;

    #[test]
    fn sqlalchemy_urls_are_accepted() {
        assert_eq!(
            normalise_database_url("sqlite:///tmp/a.db").as_deref(),
            Some("sqlite:///tmp/a.db?mode=rwc")
        );
        assert_eq!(
            normalise_database_url("postgresql+psycopg2://u@h/db").as_deref(),
            Some("postgres://u@h/db")
        );
        assert_eq!(
            normalise_database_url("mysql+pymysql://root@127.0.0.1/test").as_deref(),
            Some("mysql://root@127.0.0.1/test")
        );
        assert!(normalise_database_url("oracle://x").is_none());
        assert!(normalise_database_url("no-scheme").is_none());
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cfg = Config {
            request_ttl: 0,
            ..Config::default()
        };
        let err = cfg.validated().expect_err("ttl 0 is invalid");
        assert!(err.to_string().contains("`request_ttl`"), "{err}");

        let cfg = Config {
            database_url: "oracle://db".into(),
            ..Config::default()
        };
        let err = cfg.validated().expect_err("unknown scheme");
        assert!(err.to_string().contains("`database_url`"), "{err}");

        let cfg = Config {
            passwordless_ip_window: u64::MAX,
            ..Config::default()
        };
        let err = cfg.validated().expect_err("a window past any date");
        assert!(
            err.to_string().contains("`passwordless_ip_window`"),
            "{err}"
        );

        let cfg = Config {
            sms_sender: SmsSender::Twilio,
            twilio_account_sid: Some("AC1".into()),
            ..Config::default()
        };
        let err = cfg.validated().expect_err("twilio without a token");
        assert!(err.to_string().contains("`twilio_auth_token`"), "{err}");
    }

    #[test]
    fn every_bounded_number_out_of_range_stops_start_up_naming_its_key() {
        let base = Config::default();
        for (key, _, min, max, _) in base.bounded() {
            let mut outside = vec![max.saturating_add(1), u64::MAX];
            if min > 0 {
                outside.push(min - 1);
            }
            for value in outside {
                let fig = Figment::from(Serialized::defaults(Config::default()))
                    .merge(Serialized::default(key, value));
                let err = Config::from_figment(fig)
                    .expect_err(&format!("{key} = {value} must be refused"));
                let msg = err.to_string();
                assert!(msg.contains(&format!("`{key}`")), "{key} = {value}: {msg}");
                assert!(!msg.contains('\n'), "{msg}");
            }
        }
    }

    #[test]
    fn transport_limits_are_bounded() {
        for bad in [0, MAX_BODY_READ_TIMEOUT + 1, u64::MAX] {
            let cfg = Config {
                body_read_timeout: bad,
                ..Config::default()
            };
            let err = cfg.validated().expect_err("body timeout out of range");
            assert!(err.to_string().contains("`body_read_timeout`"), "{err}");
        }
        for good in [1, 5, MAX_BODY_READ_TIMEOUT] {
            let cfg = Config {
                body_read_timeout: good,
                ..Config::default()
            };
            assert!(cfg.validated().is_ok(), "body_read_timeout {good}");
        }

        let ceiling = Config::default().connection_ceiling();
        for bad in [0, ceiling + 1, usize::MAX] {
            let cfg = Config {
                max_connections: Some(bad),
                ..Config::default()
            };
            let err = cfg.validated().expect_err("connection cap out of range");
            assert!(err.to_string().contains("`max_connections`"), "{err}");
        }
        for good in [1, 100, ceiling] {
            let cfg = Config {
                max_connections: Some(good),
                ..Config::default()
            };
            let cfg = cfg.validated().expect("cap in range");
            assert_eq!(cfg.connection_limit(), good);
        }

        // The default leaves room for the pool, mail and logs.
        let derived = Config::default().connection_limit();
        assert!(
            (1..=DEFAULT_MAX_CONNECTIONS).contains(&derived),
            "{derived}"
        );
        if let Some(limit) = descriptor_limit() {
            assert!((derived as u64) < limit, "{derived} of {limit}");
        }
    }

    #[test]
    fn authnzerver_lock_time_past_any_date_is_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTHNZERVER_USERLOCKTIME", "999999999999999999");
            let err = Config::load(None).expect_err("a lock time past any date");
            assert!(err.to_string().contains("`user_lock_time`"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn the_connection_budget_follows_the_descriptor_limit() {
        // 256 + 3 per pool connection kept back.
        assert_eq!(connection_budget(20_000, 8), 20_000 - 280);
        assert_eq!(connection_budget(1024, 8), 1024 - 280);
        assert_eq!(connection_budget(1024, 100), 512);
        // Too small for the reserve: half.
        assert_eq!(connection_budget(256, 8), 128);
        assert_eq!(connection_budget(1, 8), 1);
        assert_eq!(connection_budget(0, 8), 1);
        // Unlimited (RLIM_INFINITY) or huge: the absolute ceiling.
        assert_eq!(connection_budget(u64::MAX, 8), MAX_CONNECTIONS);
    }

    #[test]
    fn naming_an_smtp_server_means_smtp() {
        figment::Jail::expect_with(|jail| {
            assert_eq!(
                Config::load(None).expect("loads").mail_transport,
                MailTransport::Log
            );
            jail.set_env("AUTHNZERVER_EMAILSERVER", "mail.example.org");
            jail.set_env("AUTHNZERVER_EMAILPORT", "2525");
            let cfg = Config::load(None).expect("loads");
            assert_eq!(cfg.mail_transport, MailTransport::Smtp);
            assert_eq!(cfg.smtp_host, "mail.example.org");
            assert_eq!(cfg.smtp_port, 2525);
            assert_eq!(cfg.smtp_tls, SmtpTls::Starttls);
            // A transport named outright wins.
            jail.set_env("AUTHNZD_MAIL_TRANSPORT", "file");
            assert_eq!(
                Config::load(None).expect("loads").mail_transport,
                MailTransport::File
            );
            Ok(())
        });
    }

    #[test]
    fn env_layers_authnzerver_names_under_authnzd_names() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTHNZERVER_PORT", "14000");
            jail.set_env("AUTHNZERVER_SESSIONEXPIRY", "7");
            jail.set_env("AUTHNZD_SESSION_EXPIRY_DAYS", "9");
            jail.set_env("AUTHNZD_URL", "http://not-a-server-setting/");
            let cfg = Config::load(None).expect("loads");
            assert_eq!(cfg.port, 14000);
            assert_eq!(cfg.session_expiry_days, 9);
            Ok(())
        });
    }

    #[test]
    fn a_toml_file_sits_under_the_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "authnzd.toml",
                "port = 15000\nsession_expiry_days = 3\nlog_format = \"json\"\n",
            )?;
            jail.set_env("AUTHNZD_SESSION_EXPIRY_DAYS", "4");
            let cfg = Config::load(None).expect("loads");
            assert_eq!(cfg.port, 15000);
            assert_eq!(cfg.session_expiry_days, 4);
            assert_eq!(cfg.log_format, LogFormat::Json);
            jail.create_file("bad.toml", "no_such_key = 1\n")?;
            let err = Config::load(Some(Path::new("bad.toml"))).expect_err("unknown key");
            assert!(err.to_string().contains("no_such_key"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn bad_env_value_is_one_line_naming_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("AUTHNZD_PORT", "not-a-port");
            let err = Config::load(None).expect_err("bad port");
            let msg = err.to_string();
            assert!(!msg.contains('\n'), "{msg}");
            assert!(msg.contains("port"), "{msg}");
            Ok(())
        });
    }
}
