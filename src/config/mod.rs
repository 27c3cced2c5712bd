//! Configuration: defaults < `authnzd.toml` < `AUTHNZERVER_*` env (authnzerver's
//! names, for drop-in use) < `AUTHNZD_*` env < command-line flags.
//!
//! The settings are grouped by concern into sections, a file each, and the
//! sections are flattened into `Config`: every key keeps its one flat name
//! in TOML (`listen = …`), the environment (`AUTHNZD_LISTEN`), the command
//! line and error messages, while code reads `config.server.listen`.

use std::path::Path;
use std::sync::OnceLock;

use figment::Figment;
use figment::error::Kind;
use figment::providers::{Env, Format, Serialized, Toml};
use figment::value::Dict;
use serde::Serialize;
use serde::de::DeserializeOwned;

mod bounds;
mod database;
mod gateway;
mod hashing;
mod keys;
mod limits;
mod lockout;
mod logging;
mod mail;
mod oidc;
mod ops;
mod password;
mod passwordless;
mod portal;
mod pubkey;
mod redis;
mod server;
mod sessions;
mod sms;
#[cfg(test)]
mod tests;
mod tokens;
mod webauthn;

pub use database::{
    DatabaseConfig, normalised_database_url, sqlite_directory_missing, sqlite_path,
};
pub use gateway::GatewayConfig;
pub use hashing::HashingConfig;
pub use keys::KeysConfig;
pub use limits::LimitsConfig;
pub use lockout::LockoutConfig;
pub use logging::{LogFormat, LoggingConfig};
pub use mail::{MailConfig, MailTransport, SmtpTls};
pub use oidc::OidcConfig;
pub use ops::OpsConfig;
pub use password::PasswordConfig;
pub use passwordless::PasswordlessConfig;
pub use portal::{PortalConfig, logo_type};
pub use pubkey::PubkeyConfig;
pub use redis::{Fallback, RedisConfig};
pub use server::{ServerConfig, descriptor_limit};
pub use sessions::SessionsConfig;
pub use sms::{SmsConfig, SmsSender};
pub use tokens::TokensConfig;
pub use webauthn::{RelyingParty, UserVerification, WebauthnConfig};

/// authnzerver's environment names and the key each one sets.
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
    ("admin_email", "superuser_email"),
    ("admin_password", "superuser_password"),
    ("tlscertfile", "tls_cert_file"),
    ("tlscertkey", "tls_key_file"),
];

