//! Lookup caches for `session-exists` and everything that reads a session:
//! sessions by token digest, users by id. Misses are not cached.
//!
//! Every invalidation is O(1):
//! - one session: removed by key;
//! - one user's row (edit, lock, password change): removed by key;
//! - all sessions of a user (lock, delete, password change): a revocation
//!   mark for the user; cached sessions loaded before it are treated as
//!   misses and re-read. Marks are never evicted while they matter: one
//!   stays until every entry it covers has expired, and when too many are
//!   held the oldest is folded into a floor that covers every user.
//!
//! A global epoch, bumped before each invalidation, guards the loads: a
//! loader that saw the epoch move while it read the database drops what it
//! cached, so a lookup racing a delete or an edit cannot resurrect old data.
//!
//! Other processes on the same database hear of each invalidation through
//! the outbox (the invalidation log, and on PostgreSQL `NOTIFY`; see
//! `instances`) and `apply` it; when some may have been missed, `flush`
//! drops everything.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use entity::users;
use moka::future::Cache;

mod row;
pub use row::SessionRow;

/// A session with its user, as the actions see it.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedSession {
    pub session: Arc<SessionRow>,
    pub user: Arc<users::Model>,
}

/// An invalidation, as other processes on the database hear of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invalidation {
    /// One session (by token digest).
    Session(String),
    /// One user's row.
    User(i64),
    /// All sessions of a user, and the user's row.
    UserSessions(i64),
    /// Everything (some invalidations could not be delivered).
    All,
}

impl Invalidation {
    /// Its text form: `s:<digest>`, `u:<id>`, `r:<id>`, `*`.
    pub fn encode(&self) -> String {
        match self {
            Invalidation::Session(t) => format!("s:{t}"),
            Invalidation::User(id) => format!("u:{id}"),
            Invalidation::UserSessions(id) => format!("r:{id}"),
            Invalidation::All => "*".to_owned(),
        }
    }

    pub fn decode(text: &str) -> Option<Invalidation> {
        if text == "*" {
            return Some(Invalidation::All);
        }
        let (kind, rest) = text.split_once(':')?;
        match kind {
            "s" => Some(Invalidation::Session(rest.to_owned())),
            "u" => rest.parse().ok().map(Invalidation::User),
            "r" => rest.parse().ok().map(Invalidation::UserSessions),
            _ => None,
        }
    }
}

/// Held by value: moka keeps each value behind a pointer of its own.
#[derive(Debug, Clone)]
struct SessionEntry {
    session: Arc<SessionRow>,
    loaded_at: u64,
}

/// A session's cache key: its digest's 32 bytes, not the 64-character hex
/// string (about a tenth of an entry's weight with a million sessions).
type SessionKey = [u8; 32];

/// `None` for anything but a token digest (`tokens::digest`): never cached,
/// so never served from the cache nor in need of invalidating.
fn session_key(token_hash: &str) -> Option<SessionKey> {
    let mut key = [0; 32];
    hex::decode_to_slice(token_hash, &mut key).ok()?;
    Some(key)
}

pub struct SessionCache {
    sessions: Cache<SessionKey, SessionEntry>,
    users: Cache<i64, Arc<users::Model>>,
    revoked: parking_lot::RwLock<Revocations>,
    epoch: AtomicU64,
    /// Session lookups answered from the cache, and not.
    hits: AtomicU64,
    misses: AtomicU64,
    /// Where invalidations go for other processes.
    outbox: std::sync::OnceLock<tokio::sync::mpsc::Sender<Invalidation>>,
    /// Invalidations the outbox had no room for since the publisher last
    /// looked: it then tells the others to drop everything.
    unsent: AtomicU64,
}

/// "All sessions of this user loaded before epoch E are stale", per user.
#[derive(Debug)]
struct Revocations {
    /// user id → epoch of the user's last revocation.
    marks: HashMap<i64, u64>,
    /// Marks in the order they were made, with when.
    order: VecDeque<(Instant, i64, u64)>,
    /// Every session loaded before this epoch is stale (where marks that
    /// had to go early went).
    floor: u64,
    /// How long a mark matters: the longest a session entry lives.
    ttl: Duration,
    capacity: usize,
}

