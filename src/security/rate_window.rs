//! Burst windows on top of GCRA, so a burst is counted as authnzerver
//! counts it. GCRA hands cells back while a burst is being spent: 300
//! requests in a second against `burst:150` at 120 a minute let 151 or 152
//! through, where authnzerver's counters let exactly 150 through and then
//! nothing until the average rate is back under the limit.
//!
//! A key that has spent two or more cells of its burst at once opens a
//! window of `burst / rate` minutes (the time the whole burst takes to come
//! back) in which at most `burst` requests pass, counting the cells already
//! spent. Keys that send one request now and then never open one, so a
//! flood of distinct addresses costs no memory here; windows are forgotten
//! once they close.

use std::collections::HashMap;
use std::time::Duration;

use parking_lot::Mutex;

pub(super) type Key = u128;

struct Window {
    opened: Duration,
    count: u32,
}

pub(super) struct BurstWindows {
    burst: u32,
    length: Duration,
    open: Mutex<HashMap<Key, Window>>,
}

impl BurstWindows {
    pub(super) fn new(per_minute: u32, burst: u32) -> BurstWindows {
        let per_minute = f64::from(per_minute.max(1));
        BurstWindows {
            burst,
            length: Duration::from_secs_f64(60.0 * f64::from(burst) / per_minute),
            open: Mutex::new(HashMap::new()),
        }
    }

    /// How long `key` must wait when its window is full.
    pub(super) fn full(&self, key: Key, now: Duration) -> Option<Duration> {
        let open = self.open.lock();
        let w = open.get(&key)?;
        let closes = w.opened + self.length;
        (now < closes && w.count >= self.burst).then(|| closes - now)
    }

    /// Counts a request GCRA let through, which left `remaining` cells.
    pub(super) fn record(&self, key: Key, remaining: u32, now: Duration) {
        let mut open = self.open.lock();
        if let Some(w) = open.get_mut(&key) {
            if now < w.opened + self.length {
                w.count = w.count.saturating_add(1);
                return;
            }
            open.remove(&key);
        }
        let spent = self.burst.saturating_sub(remaining);
        if spent >= 2 {
            open.insert(
                key,
                Window {
                    opened: now,
                    count: spent,
                },
            );
        }
    }

    /// Forgets closed windows.
    pub(super) fn sweep(&self, now: Duration) {
        let length = self.length;
        let mut open = self.open.lock();
        open.retain(|_, w| now < w.opened + length);
        open.shrink_to_fit();
    }

    pub(super) fn len(&self) -> usize {
        self.open.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spent_burst_passes_no_more_until_its_window_closes() {
        let w = BurstWindows::new(120, 150);
        assert_eq!(w.length, Duration::from_secs(75));
        let t0 = Duration::from_secs(1000);
        // One request: no window.
        w.record(1, 149, t0);
        assert_eq!(w.len(), 0);
        // A second at once opens one counting both, and GCRA's refills do
        // not add to it.
        w.record(1, 148, t0);
        for _ in 2..150 {
            assert!(w.full(1, t0).is_none());
            w.record(1, 100, t0);
        }
        assert_eq!(
            w.full(1, t0 + Duration::from_secs(1)),
            Some(Duration::from_secs(74))
        );
        assert!(w.full(1, t0 + Duration::from_secs(75)).is_none());
        w.sweep(t0 + Duration::from_secs(75));
        assert_eq!(w.len(), 0);
    }
}