/// The whole configuration. It serialises as one flat map of keys (its
/// defaults layer and key list come from that); it is read, section by
/// section, only through `Config::from_figment`, which also refuses
/// unknown keys.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Config {
    #[serde(flatten)]
    pub server: ServerConfig,
    #[serde(flatten)]
    pub database: DatabaseConfig,
    #[serde(flatten)]
    pub keys: KeysConfig,
    #[serde(flatten)]
    pub sessions: SessionsConfig,
    #[serde(flatten)]
    pub hashing: HashingConfig,
    #[serde(flatten)]
    pub lockout: LockoutConfig,
    #[serde(flatten)]
    pub password: PasswordConfig,
    #[serde(flatten)]
    pub mail: MailConfig,
    #[serde(flatten)]
    pub sms: SmsConfig,
    #[serde(flatten)]
    pub passwordless: PasswordlessConfig,
    #[serde(flatten)]
    pub pubkey: PubkeyConfig,
    #[serde(flatten)]
    pub webauthn: WebauthnConfig,
    #[serde(flatten)]
    pub tokens: TokensConfig,
    #[serde(flatten)]
    pub gateway: GatewayConfig,
    #[serde(flatten)]
    pub portal: PortalConfig,
    #[serde(flatten)]
    pub oidc: OidcConfig,
    #[serde(flatten)]
    pub limits: LimitsConfig,
    #[serde(flatten)]
    pub redis: RedisConfig,
    #[serde(flatten)]
    pub logging: LoggingConfig,
    #[serde(flatten)]
    pub ops: OpsConfig,
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
    /// A config for tests and tools: ephemeral port, every file in `dir`,
    /// cheap argon2, no rate limits (tests drive many requests from one
    /// address; limits are tested on their own), no minimum answer time for
    /// passwordless-start, `warn` logging and a 2 s drain. Not validated,
    /// and with no `secret`: callers set what they need.
    pub fn for_tests(dir: &Path) -> Config {
        let mut c = Config::default();
        c.server.port = 0;
        c.server.drain_timeout = 2;
        c.database.database_url = format!("sqlite:///{}", dir.join("authnzd.sqlite").display());
        c.database.superuser_credentials_file = dir.join("superuser.json");
        c.keys.key_file = dir.join("authnzd.key");
        c.hashing.argon2_memory_kib = 1024;
        c.hashing.argon2_iterations = 1;
        c.limits.rate_limits = "none".into();
        // Tests that time passwordless-start set their own.
        c.passwordless.passwordless_min_answer_ms = 0;
        c.logging.log_level = "warn".into();
        c
    }

    /// Layers the file (if any) and the environment over the defaults, then
    /// validates. `file` defaults to `./authnzd.toml` when that exists.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::from_figment(Self::figment(file))
    }

    /// Extracts and validates a layered configuration.
    pub fn from_figment(fig: Figment) -> Result<Config, ConfigError> {
        Config::extract(&fig).and_then(Config::validated)
    }

    /// Reads each section from the same flat keys. (serde's `flatten` would
    /// drop figment's key and source from its errors, and cannot refuse
    /// unknown keys.) Of several problems the one at the first key in order
    /// is reported, as one flat struct would.
    fn extract(fig: &Figment) -> Result<Config, ConfigError> {
        let mut x = Extraction {
            fig,
            first: None,
            all: Vec::new(),
        };
        let config = x.config();
        match x.first {
            Some(e) => Err(ConfigError::Load(one_line(&e))),
            None => Ok(config),
        }
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
    pub fn validated(self) -> Result<Config, ConfigError> {
        self.checked().map_err(|mut all| all.remove(0))
    }

    /// As `validated`, with every problem found, not only the first
    /// (`authnzd check-config`): never an empty `Err`.
    pub fn checked(mut self) -> Result<Config, Vec<ConfigError>> {
        let mut problems = Vec::new();
        // Every number that reaches date arithmetic, a timer or an
        // allocation has a range; README's table lists the same ones.
        for (key, value, min, max, unit) in self.bounded() {
            if !(min..=max).contains(&value) {
                problems.push(ConfigError::invalid(
                    key,
                    format!("must be between {min} and {max}{unit} (got {value})"),
                ));
            }
        }
        let checks = [
            self.check_max_connections(),
            self.hashing.check(),
            self.sms.check(),
            self.server.check_allowed_hosts(),
            self.server.trusted_proxies().map(drop),
            self.server.check_tls(),
            self.gateway.check(),
            self.portal.check(),
            self.oidc.check(self.portal.portal),
            self.redis.check(),
            self.webauthn
                .relying_party(&self.portal, &self.server.server_name)
                .map(drop),
        ];
        problems.extend(checks.into_iter().filter_map(Result::err));
        for (key, value) in [
            ("jwt_issuer", &self.tokens.jwt_issuer),
            ("jwt_audience", &self.tokens.jwt_audience),
        ] {
            if value.trim().is_empty() || value.len() > 200 {
                problems.push(ConfigError::invalid(key, "must be 1 to 200 characters"));
            }
        }
        // The portal's own page opens magic links unless another is named.
        if self.portal.portal
            && self
                .passwordless
                .passwordless_link_base_url
                .trim()
                .is_empty()
            && let Ok(base) = self.portal.base_url("")
            && let Ok(link) = base.join("login/link")
        {
            self.passwordless.passwordless_link_base_url = link.into();
        }
        match database::normalise_database_url(&self.database.database_url) {
            Some(url) => self.database.database_url = url,
            None => problems.push(ConfigError::invalid(
                "database_url",
                "must start with sqlite:, postgres://, postgresql:// or mysql://",
            )),
        }
        if problems.is_empty() {
            Ok(self)
        } else {
            Err(problems)
        }
    }

    /// Reads a layered configuration without checking its values, with
    /// every key that cannot be read (`authnzd check-config`, which then
    /// calls `checked`).
    pub fn extract_all(fig: &Figment) -> Result<Config, Vec<ConfigError>> {
        let mut x = Extraction {
            fig,
            first: None,
            all: Vec::new(),
        };
        let config = x.config();
        let mut all = x.all;
        if all.is_empty() {
            return Ok(config);
        }
        all.sort_by(|a, b| a.path.cmp(&b.path));
        Err(all.iter().map(|e| ConfigError::Load(one_line(e))).collect())
    }
}

/// Sections read from one figment, keeping the problem at the first key.
struct Extraction<'a> {
    fig: &'a Figment,
    first: Option<figment::Error>,
    all: Vec<figment::Error>,
}

impl Extraction<'_> {
    /// Every section (its defaults where it has a problem), each key
    /// that is not a known one noted.
    fn config(&mut self) -> Config {
        match self.fig.extract::<Dict>() {
            Ok(dict) => {
                let known = config_keys();
                for (key, value) in &dict {
                    if !known.contains(&key.as_str()) {
                        let mut e = figment::Error::from(Kind::UnknownField(key.clone(), known));
                        e.path = vec![key.clone()];
                        e.metadata = self.fig.get_metadata(value.tag()).cloned();
                        e.profile = Some(self.fig.profile().clone());
                        self.note(e);
                    }
                }
            }
            Err(e) => self.note(e),
        }
        Config {
            server: self.section(),
            database: self.section(),
            keys: self.section(),
            sessions: self.section(),
            hashing: self.section(),
            lockout: self.section(),
            password: self.section(),
            mail: self.section(),
            sms: self.section(),
            passwordless: self.section(),
            pubkey: self.section(),
            webauthn: self.section(),
            tokens: self.section(),
            gateway: self.section(),
            portal: self.section(),
            oidc: self.section(),
            limits: self.section(),
            redis: self.section(),
            ops: self.section(),
            logging: self.section(),
        }
    }

    /// The section, or its defaults when it has a problem (then noted).
    fn section<T: DeserializeOwned + Default>(&mut self) -> T {
        self.fig.extract().unwrap_or_else(|e| {
            self.note(e);
            T::default()
        })
    }

    /// Keeps `e` if its key comes before the one kept (keys are read in
    /// order, so a section's first problem is at its first bad key).
    fn note(&mut self, e: figment::Error) {
        self.all.extend(e.clone());
        if self.first.as_ref().is_none_or(|f| e.path < f.path) {
            self.first = Some(e);
        }
    }
}

/// The configuration's keys, in order.
fn config_keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| match serde_json::to_value(Config::default()) {
        // Leaked once: figment's unknown-key error wants `'static` names.
        Ok(serde_json::Value::Object(m)) => m
            .keys()
            .map(|k| &*Box::leak(k.clone().into_boxed_str()))
            .collect(),
        _ => Vec::new(),
    })
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