impl Revocations {
    fn insert(&mut self, user_id: i64, mark: u64, now: Instant) {
        self.marks.insert(user_id, mark);
        self.order.push_back((now, user_id, mark));
        while let Some(&(at, id, m)) = self.order.front() {
            let expired = now.duration_since(at) > self.ttl;
            let over = self.order.len() > self.capacity;
            if !expired && !over {
                break;
            }
            self.order.pop_front();
            if over && !expired {
                self.floor = self.floor.max(m.saturating_add(1));
            }
            if self.marks.get(&id) == Some(&m) {
                self.marks.remove(&id);
            }
        }
    }

    fn is_stale(&self, user_id: i64, loaded_at: u64) -> bool {
        loaded_at < self.floor || self.marks.get(&user_id).is_some_and(|m| *m >= loaded_at)
    }
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
        Self::with_marks(capacity, capacity, ttl)
    }

    /// As `new`, with room for `marks` revocation marks.
    pub fn with_marks(capacity: u64, marks: u64, ttl: Duration) -> SessionCache {
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
            revoked: parking_lot::RwLock::new(Revocations {
                marks: HashMap::new(),
                order: VecDeque::new(),
                floor: 0,
                ttl: ttl.saturating_add(Duration::from_secs(1)),
                capacity: usize::try_from(marks).unwrap_or(usize::MAX).max(1),
            }),
            epoch: AtomicU64::new(0),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            outbox: std::sync::OnceLock::new(),
            unsent: AtomicU64::new(0),
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
    pub async fn session(&self, token_hash: &str) -> Option<Arc<SessionRow>> {
        let found = match session_key(token_hash) {
            Some(key) => self.sessions.get(&key).await,
            None => None,
        }
        .and_then(|entry| {
            let stale = self
                .revoked
                .read()
                .is_stale(entry.session.user_id, entry.loaded_at);
            (!stale).then(|| entry.session.clone())
        });
        let count = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        count.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Session lookups answered from the cache and not, since start.
    pub fn hits_and_misses(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub async fn put_session(&self, session: Arc<SessionRow>, loaded_at: u64) {
        let key = session.digest();
        let entry = SessionEntry { session, loaded_at };
        self.sessions.insert(key, entry).await;
        if self.epoch() != loaded_at {
            self.sessions.invalidate(&key).await;
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

    /// Sends every later invalidation to `outbox` too (set once).
    pub fn set_outbox(&self, outbox: tokio::sync::mpsc::Sender<Invalidation>) {
        let _ = self.outbox.set(outbox);
    }

    fn publish(&self, what: Invalidation) {
        if let Some(out) = self.outbox.get()
            && out.try_send(what).is_err()
        {
            // Full (the database is slow or down) or closed: counted, so
            // the publisher tells the others to drop everything instead.
            self.unsent.fetch_add(1, Ordering::AcqRel);
        }
    }

    /// How many invalidations found no room in the outbox since the last
    /// call.
    pub fn take_unsent(&self) -> u64 {
        self.unsent.swap(0, Ordering::AcqRel)
    }

    /// After one session was deleted or edited.
    pub async fn invalidate_session(&self, token_hash: &str) {
        self.apply(Invalidation::Session(token_hash.to_owned()))
            .await;
        self.publish(Invalidation::Session(token_hash.to_owned()));
    }

    /// After the user's row changed (edit, lock, login bookkeeping).
    pub async fn invalidate_user(&self, user_id: i64) {
        self.apply(Invalidation::User(user_id)).await;
        self.publish(Invalidation::User(user_id));
    }

    /// After all (or all other) sessions of the user were deleted; also
    /// drops the user's row.
    pub async fn revoke_user_sessions(&self, user_id: i64) {
        self.apply(Invalidation::UserSessions(user_id)).await;
        self.publish(Invalidation::UserSessions(user_id));
    }

    /// An invalidation here only (made here, or heard from another process).
    pub async fn apply(&self, what: Invalidation) {
        match what {
            Invalidation::Session(token_hash) => {
                self.bump();
                if let Some(key) = session_key(&token_hash) {
                    self.sessions.invalidate(&key).await;
                }
            }
            Invalidation::User(user_id) => {
                self.bump();
                self.users.invalidate(&user_id).await;
            }
            Invalidation::UserSessions(user_id) => {
                let mark = self.bump();
                self.revoked.write().insert(user_id, mark, Instant::now());
                self.users.invalidate(&user_id).await;
            }
            Invalidation::All => self.flush(),
        }
    }

    /// Drops everything (invalidations may have been missed).
    pub fn flush(&self) {
        self.bump();
        self.sessions.invalidate_all();
        self.users.invalidate_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The digest of test token `t<id>`: cache keys are token digests.
    fn digest_of(id: i64) -> String {
        crate::security::tokens::digest(&format!("t{id}"))
    }

    fn session(user_id: i64) -> Arc<SessionRow> {
        let t = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let row = SessionRow::from_model(entity::sessions::Model {
            token_hash: digest_of(user_id),
            ip_address: "203.0.113.7".into(),
            user_agent: "ua".into(),
            user_id,
            expires: t,
            created: t,
            extra_info_json: None,
            amr: String::new(),
            auth_time: None,
        });
        Arc::new(row.unwrap())
    }

    /// A cache holding one session of each of these users.
    async fn holding(user_ids: &[i64]) -> SessionCache {
        let cache = SessionCache::new(100, Duration::from_secs(600));
        let e = cache.epoch();
        for id in user_ids {
            cache.put_session(session(*id), e).await;
        }
        cache
    }

    #[tokio::test]
    async fn a_revocation_holds_when_marks_outnumber_the_capacity() {
        // Room for 2 marks, 10 users revoked: no revoked session is served.
        let cache = SessionCache::with_marks(100, 2, Duration::from_secs(600));
        for id in 1..=11 {
            let e = cache.epoch();
            cache.put_session(session(id), e).await;
        }
        for id in 1..=10 {
            cache.revoke_user_sessions(id).await;
        }
        for id in 1..=10 {
            assert!(
                cache.session(&digest_of(id)).await.is_none(),
                "user {id}'s revoked session served from the cache"
            );
        }
        // User 11 was not revoked, but the floor may cover it: at worst a
        // re-read, never a stale answer. Sessions loaded now are served.
        let e = cache.epoch();
        cache.put_session(session(1), e).await;
        cache.put_session(session(11), e).await;
        assert!(cache.session(&digest_of(1)).await.is_some());
        assert!(cache.session(&digest_of(11)).await.is_some());
    }

    #[test]
    fn invalidations_round_trip_as_text() {
        for i in [
            Invalidation::Session("ab12".into()),
            Invalidation::User(7),
            Invalidation::UserSessions(-3),
            Invalidation::All,
        ] {
            assert_eq!(Invalidation::decode(&i.encode()), Some(i));
        }
        assert_eq!(Invalidation::decode("x:1"), None);
        assert_eq!(Invalidation::decode("u:not"), None);
    }

    #[tokio::test]
    async fn only_token_digests_are_looked_up() {
        let cache = holding(&[1]).await;
        assert!(cache.session("not-a-digest").await.is_none());
        assert!(cache.session(&digest_of(1)).await.is_some());
        cache.invalidate_session(&digest_of(1)).await;
        assert!(cache.session(&digest_of(1)).await.is_none());
    }

    #[tokio::test]
    async fn a_flush_drops_everything() {
        let cache = holding(&[1]).await;
        cache.flush();
        assert!(cache.session(&digest_of(1)).await.is_none());
    }

    #[tokio::test]
    async fn sessions_of_other_users_stay_cached_while_marks_fit() {
        let cache = holding(&[1, 2]).await;
        cache.revoke_user_sessions(1).await;
        assert!(cache.session(&digest_of(1)).await.is_none());
        assert!(cache.session(&digest_of(2)).await.is_some());
    }
}
