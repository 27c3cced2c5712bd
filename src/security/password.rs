//! argon2id hashing on a bounded pool: a semaphore of `workers` permits in
//! front of `spawn_blocking`, and at most `queue` callers waiting for one.
//! Past that, callers get `Busy` at once, so a login flood cannot pile up
//! memory or starve the runtime.
//!
//! Every verification is answered no sooner than the most expensive
//! parameters in use take (plus a margin): a stored hash made with other
//! parameters (every account imported from authnzerver: m = 64 MiB, t = 3,
//! p = 4) would otherwise take longer to refuse than the dummy hash of an
//! unknown address, and tell the two apart. The wait is a sleep after the
//! worker is given back, so it costs no CPU.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

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
    /// Seconds one hash takes, by parameters (m, t, p): a moving average.
    costs: Mutex<HashMap<Cost, f64>>,
    /// Hashes computed (verifications included), for the metrics.
    runs: AtomicU64,
}

/// argon2 parameters as the cost table keys them: (m, t, p).
type Cost = (u32, u32, u32);

/// The weight of the newest timing in a moving average.
const COST_WEIGHT: f64 = 0.2;
/// Answers wait this much longer than the costliest average, so that a hash
/// a little slower than its average is still padded to the same time.
const PAD_MARGIN: f64 = 1.2;
/// No answer waits longer than this for padding (a stored hash with absurd
/// parameters must not stall every login).
const PAD_MAX: Duration = Duration::from_secs(5);

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
            costs: Mutex::new(HashMap::new()),
            runs: AtomicU64::new(0),
        }
    }

    /// Hashes computed since start (verifications included).
    pub fn runs(&self) -> u64 {
        self.runs.load(Ordering::Relaxed)
    }

    fn configured(&self) -> Cost {
        let p = self.argon.params();
        (p.m_cost(), p.t_cost(), p.p_cost())
    }

    /// Folds one timing of `cost` into its average.
    fn record(&self, cost: Cost, took: Duration) {
        let secs = took.as_secs_f64();
        let mut costs = self.costs.lock();
        costs
            .entry(cost)
            .and_modify(|avg| *avg += COST_WEIGHT * (secs - *avg))
            .or_insert(secs);
    }

    /// How long every verification takes at least: the costliest
    /// parameters seen, with the margin.
    pub fn floor(&self) -> Duration {
        let costliest = self.costs.lock().values().copied().fold(0.0, f64::max);
        Duration::try_from_secs_f64(costliest * PAD_MARGIN)
            .unwrap_or(PAD_MAX)
            .min(PAD_MAX)
    }

    /// Times one hash with the parameters of the PHC string `phc`, unless
    /// they were timed already: start-up does this for every parameter set
    /// stored, so that the first refusal of such an account is padded too.
    pub async fn calibrate(&self, phc: &str) -> Result<(), HashError> {
        let Some((cost, params)) = parameters(phc) else {
            return Ok(());
        };
        if self.costs.lock().contains_key(&cost) {
            return Ok(());
        }
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let (_, took) = self
            .run(move || {
                argon
                    .hash_password(b"calibration")
                    .map(|_| ())
                    .map_err(|e| HashError::Failed(e.to_string()))
            })
            .await?;
        self.record(cost, took);
        Ok(())
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
        let (phc, took) = self
            .run(move || {
                argon
                    .hash_password(password.as_bytes())
                    .map(|h| h.to_string())
                    .map_err(|e| HashError::Failed(e.to_string()))
            })
            .await?;
        self.record(self.configured(), took);
        Ok(phc)
    }

    /// Whether `password` matches the PHC string `hash`, answered no sooner
    /// than `floor()` after the hash started. A malformed stored hash is a
    /// mismatch, not an error, but still costs a full hash so that timing
    /// does not tell it apart.
    pub async fn verify(&self, password: String, hash: String) -> Result<bool, HashError> {
        let verdict = self.slot().await?.verify_paced(password, hash).await?;
        tokio::time::sleep_until(verdict.due).await;
        Ok(verdict.matched)
    }

    async fn verify_on(
        &self,
        slot: Slot<'_>,
        password: String,
        hash: String,
    ) -> Result<Verdict, HashError> {
        let argon = self.argon.clone();
        let cost = parameters(&hash).map_or_else(|| self.configured(), |(c, _)| c);
        let started = tokio::time::Instant::now();
        let (matched, took) = slot
            .run(move || {
                Ok(match PasswordHash::new(&hash) {
                    Ok(parsed) => argon.verify_password(password.as_bytes(), &parsed).is_ok(),
                    Err(_) => {
                        let _ = argon.hash_password(password.as_bytes());
                        false
                    }
                })
            })
            .await?;
        self.record(cost, took);
        Ok(Verdict {
            matched,
            due: started + self.floor(),
        })
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

    /// A worker of the pool, waited for in the queue (or `Busy` at once
    /// when the queue is full). A login takes one before it counts its try,
    /// so a guess that never gets to a worker (refused as busy, or its
    /// client hung up while it waited) is not counted.
    pub async fn slot(&self) -> Result<Slot<'_>, HashError> {
        // The place in the queue is given back when this future ends, however
        // it ends: a client that hangs up drops it while it waits.
        let place = QueuePlace::take(&self.waiting, self.queue).ok_or(HashError::Busy)?;
        let permit = self.permits.clone().acquire_owned().await;
        drop(place);
        let permit = permit.map_err(|e| HashError::Failed(e.to_string()))?;
        Ok(Slot {
            hasher: self,
            permit,
        })
    }

    /// Runs `job` on the pool; answers its result and how long it ran.
    async fn run<T, F>(&self, job: F) -> Result<(T, Duration), HashError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, HashError> + Send + 'static,
    {
        self.slot().await?.run(job).await
    }
}

