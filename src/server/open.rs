//! Everything a server (or the operator's command line) works on, built
//! from the configuration: the key ring, the migrated database, the hashing
//! pool, the signing keys, the application state.

use std::path::PathBuf;
use std::sync::Arc;

use super::StartError;
use crate::app::{self, App};
use crate::clock::SharedClock;
use crate::config::{self, Config};
use crate::{crypto, import, keys, security, setup, store, tls};

/// Facts about a start worth telling the operator.
#[derive(Debug, Default, Clone)]
pub struct StartReport {
    /// A key file this start created.
    pub created_key_file: Option<PathBuf>,
    /// Where generated superuser credentials were written.
    pub superuser_credentials: Option<PathBuf>,
    /// An authnzerver database this start converted in place.
    pub converted: Option<import::Summary>,
}

/// What serving and the operator's commands (`authnzd user …`) both work
/// on: the application state, the key ring, and what start-up did.
pub struct Opened {
    pub app: Arc<App>,
    pub ring: crate::crypto::KeyRing,
    pub report: StartReport,
}

/// Everything `serve` builds before it listens: the permissions policy, the
/// mail and SMS senders, the key ring (a missing key file is created), the
/// migrated and (when empty) seeded database, the hashing pool, the password
/// rules and the server's signing key.
pub async fn open(config: Config, clock: SharedClock) -> Result<Opened, StartError> {
    tls::install_provider();
    let config = Arc::new(config);
    let policy = setup::permissions(&config)?;
    let (mailer, sms) = setup::notifiers(&config)?;
    let (ring, created_key_file) = keys::load(&config)?;
    let db = store::connect(&config).await?;
    let sqlite_file = config::sqlite_path(&config.database.database_url);
    let converted =
        import::convert_in_place(&db, sqlite_file.as_deref(), clock.now().naive_utc()).await?;
    if let Some(summary) = &converted {
        tracing::warn!(%summary, "converted an authnzerver database in place");
    }
    store::migrate(&db).await?;
    let hasher = setup::password_hasher(&config);
    let superuser_credentials = setup::seed_if_empty(&config, &db, &hasher, &clock).await?;
    let pii = setup::pii(&config).map_err(setup::SetupError::from)?;
    let dummy_hash = setup::dummy_hash(&hasher).await?;
    let passwords = setup::password_rules(&config)?;
    let seals = crypto::Sealer::of(&ring, crypto::Label::ServerKeys);
    let server_key = security::server_key::load_or_create(
        &db,
        &seals,
        security::server_key::PAYLOAD_KEY,
        clock.now().naive_utc(),
    )
    .await?;
    let publish_for = security::jwt::publish_retired_for(config.tokens.access_token_ttl);
    let access_keys =
        security::jwt::load(&db, &seals, clock.now().naive_utc(), publish_for).await?;
    let app = Arc::new(App::new(app::Parts {
        credentials: app::Credentials::new(&config, hasher, dummy_hash, passwords),
        keys: app::Keys::new(&ring, server_key, access_keys),
        notify: app::Notify { mailer, sms },
        config,
        db,
        clock,
        pii,
        policy,
    }));
    Ok(Opened {
        app,
        ring,
        report: StartReport {
            converted,
            created_key_file,
            superuser_credentials,
        },
    })
}
