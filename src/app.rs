//! The shared state every action receives, grouped by concern: credentials
//! (hashing, lockout, password rules), keys (what the ring derives or seals),
//! the ways out (mail, SMS), and in-process state.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use sea_orm::DatabaseConnection;

use crate::cache::SessionCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::crypto::{KeyRing, KeyedRing, Label, Sealer};
use crate::notify::mail::Mailer;
use crate::notify::sms::Sms;
use crate::pii::Pii;
use crate::policy::Policy;
use crate::security::jwt::AccessKeys;
use crate::security::lockout::LockoutPolicy;
use crate::security::password::PasswordHasher;
use crate::security::password_rules::PasswordRules;
use crate::security::server_key::ServerKey;
use crate::store::{self, batch::Batcher, sessions::Inserted, sessions::NewSession};
use crate::waits::ChallengeWaits;
use chrono::NaiveDateTime;

/// Everything a password or second-factor check needs.
#[derive(Debug)]
pub struct Credentials {
    pub hasher: PasswordHasher,
    /// A hash of a random password with the current parameters: unknown
    /// users are verified against it so every login costs one hash.
    pub dummy_hash: String,
    pub lockout: LockoutPolicy,
    pub rules: PasswordRules,
}

impl Credentials {
    pub fn new(
        config: &Config,
        hasher: PasswordHasher,
        dummy_hash: String,
        rules: PasswordRules,
    ) -> Credentials {
        // Both bounded at validation, so neither conversion saturates.
        let lockout = LockoutPolicy {
            tries: config.lockout.user_lock_tries,
            lock_time: chrono::Duration::seconds(
                i64::try_from(config.lockout.user_lock_time).unwrap_or(0),
            ),
            first_delay: Duration::from_millis(config.lockout.failed_login_delay_ms),
        };
        Credentials {
            hasher,
            dummy_hash,
            lockout,
            rules,
        }
    }
}

/// What is derived from the key ring or sealed under it.
#[derive(Debug)]
pub struct Keys {
    /// Keys one-time codes and client-IP digests stored in the database:
    /// derived from each key of the ring, so shared by every instance, and
    /// codes made before a rotation still match.
    pub codes: KeyedRing,
    /// Seals TOTP secrets; a rotation leaves enrolled users enrolled.
    pub totp_secrets: Sealer,
    /// Signs `pubkey-challenge-new` payloads.
    pub server_key: ServerKey,
    /// What server keys are sealed with (for reloads and rotations).
    pub seals: Sealer,
    /// Seals the tokens of email-change links.
    pub email_change: Sealer,
    /// Seals the tokens of mailed links (`actions::links`).
    pub links: Sealer,
    /// Seals passkey ceremonies' state while it waits in the database.
    pub passkey_ceremonies: Sealer,
    /// Access-token keys, reloaded now and then (another server may rotate).
    pub access: RwLock<Arc<AccessKeys>>,
    /// When `access` was last reloaded.
    pub access_loaded: Mutex<std::time::Instant>,
}

impl Keys {
    pub fn new(ring: &KeyRing, server_key: ServerKey, access: AccessKeys) -> Keys {
        Keys {
            codes: KeyedRing::new(ring.derive_each(Label::OneTimeCodes)),
            totp_secrets: Sealer::of(ring, Label::TotpSecrets),
            server_key,
            seals: Sealer::of(ring, Label::ServerKeys),
            email_change: Sealer::of(ring, Label::EmailChange),
            links: Sealer::of(ring, Label::MailedLinks),
            passkey_ceremonies: Sealer::of(ring, Label::PasskeyCeremonies),
            access: RwLock::new(Arc::new(access)),
            access_loaded: Mutex::new(std::time::Instant::now()),
        }
    }
}

/// The ways out to a user: mail and SMS.
#[derive(Debug)]
pub struct Notify {
    pub mailer: Mailer,
    pub sms: Sms,
}

