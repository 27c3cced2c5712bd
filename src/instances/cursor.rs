//! Where a reader of the log stands, ids skipped over included.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// How long an id skipped over is read again: a row whose transaction
/// took its id and committed later than a higher one (sequences,
/// interleaved auto-increment) shows up well within this.
const GAP_KEEP: Duration = Duration::from_secs(10);
/// Ids skipped over tracked at most; past it the oldest are forgotten and
/// the cache dropped, as one of them might have been missed.
const MAX_GAPS: usize = 1024;

/// How a reader stands against the log's bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    Current,
    /// Rows past the last one read were pruned before they were read.
    Behind,
    /// The log's highest id is below the last one read.
    Restarted,
}

/// Where a reader of the log stands: the highest id read, and the ids
/// below it not read yet (skipped over, perhaps committing late), with
/// when each was first missed.
#[derive(Debug, Clone)]
pub struct Cursor {
    last: i64,
    gaps: BTreeMap<i64, Instant>,
    overflowed: bool,
}

impl Cursor {
    /// A reader that has read everything up to `last`.
    pub fn new(last: i64) -> Cursor {
        Cursor {
            last,
            gaps: BTreeMap::new(),
            overflowed: false,
        }
    }

    /// The highest id read.
    pub fn last(&self) -> i64 {
        self.last
    }

    pub fn has_gaps(&self) -> bool {
        !self.gaps.is_empty()
    }

    /// The ids below `last` to read again.
    pub fn missing(&self) -> Vec<i64> {
        self.gaps.keys().copied().collect()
    }

    /// Records that row `id` was read at `now`; whether it is new to this
    /// reader (not a row read before).
    pub fn saw(&mut self, id: i64, now: Instant) -> bool {
        if id <= self.last {
            return self.gaps.remove(&id).is_some();
        }
        let skipped = id.saturating_sub(self.last).saturating_sub(1);
        if skipped > MAX_GAPS as i64 {
            // A jump no late commit explains (a sequence moved by hand):
            // not tracked, but not trusted either.
            self.overflowed = true;
        } else {
            for g in self.last.saturating_add(1)..id {
                self.gaps.insert(g, now);
            }
            while self.gaps.len() > MAX_GAPS {
                self.gaps.pop_first();
                self.overflowed = true;
            }
        }
        self.last = id;
        true
    }

    /// Forgets ids missing for longer than `GAP_KEEP`: never committed
    /// (a failed insert, a rollback), not late.
    pub fn expire(&mut self, now: Instant) {
        self.gaps
            .retain(|_, since| now.saturating_duration_since(*since) < GAP_KEEP);
    }

    /// Whether ids were forgotten since the last call while they could
    /// still have committed.
    pub fn take_overflowed(&mut self) -> bool {
        std::mem::take(&mut self.overflowed)
    }

    /// Compares with the lowest and highest ids in the log, and moves past
    /// what can no longer be read.
    pub fn check(&mut self, lo: Option<i64>, hi: Option<i64>) -> Standing {
        let hi = hi.unwrap_or(0);
        if hi < self.last {
            *self = Cursor::new(hi);
            return Standing::Restarted;
        }
        let Some(lo) = lo else {
            return Standing::Current;
        };
        // Ids below the lowest row left are gone (pruned or never there).
        self.gaps.retain(|id, _| *id >= lo);
        if lo > self.last.saturating_add(1) {
            self.last = lo - 1;
            return Standing::Behind;
        }
        Standing::Current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_in_order_leave_no_gaps() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        for id in 11..=20 {
            assert!(c.saw(id, now));
        }
        assert_eq!(c.last(), 20);
        assert!(c.missing().is_empty());
        assert!(!c.saw(15, now), "a row read before is not new");
    }

    #[test]
    fn a_row_committing_after_a_higher_one_is_read_once_it_appears() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        assert!(c.saw(11, now));
        // 12 and 13 took their ids but had not committed when 14 was read.
        assert!(c.saw(14, now));
        assert_eq!(c.missing(), vec![12, 13]);
        let later = now + Duration::from_secs(3);
        c.expire(later);
        assert_eq!(c.missing(), vec![12, 13], "still within GAP_KEEP");
        assert!(c.saw(13, later), "13 committed late: new");
        assert!(!c.saw(13, later), "and only once");
        assert_eq!(c.missing(), vec![12]);
        assert_eq!(c.last(), 14);
    }

    #[test]
    fn ids_never_committed_are_forgotten_after_gap_keep() {
        let now = Instant::now();
        let mut c = Cursor::new(0);
        assert!(c.saw(5, now));
        assert_eq!(c.missing(), vec![1, 2, 3, 4]);
        assert!(c.saw(8, now + Duration::from_secs(6)));
        c.expire(now + GAP_KEEP);
        assert_eq!(c.missing(), vec![6, 7], "the older gaps expired");
        c.expire(now + Duration::from_secs(6) + GAP_KEEP);
        assert!(c.missing().is_empty());
        assert!(!c.take_overflowed(), "expiry is not an overflow");
    }

    #[test]
    fn too_many_gaps_are_reported_not_grown_without_bound() {
        let now = Instant::now();
        let mut c = Cursor::new(0);
        // Every other id missing, as with an auto-increment step of 2.
        let mut id = 0;
        for _ in 0..MAX_GAPS {
            id += 2;
            assert!(c.saw(id, now));
        }
        assert!(!c.take_overflowed());
        assert_eq!(c.missing().len(), MAX_GAPS);
        assert!(c.saw(id + 2, now));
        assert!(c.take_overflowed(), "a gap had to be forgotten early");
        assert_eq!(c.missing().len(), MAX_GAPS);
        assert!(!c.take_overflowed(), "reported once");

        // A jump by more than can be tracked: reported, not allocated.
        let mut c = Cursor::new(1);
        assert!(c.saw(i64::MAX, now));
        assert!(c.take_overflowed());
        assert!(c.missing().is_empty());
        assert_eq!(c.last(), i64::MAX);
    }

    #[test]
    fn the_log_s_bounds_tell_a_reader_that_fell_behind_or_a_log_that_went_back() {
        let now = Instant::now();
        let mut c = Cursor::new(10);
        assert_eq!(c.check(Some(3), Some(10)), Standing::Current);
        assert_eq!(c.check(Some(11), Some(12)), Standing::Current);
        assert_eq!(c.check(None, None), Standing::Restarted, "emptied");
        assert_eq!(c.last(), 0);

        let mut c = Cursor::new(10);
        assert_eq!(
            c.check(Some(40), Some(50)),
            Standing::Behind,
            "11 to 39 pruned unread"
        );
        assert_eq!(c.last(), 39, "reads on from what is left");
        assert!(c.saw(40, now));

        // Gaps below the lowest row left cannot be read any more.
        let mut c = Cursor::new(10);
        assert!(c.saw(13, now));
        assert_eq!(c.check(Some(12), Some(13)), Standing::Current);
        assert_eq!(c.missing(), vec![12]);
    }
}
