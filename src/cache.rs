//! Lookup caches for `session-exists` and everything that reads a session:
//! sessions by token digest, users by id. Misses are not cached.
//!
//! Every invalidation is O(1):
//! - one session: removed by key;
//! - one user's row (edit, lock, password change): removed by key;
//! - all sessions of a user (lock, delete, password change): a revocation
//!   mark for the user; cached sessions loaded before it are treated as
//!   misses and re-read.
//!
//! A global epoch, bumped before each invalidation, guards the loads: a
//! loader that saw the epoch move while it read the database drops what it
//! cached, so a lookup racing a delete or an edit cannot resurrect old data.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use entity::{sessions, users};
use moka::future::Cache;

/// A session with its user, as the actions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSession {
    pub session: Arc<sessions::Model>,
    pub user: Arc<users::Model>,
}

#[derive(Debug)]
struct SessionEntry {
    session: Arc<sessions::Model>,
    loaded_at: u64,
}

pub struct SessionCache {
    sessions: Cache<String, Arc<SessionEntry>>,
    users: Cache<i64, Arc<users::Model>>,
    /// user id → epoch of the last "all sessions of this user" revocation.
    revoked: Cache<i64, u64>,
    epoch: AtomicU64,
}

impl std::fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SessionCache({} sessions, {} users)",
            self.sessions.entry_count(),
            self.users.entry_count()
        )
    }
}

impl SessionCache {
    pub fn new(capacity: u64, ttl: Duration) -> SessionCache {
        SessionCache {
            sessions: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            users: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
            // A mark must outlive every session entry it could make stale.
            revoked: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl + Duration::from_secs(1))
                .build(),
            epoch: AtomicU64::new(0),
        }
    }

    /// Read before loading from the database; pass to the `put_*` call.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    fn bump(&self) -> u64 {
        self.epoch.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// A cached session, unless its user's sessions were revoked after it
    /// was loaded.
    pub async fn session(&self, token_hash: &str) -> Option<Arc<sessions::Model>> {
        let entry = self.sessions.get(token_hash).await?;
        match self.revoked.get(&entry.session.user_id).await {
            Some(mark) if mark >= entry.loaded_at => None,
            _ => Some(entry.session.clone()),
        }
    }

    pub async fn put_session(
        &self,
        token_hash: String,
        session: Arc<sessions::Model>,
        loaded_at: u64,
    ) {
        let entry = Arc::new(SessionEntry { session, loaded_at });
        self.sessions.insert(token_hash.clone(), entry).await;
        if self.epoch() != loaded_at {
            self.sessions.invalidate(&token_hash).await;
        }
    }

    pub async fn user(&self, user_id: i64) -> Option<Arc<users::Model>> {
        self.users.get(&user_id).await
    }

    pub async fn put_user(&self, user: Arc<users::Model>, loaded_at: u64) {
        let id = user.user_id;
        self.users.insert(id, user).await;
        if self.epoch() != loaded_at {
            self.users.invalidate(&id).await;
        }
    }

    /// After one session was deleted or edited.
    pub async fn invalidate_session(&self, token_hash: &str) {
        self.bump();
        self.sessions.invalidate(token_hash).await;
    }

    /// After the user's row changed (edit, lock, login bookkeeping).
    pub async fn invalidate_user(&self, user_id: i64) {
        self.bump();
        self.users.invalidate(&user_id).await;
    }

    /// After all (or all other) sessions of the user were deleted; also
    /// drops the user's row.
    pub async fn revoke_user_sessions(&self, user_id: i64) {
        let mark = self.bump();
        self.revoked.insert(user_id, mark).await;
        self.users.invalidate(&user_id).await;
    }
}
