//! The session-lookup cache: token digest → (session, user). Misses are not
//! cached. Invalidation bumps an epoch before removing entries, and a loader
//! that saw the epoch move while it read the database drops what it cached,
//! so a lookup racing a delete can never resurrect the deleted session.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use entity::{sessions, users};
use moka::future::Cache;

#[derive(Debug, Clone, PartialEq)]
pub struct CachedSession {
    pub session: sessions::Model,
    pub user: users::Model,
}

pub struct SessionCache {
    entries: Cache<String, Arc<CachedSession>>,
    epoch: AtomicU64,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionCache({} entries)", self.entries.entry_count())
    }
}

impl SessionCache {
    pub fn new(capacity: u64, ttl: Duration) -> SessionCache {
        SessionCache {
            entries: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            epoch: AtomicU64::new(0),
        }
    }

    pub async fn get(&self, token_hash: &str) -> Option<Arc<CachedSession>> {
        self.entries.get(token_hash).await
    }

    /// Read before loading from the database; pass to `insert`.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    pub async fn insert(&self, token_hash: String, value: Arc<CachedSession>, loaded_at: u64) {
        self.entries.insert(token_hash.clone(), value).await;
        if self.epoch() != loaded_at {
            self.entries.invalidate(&token_hash).await;
        }
    }

    pub async fn invalidate(&self, token_hash: &str) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate(token_hash).await;
    }

    /// Drops every cached session of `user_id` (after an edit, lock, delete
    /// or password change of that user).
    pub fn invalidate_user(&self, user_id: i64) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
        // Only fails if closures were not enabled at build time, which they are.
        let _ = self
            .entries
            .invalidate_entries_if(move |_, v| v.user.user_id == user_id);
    }
}
