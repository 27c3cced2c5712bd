//! The shared state every action receives.

use std::sync::Arc;
use std::time::Duration;

use sea_orm::DatabaseConnection;

use crate::cache::SessionCache;
use crate::clock::SharedClock;
use crate::config::Config;
use crate::pii::Pii;
use crate::security::password::PasswordHasher;

#[derive(Debug)]
pub struct App {
    pub config: Arc<Config>,
    pub db: DatabaseConnection,
    pub clock: SharedClock,
    pub sessions: SessionCache,
    pub hasher: PasswordHasher,
    pub pii: Pii,
}

impl App {
    pub fn new(
        config: Arc<Config>,
        db: DatabaseConnection,
        clock: SharedClock,
        hasher: PasswordHasher,
        pii: Pii,
    ) -> App {
        let sessions = SessionCache::new(
            config.session_cache_entries,
            Duration::from_secs(config.session_cache_ttl),
        );
        App {
            config,
            db,
            clock,
            sessions,
            hasher,
            pii,
        }
    }

    /// Now, as the database stores it (naive UTC).
    pub fn now(&self) -> chrono::NaiveDateTime {
        self.clock.now().naive_utc()
    }
}
