//! Start-up work beyond configuration: the hashing pool, the PII salt, and
//! the first-start seed with its superuser credentials.

use crate::secret::ExposeSecret;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use sea_orm::DatabaseConnection;
use serde_json::json;

use crate::clock::SharedClock;
use crate::config::Config;
use crate::notify::mail::Mailer;
use crate::notify::sms::Sms;
use crate::pii::Pii;
use crate::policy::Policy;
use crate::security::password::{HashError, PasswordHasher};
use crate::security::password_policy::{BreachCheck, PasswordPolicy};
use crate::security::password_rules::PasswordRules;
use crate::security::tokens::{self, RandomError};
use crate::store::seed::{self, Reserved};

#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("superuser credentials file {0}: {1}")]
    Credentials(PathBuf, std::io::Error),
    #[error("{0}")]
    Config(String),
    #[error("first-start seed: {0}")]
    Seed(sea_orm::DbErr),
}

pub fn password_hasher(config: &Config) -> PasswordHasher {
    let workers = config
        .hashing
        .hash_workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    // Validated in `Config::validated`, so the fallback is never used.
    let params = argon2::Params::new(
        config.hashing.argon2_memory_kib,
        config.hashing.argon2_iterations,
        config.hashing.argon2_parallelism,
        None,
    )
    .unwrap_or_default();
    PasswordHasher::new(params, workers, config.hashing.hash_queue)
}

/// A hash of a random password with the configured parameters, for
/// unknown users to be verified against.
pub async fn dummy_hash(hasher: &PasswordHasher) -> Result<String, SetupError> {
    Ok(hasher.hash(tokens::new_token()?).await?)
}

/// The password policy and, when configured, the breached-password check.
pub fn password_rules(config: &Config) -> Result<PasswordRules, SetupError> {
    let policy = PasswordPolicy::parse(&config.password.password_policy)
        .map_err(|e| SetupError::Config(format!("config key `password_policy`: {e}")))?;
    let breach = if config.password.breached_password_check {
        Some(
            BreachCheck::new(
                config.password.breached_password_url.clone(),
                config.password.breached_password_fail_closed,
                std::time::Duration::from_secs(5),
            )
            .map_err(|e| SetupError::Config(format!("config key `breached_password_url`: {e}")))?,
        )
    } else {
        None
    };
    Ok(PasswordRules {
        policy,
        breach,
        server_name: config.server.server_name.clone(),
    })
}

/// The mail and SMS senders as configured.
pub fn notifiers(config: &Config) -> Result<(Mailer, Sms), SetupError> {
    let mailer = Mailer::new(config).map_err(|e| SetupError::Config(e.to_string()))?;
    let sms = Sms::new(config).map_err(|e| SetupError::Config(e.to_string()))?;
    Ok((mailer, sms))
}

/// The permissions policy every access and limit check uses: the configured
/// file, checked now so a bad one stops start-up, or the built-in default.
pub fn permissions(config: &Config) -> Result<Policy, SetupError> {
    match &config.limits.permissions {
        Some(path) => Policy::load(path)
            .map_err(|e| SetupError::Config(format!("config key `permissions`: {e}"))),
        None => Policy::builtin()
            .map_err(|e| SetupError::Config(format!("built-in permissions policy: {e}"))),
    }
}

/// The configured salt, or a random one for this process (log digests then
/// correlate only within one run).
pub fn pii(config: &Config) -> Result<Pii, RandomError> {
    Ok(match &config.keys.pii_salt {
        Some(salt) => Pii::new(salt.expose_secret().as_bytes()),
        None => Pii::new(tokens::random_bytes::<32>()?),
    })
}

/// Seeds roles and reserved users into an empty database. When the superuser
/// password was generated, writes it to the credentials file (mode 0600)
/// first and returns that path.
pub async fn seed_if_empty(
    config: &Config,
    db: &DatabaseConnection,
    hasher: &PasswordHasher,
    clock: &SharedClock,
) -> Result<Option<PathBuf>, SetupError> {
    if seed::is_seeded(db).await.map_err(SetupError::Seed)? {
        return Ok(None);
    }
    let email = config
        .database
        .superuser_email
        .as_deref()
        .unwrap_or("admin@localhost")
        .trim()
        .to_lowercase();
    let (password, generated) = match &config.database.superuser_password {
        Some(p) => (p.expose_secret().to_owned(), false),
        None => (tokens::new_token()?[..22].to_owned(), true),
    };
    let su_hash = hasher.hash(password.clone()).await?;
    let anon_hash = hasher.hash(tokens::new_token()?).await?;
    let dummy_hash = hasher.hash(tokens::new_token()?).await?;
    let creds_path = &config.database.superuser_credentials_file;
    if generated {
        write_credentials(creds_path, &email, &password)?;
    }
    let seeded = seed::insert_reserved(
        db,
        Reserved {
            email,
            password_hash: su_hash,
        },
        anon_hash,
        dummy_hash,
        std::array::from_fn(|_| uuid::Uuid::new_v4().to_string()),
        clock.now().naive_utc(),
    )
    .await;
    match seeded {
        Ok(()) => Ok(generated.then(|| creds_path.clone())),
        Err(e) => {
            if generated {
                let _ = std::fs::remove_file(creds_path);
            }
            // Another process sharing the database may have seeded first.
            if seed::is_seeded(db).await.unwrap_or(false) {
                Ok(None)
            } else {
                Err(SetupError::Seed(e))
            }
        }
    }
}

fn write_credentials(path: &PathBuf, email: &str, password: &str) -> Result<(), SetupError> {
    let err = |e| SetupError::Credentials(path.clone(), e);
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
        .map_err(err)?;
    // An existing file keeps its mode on open; make sure it is private.
    file.set_permissions(std::fs::Permissions::from_mode(0o600))
        .map_err(err)?;
    let body = json!({"email": email, "password": password, "user_id": seed::SUPERUSER_ID});
    writeln!(file, "{body}").map_err(err)?;
    file.sync_all().map_err(err)
}
