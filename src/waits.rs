//! In-process wake-ups for `pubkey-challenge-wait`: a waiter subscribes to
//! its challenge id, and whoever completes the challenge in this process
//! wakes every waiter on it at once. A completion by another process on the
//! same database is seen by the waiters' periodic re-check instead.
//!
//! The map holds one entry per challenge with waiters and counts them under
//! its lock, so the last waiter to leave, however waiters leave (answered,
//! timed out, cancelled), removes the entry; ids are checked for shape
//! before anything is kept for them.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

/// A challenge id as `pubkey-challenge-new` makes them: 16 random bytes as
/// 32 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChallengeId(String);

impl ChallengeId {
    pub const LEN: usize = 32;

    /// `None` for anything that cannot be an id (so no lookup, no entry).
    pub fn parse(id: &str) -> Option<ChallengeId> {
        (id.len() == Self::LEN && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| ChallengeId(id.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Debug)]
struct Waiting {
    notify: Arc<Notify>,
    waiters: usize,
}

#[derive(Debug, Default)]
pub struct ChallengeWaits {
    waiting: Mutex<HashMap<ChallengeId, Waiting>>,
}

/// A waiter's hold on its challenge's `Notify`; the entry goes when the
/// last waiter on it does.
pub struct Subscription<'a> {
    waits: &'a ChallengeWaits,
    id: ChallengeId,
    pub notify: Arc<Notify>,
}

impl ChallengeWaits {
    pub fn subscribe(&self, id: &ChallengeId) -> Subscription<'_> {
        let mut waiting = self.waiting.lock();
        let entry = waiting.entry(id.clone()).or_insert_with(|| Waiting {
            notify: Arc::default(),
            waiters: 0,
        });
        entry.waiters += 1;
        Subscription {
            waits: self,
            id: id.clone(),
            notify: entry.notify.clone(),
        }
    }

    /// Wakes every waiter on `id` in this process.
    pub fn wake(&self, id: &str) {
        let Some(id) = ChallengeId::parse(id) else {
            return;
        };
        if let Some(w) = self.waiting.lock().get(&id) {
            w.notify.notify_waiters();
        }
    }

    /// Challenges with waiters now.
    pub fn len(&self) -> usize {
        self.waiting.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Drop for Subscription<'_> {
    fn drop(&mut self) {
        // Counted under the lock, not read off the `Arc`: two waiters
        // leaving at once each see the other's departure.
        let mut waiting = self.waits.waiting.lock();
        if let Some(w) = waiting.get_mut(&self.id) {
            w.waiters = w.waiters.saturating_sub(1);
            if w.waiters == 0 {
                waiting.remove(&self.id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn id(n: u8) -> ChallengeId {
        ChallengeId::parse(&format!("{n:032x}")).unwrap()
    }

    #[test]
    fn only_ids_of_the_issued_shape_pass() {
        assert!(ChallengeId::parse("0123456789abcdef0123456789abcdef").is_some());
        for bad in [
            "",
            "nope",
            "0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0",
            "0123456789ABCDEF0123456789ABCDEF",
            "0123456789abcdef0123456789abcdeg",
            "0123456789abcdef0123456789abcd\u{e9}",
        ] {
            assert!(ChallengeId::parse(bad).is_none(), "{bad:?}");
        }
        assert!(ChallengeId::parse(&"a".repeat(1 << 20)).is_none());
    }

    #[tokio::test]
    async fn wakes_waiters_and_forgets_finished_ones() {
        let waits = ChallengeWaits::default();
        let a = waits.subscribe(&id(1));
        let b = waits.subscribe(&id(1));
        {
            let na = a.notify.notified();
            let nb = b.notify.notified();
            tokio::pin!(na, nb);
            na.as_mut().enable();
            nb.as_mut().enable();
            waits.wake(id(1).as_str());
            tokio::time::timeout(Duration::from_secs(1), async {
                na.await;
                nb.await;
            })
            .await
            .unwrap();
        }
        drop(a);
        assert_eq!(waits.len(), 1);
        drop(b);
        assert!(waits.is_empty());
    }

    /// The old leak, made deterministic: a waiter's `Arc` still alive while
    /// the others leave (it was part-way through its own drop) made the
    /// last one see more than itself and keep the entry forever.
    #[test]
    fn the_count_is_of_waiters_not_of_references() {
        let waits = ChallengeWaits::default();
        let a = waits.subscribe(&id(7));
        let b = waits.subscribe(&id(7));
        let leaving = a.notify.clone();
        drop(a);
        drop(b);
        assert!(waits.is_empty());
        drop(leaving);
        // And an entry that is gone stays gone for a late leaver.
        let c = waits.subscribe(&id(7));
        let d = waits.subscribe(&id(8));
        drop(c);
        assert_eq!(waits.len(), 1);
        drop(d);
        assert!(waits.is_empty());
    }

    /// 60 rounds of 32 waiters on one challenge, on several threads: some
    /// woken, some timing out, some cancelled mid-wait, all leaving at
    /// about once. No round leaves an entry behind.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_waiters_leave_nothing_behind() {
        let waits = Arc::new(ChallengeWaits::default());
        for round in 0..60u8 {
            let challenge = id(round);
            let mut tasks = Vec::new();
            for n in 0..32u32 {
                let waits = waits.clone();
                let challenge = challenge.clone();
                tasks.push(tokio::spawn(async move {
                    let s = waits.subscribe(&challenge);
                    let woken = s.notify.notified();
                    let nap = Duration::from_millis(u64::from(n % 3) * 5);
                    let _ = tokio::time::timeout(nap, woken).await;
                    drop(s);
                }));
            }
            tokio::task::yield_now().await;
            waits.wake(challenge.as_str());
            for (n, t) in tasks.into_iter().enumerate() {
                if n % 4 == 0 {
                    t.abort();
                }
                let _ = t.await;
            }
            assert!(waits.is_empty(), "round {round}: {} left", waits.len());
        }
    }
}