/// The shared state every action receives, by concern.
#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub sessions: SessionCache,
    pub credentials: Credentials,
    pub keys: Keys,
    pub notify: Notify,
    pub pii: Pii,
    pub policy: Policy,
    /// Waiters of `pubkey-challenge-wait`, woken by completions here.
    pub challenge_waits: ChallengeWaits,
    /// Clients recently audited for hitting a rate limit.
    pub rate_limit_audits: crate::security::rate_limit::RateLimitAudits,
    /// Prometheus metrics.
    pub metrics: crate::metrics::Metrics,
    /// The WebAuthn relying party; `None` while passkeys are off.
    pub webauthn: Option<crate::security::passkeys::RelyingParty>,
    /// New sessions, written in batches (group commit).
    pub new_sessions: Batcher<NewSession, Inserted>,
    /// Sessions the cache did not have, looked up in batches: (digest, now).
    pub session_lookups: Batcher<(String, NaiveDateTime), Option<entity::sessions::Model>>,
}

/// Most rows a batched statement takes (sessions have 9 columns: far
/// below every backend's limit on bound values).
const MOST_PER_BATCH: usize = 64;

/// What start-up builds; `App::new` adds the in-process state.
pub struct Parts {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub credentials: Credentials,
    pub keys: Keys,
    pub notify: Notify,
    pub pii: Pii,
    pub policy: Policy,
}

impl App {
    /// Within a tokio runtime: it starts the batching tasks.
    pub fn new(p: Parts) -> App {
        let webauthn = crate::security::passkeys::RelyingParty::of(&p.config);
        let sessions = SessionCache::new(
            p.config.sessions.session_cache_entries,
            Duration::from_secs(p.config.sessions.session_cache_ttl),
        );
        let db = p.db.clone();
        let new_sessions = Batcher::start(MOST_PER_BATCH, move |rows| {
            let db = db.clone();
            async move { store::sessions::insert_all(&db, rows).await }
        });
        let db = p.db.clone();
        let session_lookups = Batcher::start(MOST_PER_BATCH, move |asked| {
            let db = db.clone();
            async move { store::sessions::find_live_all(&db, asked).await }
        });
        App {
            new_sessions,
            session_lookups,
            config: p.config,
            db: p.db,
            clock: p.clock,
            sessions,
            credentials: p.credentials,
            keys: p.keys,
            notify: p.notify,
            pii: p.pii,
            policy: p.policy,
            challenge_waits: ChallengeWaits::default(),
            rate_limit_audits: Default::default(),
            webauthn,
            metrics: crate::metrics::Metrics::new(
                crate::catalogue::all().map(|s| s.name),
                crate::VERSION,
            ),
        }
    }

    /// The database with the session cache its writes keep true (what every
    /// write of a user or a session row takes).
    pub fn writes(&self) -> crate::store::Writes<'_> {
        crate::store::Writes::new(&self.db, &self.sessions)
    }

    /// HMAC-SHA256 of `what` under the newest codes key, hex.
    pub fn keyed(&self, what: &str) -> String {
        self.keys.codes.hex(what)
    }

    /// As `keyed`, under each ring key's codes key, newest first.
    pub fn keyed_each(&self, what: &str) -> Vec<String> {
        self.keys.codes.hex_each(what)
    }

    /// A client address as the database stores it: keyed, so no IPs are kept.
    pub fn ip_digest(&self, ip: Option<&str>) -> Option<String> {
        ip.map(|ip| self.keyed(&format!("ip\0{ip}")))
    }

    /// What a client counts under in a window kept in the database: the
    /// digest of its `window_key` (an IPv6 client's /64), under each ring
    /// key, newest first (rows are written under the first; counting under
    /// all of them keeps a window whole across `authnzd key add`).
    pub fn ip_window_digests(&self, ip: Option<&str>) -> Vec<String> {
        ip.map(|ip| {
            let key = crate::security::client_addr::window_key_text(ip);
            self.keyed_each(&format!("ip\0{key}"))
        })
        .unwrap_or_default()
    }

    /// The access-token keys as last loaded.
    pub fn access_keys(&self) -> Arc<AccessKeys> {
        self.keys.access.read().clone()
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
