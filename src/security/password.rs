//! argon2id hashing on a bounded pool: a semaphore of `workers` permits in
//! front of `spawn_blocking`, and at most `queue` callers waiting for one.
//! Past that, callers get `Busy` at once, so a login flood cannot pile up
//! memory or starve the runtime.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher as _, PasswordVerifier, Version,
};
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing queue is full")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

pub struct PasswordHasher {
    argon: Argon2<'static>,
    permits: Arc<Semaphore>,
    workers: usize,
    waiting: AtomicUsize,
    queue: usize,
}

impl std::fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("workers", &self.permits.available_permits())
            .field("queue", &self.queue)
            .finish()
    }
}

impl PasswordHasher {
    pub fn new(params: Params, workers: usize, queue: usize) -> PasswordHasher {
        PasswordHasher {
            argon: Argon2::new(Algorithm::Argon2id, Version::V0x13, params),
            permits: Arc::new(Semaphore::new(workers.max(1))),
            workers: workers.max(1),
            waiting: AtomicUsize::new(0),
            queue,
        }
    }

    /// Hashes running now.
    pub fn busy(&self) -> usize {
        self.workers
            .saturating_sub(self.permits.available_permits())
    }

    /// Hashes waiting for a worker now.
    pub fn queued(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// A PHC string (`$argon2id$v=19$m=…`) with a fresh random salt.
    pub async fn hash(&self, password: String) -> Result<String, HashError> {
        let argon = self.argon.clone();
        self.run(move || {
            argon
                .hash_password(password.as_bytes())
                .map(|h| h.to_string())
                .map_err(|e| HashError::Failed(e.to_string()))
        })
        .await
    }

    /// Whether `password` matches the PHC string `hash`. A malformed stored
    /// hash is a mismatch, not an error, but still costs a full hash so that
    /// timing does not tell it apart.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        let argon = self.argon.clone();
        self.run(move || {
            Ok(match PasswordHash::new(&hash) {
                Ok(parsed) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
                Err(_) => {
                    let _ = argon.hash_password(password.as_bytes());
                    false
                }
            })
        })
        .await
    }

    /// Whether `hash` was made with other parameters than the configured
    /// ones (then it is re-hashed at the next successful login).
    pub fn needs_rehash(&self, hash: &str) -> bool {
        let Ok(parsed) = PasswordHash::new(hash) else {
            return true;
        };
        let Ok(params) = Params::try_from(&parsed) else {
            return true;
        };
        let want = self.argon.params();
        parsed.algorithm != argon2::ARGON2ID_IDENT
            || params.m_cost() != want.m_cost()
            || params.t_cost() != want.t_cost()
            || params.p_cost() != want.p_cost()
    }

    async fn run<T, F>(&self, job: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, HashError> + Send + 'static,
    {
        // The place in the queue is given back when this future ends, however
        // it ends: a client that hangs up drops it while it waits.
        let place = QueuePlace::take(&self.waiting, self.queue).ok_or(HashError::Busy)?;
        let permit = self.permits.clone().acquire_owned().await;
        drop(place);
        let permit = permit.map_err(|e| HashError::Failed(e.to_string()))?;
        // A started hash runs to its end even if the caller goes away; the
        // permit goes with it, so the pool stays bounded.
        tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            out
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

/// One of the `queue` places for callers waiting for a worker.
struct QueuePlace<'a>(&'a AtomicUsize);

impl<'a> QueuePlace<'a> {
    fn take(waiting: &'a AtomicUsize, queue: usize) -> Option<QueuePlace<'a>> {
        waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < queue).then_some(n + 1)
            })
            .ok()
            .map(|_| QueuePlace(waiting))
    }
}

impl Drop for QueuePlace<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> PasswordHasher {
        PasswordHasher::new(Params::new(1024, 1, 1, None).unwrap(), 1, 1)
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let h = fast();
        let phc = h.hash("correct horse".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify("correct horse".into(), phc.clone()).await.unwrap());
        assert!(!h.verify("wrong horse".into(), phc).await.unwrap());
        assert!(!h.verify("x".into(), "not-a-hash".into()).await.unwrap());
    }

    #[tokio::test]
    async fn other_parameters_need_a_rehash() {
        let h = fast();
        let phc = h.hash("pw".into()).await.unwrap();
        assert!(!h.needs_rehash(&phc));
        let stronger = PasswordHasher::new(Params::new(2048, 1, 1, None).unwrap(), 1, 1);
        assert!(stronger.needs_rehash(&phc));
        assert!(h.needs_rehash("garbage"));
    }

    /// Hashes as authnzerver stores them: argon2-cffi's `PasswordHasher`
    /// (authnzerver at 9a038e3) and passlib's `argon2` (its older releases),
    /// both m=65536, t=3, p=4, made with those libraries.
    #[tokio::test]
    async fn authnzerver_and_passlib_hashes_verify_and_need_a_rehash() {
        let h = fast();
        for (phc, password) in [
            (
                "$argon2id$v=19$m=65536,t=3,p=4$idKia1ZEFx49XSmQnODhVQ$khqZ285R/udNsuW1kj60YPP8mPdns6qynNQ3ztulXOM",
                "correct horse battery staple 1",
            ),
            (
                "$argon2id$v=19$m=65536,t=3,p=4$XIsR4jxnTKk1htAaY6wVIg$TKVKa3ZM31gvlbNhkXH11jxGvTXQhKbmEQyGTAo59Rg",
                "passlib pass phrase 42",
            ),
        ] {
            assert!(
                h.verify(password.into(), phc.into()).await.unwrap(),
                "{phc}"
            );
            assert!(!h.verify("not it".into(), phc.into()).await.unwrap());
            assert!(h.needs_rehash(phc));
        }
    }

    #[tokio::test]
    async fn refuses_past_the_queue_bound() {
        let h = Arc::new(PasswordHasher::new(
            Params::new(64 * 1024, 3, 1, None).unwrap(),
            1,
            1,
        ));
        let mut tasks = Vec::new();
        for _ in 0..6 {
            let h = h.clone();
            tasks.push(tokio::spawn(async move { h.hash("pw".into()).await }));
        }
        let mut busy = 0;
        for t in tasks {
            if matches!(t.await.unwrap(), Err(HashError::Busy)) {
                busy += 1;
            }
        }
        assert!(
            busy >= 1,
            "six concurrent hashes on one worker with one queue slot"
        );
    }

    #[tokio::test]
    async fn a_cancelled_waiter_gives_its_place_back() {
        let h = Arc::new(PasswordHasher::new(
            Params::new(32 * 1024, 2, 1, None).unwrap(),
            1,
            2,
        ));
        // Many more waiters than places, each dropped while it waits.
        for _ in 0..50 {
            let h = h.clone();
            let waiter = tokio::spawn(async move { h.hash("pw".into()).await });
            tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            waiter.abort();
            let _ = waiter.await;
        }
        assert_eq!(h.waiting.load(Ordering::Acquire), 0);
        assert!(h.hash("pw".into()).await.is_ok());
    }
}