/// A worker held for one hash.
pub struct Slot<'a> {
    hasher: &'a PasswordHasher,
    permit: tokio::sync::OwnedSemaphorePermit,
}

/// A verification whose answer is not out yet: whether the password
/// matched, and the earliest time an answer about it may go out.
#[derive(Debug, Clone, Copy)]
pub struct Verdict {
    pub matched: bool,
    pub due: tokio::time::Instant,
}

impl Slot<'_> {
    /// Verifies on this worker without waiting: the caller answers no
    /// sooner than `due` (after its own bookkeeping, which the wait then
    /// covers too).
    pub async fn verify_paced(self, password: String, hash: String) -> Result<Verdict, HashError> {
        let hasher = self.hasher;
        hasher.verify_on(self, password, hash).await
    }

    async fn run<T, F>(self, job: F) -> Result<(T, Duration), HashError>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, HashError> + Send + 'static,
    {
        let permit = self.permit;
        // A started hash runs to its end even if the caller goes away; the
        // permit goes with it, so the pool stays bounded.
        self.hasher.runs.fetch_add(1, Ordering::Relaxed);
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let out = job();
            let took = started.elapsed();
            drop(permit);
            out.map(|o| (o, took))
        })
        .await
        .map_err(|e| HashError::Failed(e.to_string()))?
    }
}

/// The argon2 parameters of a PHC string, if it is one.
fn parameters(phc: &str) -> Option<(Cost, Params)> {
    let parsed = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&parsed).ok()?;
    Some(((params.m_cost(), params.t_cost(), params.p_cost()), params))
}

/// The PHC string up to and including its parameters
/// (`$argon2id$v=19$m=19456,t=2,p=1$`): hashes that share it cost the same.
/// A string that is no PHC hash is its own prefix.
pub fn parameter_prefix(phc: &str) -> &str {
    phc.match_indices('$')
        .nth(3)
        .map_or(phc, |(i, _)| &phc[..=i])
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

    #[test]
    fn the_parameter_prefix_ends_before_the_salt() {
        assert_eq!(
            parameter_prefix("$argon2id$v=19$m=65536,t=3,p=4$idKia1ZEFx49XSmQnODhVQ$khqZ"),
            "$argon2id$v=19$m=65536,t=3,p=4$"
        );
        assert_eq!(parameter_prefix("not-a-hash"), "not-a-hash");
    }

    /// After the costlier parameters are timed, a refusal against a cheap
    /// hash waits at least as long as one with them.
    #[tokio::test]
    async fn a_cheap_check_waits_for_the_costliest_parameters() {
        let h = fast();
        let cheap = h.hash("pw".into()).await.unwrap();
        let costly = PasswordHasher::new(Params::new(16 * 1024, 2, 1, None).unwrap(), 1, 1)
            .hash("pw".into())
            .await
            .unwrap();
        let before = h.floor();
        h.calibrate(&costly).await.unwrap();
        let floor = h.floor();
        assert!(
            floor > before,
            "{floor:?} after calibration, {before:?} before"
        );
        let started = std::time::Instant::now();
        assert!(!h.verify("wrong".into(), cheap).await.unwrap());
        assert!(started.elapsed() >= floor);
        assert_eq!(h.runs(), 3, "one hash, one calibration, one check");
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
