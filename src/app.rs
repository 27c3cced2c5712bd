//! The shared state every action receives.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use sea_orm::DatabaseConnection;

use crate::cache::SessionCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::notify::mail::Mailer;
use crate::notify::sms::Sms;
use crate::pii::Pii;
use crate::policy::Policy;
use crate::secret::{ExposeSecret, SecretBox};
use crate::security::jwt::AccessKeys;
use crate::security::lockout::{LockoutPolicy, UnknownFailures};
use crate::security::password::PasswordHasher;
use crate::security::password_rules::PasswordRules;
use crate::security::server_key::{Seals, ServerKey};
use crate::waits::ChallengeWaits;

#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub sessions: SessionCache,
    pub hasher: PasswordHasher,
    /// A hash of a random password with the current parameters: unknown
    /// users are verified against it so every login costs one hash.
    pub dummy_hash: String,
    pub lockout: LockoutPolicy,
    /// Failure counts of addresses without an account.
    pub unknown_failures: UnknownFailures,
    pub passwords: PasswordRules,
    pub pii: Pii,
    pub policy: Policy,
    pub mailer: Mailer,
    pub sms: Sms,
    /// Keys one-time codes and client-IP digests stored in the database;
    /// derived from the newest Fernet key, so shared by every instance.
    pub code_key: SecretBox<[u8; 32]>,
    /// The same secret derived from each older key of the ring, newest
    /// first: recovery codes made before a rotation still match.
    pub older_code_keys: Vec<SecretBox<[u8; 32]>>,
    /// Keys TOTP secrets are sealed with (Fernet), newest first: one per
    /// key of the ring, so a rotation leaves enrolled users enrolled.
    pub totp_keys: Vec<SecretBox<[u8; 32]>>,
    /// Signs `pubkey-challenge-new` payloads.
    pub server_key: ServerKey,
    /// What server keys are sealed with (for reloads and rotations).
    pub seals: Seals,
    /// Access-token keys, reloaded now and then (another server may rotate).
    pub access_keys: RwLock<Arc<AccessKeys>>,
    /// When `access_keys` was last reloaded.
    pub access_keys_loaded: Mutex<std::time::Instant>,
    /// Waiters of `pubkey-challenge-wait`, woken by completions here.
    pub challenge_waits: ChallengeWaits,
    /// Clients recently audited for hitting a rate limit.
    pub rate_limit_audits: crate::actions::audit::RateLimitAudits,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
}

/// Addresses without an account whose failed logins are remembered.
const UNKNOWN_FAILURES_TRACKED: u64 = 100_000;

/// What start-up builds; `App::new` derives the rest from the config.
pub struct Parts {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub hasher: PasswordHasher,
    pub dummy_hash: String,
    pub passwords: PasswordRules,
    pub pii: Pii,
    pub policy: Policy,
    pub mailer: Mailer,
    pub sms: Sms,
    pub code_key: SecretBox<[u8; 32]>,
    pub older_code_keys: Vec<SecretBox<[u8; 32]>>,
    /// Keys TOTP secrets are sealed with (Fernet), newest first: one per
    /// key of the ring, so a rotation leaves enrolled users enrolled.
    pub totp_keys: Vec<SecretBox<[u8; 32]>>,
    pub server_key: ServerKey,
    pub seals: Seals,
    pub access_keys: AccessKeys,
}

impl App {
    pub fn new(p: Parts) -> App {
        let config = p.config;
        let sessions = SessionCache::new(
            config.sessions.session_cache_entries,
            Duration::from_secs(config.sessions.session_cache_ttl),
        );
        // Both bounded at validation, so neither conversion saturates.
        let lockout = LockoutPolicy {
            tries: config.lockout.user_lock_tries,
            lock_time: chrono::Duration::seconds(
                i64::try_from(config.lockout.user_lock_time).unwrap_or(0),
            ),
            first_delay: Duration::from_millis(config.lockout.failed_login_delay_ms),
        };
        let unknown_failures = UnknownFailures::new(&lockout, UNKNOWN_FAILURES_TRACKED);
        App {
            config,
            db: p.db,
            clock: p.clock,
            sessions,
            hasher: p.hasher,
            dummy_hash: p.dummy_hash,
            lockout,
            unknown_failures,
            passwords: p.passwords,
            pii: p.pii,
            policy: p.policy,
            mailer: p.mailer,
            sms: p.sms,
            code_key: p.code_key,
            older_code_keys: p.older_code_keys,
            totp_keys: p.totp_keys,
            server_key: p.server_key,
            seals: p.seals,
            access_keys: RwLock::new(Arc::new(p.access_keys)),
            access_keys_loaded: Mutex::new(std::time::Instant::now()),
            challenge_waits: ChallengeWaits::default(),
            rate_limit_audits: Default::default(),
            metrics: crate::metrics::Metrics::new(
                crate::catalogue::all().map(|s| s.name),
                crate::VERSION,
            ),
        }
    }

    /// HMAC-SHA256 of `what` under `code_key`, hex.
    pub fn keyed(&self, what: &str) -> String {
        keyed_by(self.code_key.expose_secret(), what)
    }

    /// As `keyed`, under `code_key` and then each older ring key's.
    pub fn keyed_each(&self, what: &str) -> Vec<String> {
        std::iter::once(&self.code_key)
            .chain(&self.older_code_keys)
            .map(|k| keyed_by(k.expose_secret(), what))
            .collect()
    }

    /// A client address as the database stores it: keyed, so no IPs are kept.
    pub fn ip_digest(&self, ip: Option<&str>) -> Option<String> {
        ip.map(|ip| self.keyed(&format!("ip\0{ip}")))
    }

    /// The access-token keys as last loaded.
    pub fn access_keys(&self) -> Arc<AccessKeys> {
        self.access_keys.read().clone()
    }

    /// How long a retired access-token key stays published.
    pub fn publish_retired_keys_for(&self) -> chrono::Duration {
        crate::security::jwt::publish_retired_for(self.config.tokens.access_token_ttl)
    }

    /// Now, as the database stores it (naive UTC).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now().naive_utc()
    }
}

fn keyed_by(key: &[u8; 32], what: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    // HMAC takes keys of any length.
    let Ok(mut mac) = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(what.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}
