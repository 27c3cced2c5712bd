//! In-process wake-ups for `pubkey-challenge-wait`: a waiter subscribes to
//! its challenge id, and whoever completes the challenge in this process
//! wakes every waiter on it at once. A completion by another process on the
//! same database is seen by the waiters' periodic re-check instead.

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct ChallengeWaits {
    waiting: Mutex<HashMap<String, Arc<Notify>>>,
}

/// A waiter's hold on its challenge's `Notify`; the entry goes when the
/// last waiter on it does.
pub struct Subscription<'a> {
    waits: &'a ChallengeWaits,
    id: String,
    pub notify: Arc<Notify>,
}

impl ChallengeWaits {
    pub fn subscribe(&self, id: &str) -> Subscription<'_> {
        let notify = self
            .waiting
            .lock()
            .entry(id.to_owned())
            .or_default()
            .clone();
        Subscription {
            waits: self,
            id: id.to_owned(),
            notify,
        }
    }

    /// Wakes every waiter on `id` in this process.
    pub fn wake(&self, id: &str) {
        if let Some(n) = self.waiting.lock().get(id) {
            n.notify_waiters();
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
        let mut waiting = self.waits.waiting.lock();
        // The map's reference and this one: no other waiter.
        if Arc::strong_count(&self.notify) <= 2 {
            waiting.remove(&self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_waiters_and_forgets_finished_ones() {
        let waits = ChallengeWaits::default();
        let a = waits.subscribe("c1");
        let b = waits.subscribe("c1");
        {
            let na = a.notify.notified();
            let nb = b.notify.notified();
            tokio::pin!(na, nb);
            na.as_mut().enable();
            nb.as_mut().enable();
            waits.wake("c1");
            tokio::time::timeout(std::time::Duration::from_secs(1), async {
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
}
