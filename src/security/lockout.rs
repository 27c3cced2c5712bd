//! Failed-password delays and lockout, as authnzerver counts them: with
//! `tries = N`, failures 1…N are answered after 1.5^(n−1) × `first_delay`
//! (capped at 40 × `first_delay`), and the failure after them locks the
//! account for `lock_time`. A lock ends by itself when its time passes, and
//! the count starts again.
//!
//! Accounts keep their count in the users table (one conditional update per
//! failure, see `store::users::record_failure`), so it survives restarts and
//! holds across processes. Addresses without an account are counted here, in
//! a bounded cache, so that their answers are delayed and locked exactly like
//! an account's and timing does not tell the two apart.

use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDateTime;
use entity::users;
use moka::sync::Cache;
use parking_lot::Mutex;

/// The delay grows to at most this many times the first one (40 s).
const MAX_DELAY_FACTOR: f64 = 40.0;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub tries: u32,
    pub lock_time: chrono::Duration,
    pub first_delay: Duration,
}

/// A user's failure state after one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureState {
    /// Failures since the last success or lock.
    pub tries: i64,
    /// Set once the count passed the limit.
    pub lock_expires: Option<NaiveDateTime>,
}

impl LockoutPolicy {
    /// When the account's failure lock ends, if it is locked at `now`.
    pub fn locked_until(&self, u: &users::Model, now: NaiveDateTime) -> Option<NaiveDateTime> {
        u.lock_expires.filter(|until| *until > now)
    }

    /// The lock a failure past the limit sets, or `None` when `now` plus the
    /// lock time is past any date (the config bounds make that impossible).
    pub fn lock_until(&self, now: NaiveDateTime) -> Option<NaiveDateTime> {
        now.checked_add_signed(self.lock_time)
    }

    /// How long the answer to the `n`-th failure waits.
    pub fn delay(&self, n: i64) -> Duration {
        if n < 1 {
            return Duration::ZERO;
        }
        let exp = i32::try_from(n - 1).unwrap_or(i32::MAX);
        self.first_delay
            .mul_f64(1.5_f64.powi(exp).min(MAX_DELAY_FACTOR))
    }

    /// What a failure answers: a delay, or a lock (with its end).
    pub fn verdict(&self, state: FailureState, now: NaiveDateTime) -> Verdict {
        match state.lock_expires {
            Some(until) if until > now => Verdict::Locked { until },
            _ => Verdict::Wait(self.delay(state.tries)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Wait(Duration),
    Locked { until: NaiveDateTime },
}

/// Failure counts of addresses that have no account, keyed by a digest of
/// the canonical address. Bounded: past `capacity` the least used are
/// forgotten (an attacker must send that many other failures first).
pub struct UnknownFailures {
    counts: Cache<String, Arc<Mutex<FailureState>>>,
    tries: i64,
}

impl std::fmt::Debug for UnknownFailures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "UnknownFailures({} addresses)",
            self.counts.entry_count()
        )
    }
}

impl UnknownFailures {
    pub fn new(policy: &LockoutPolicy, capacity: u64) -> UnknownFailures {
        // Idle counts live as long as a lock would, plus the longest delay.
        let idle = policy
            .lock_time
            .to_std()
            .unwrap_or(Duration::from_secs(3600))
            .saturating_add(policy.delay(i64::MAX));
        UnknownFailures {
            counts: Cache::builder()
                .max_capacity(capacity)
                .time_to_idle(idle)
                .build(),
            tries: i64::from(policy.tries),
        }
    }

    /// The lock on `key` at `now`, if any.
    pub fn locked_until(&self, key: &str, now: NaiveDateTime) -> Option<NaiveDateTime> {
        let state = self.counts.get(key)?;
        let s = state.lock();
        s.lock_expires.filter(|until| *until > now)
    }

    /// Counts one failure for `key`, as `store::users::record_failure` does
    /// for an account: an ended lock restarts the count, the failure past
    /// the limit sets `lock_until`.
    pub fn record(
        &self,
        key: &str,
        now: NaiveDateTime,
        lock_until: Option<NaiveDateTime>,
    ) -> FailureState {
        let entry = self.counts.get_with(key.to_owned(), || {
            Arc::new(Mutex::new(FailureState {
                tries: 0,
                lock_expires: None,
            }))
        });
        let mut s = entry.lock();
        if s.lock_expires.is_some_and(|until| until <= now) {
            *s = FailureState {
                tries: 0,
                lock_expires: None,
            };
        }
        s.tries = s.tries.saturating_add(1);
        if s.lock_expires.is_none() && s.tries > self.tries {
            s.lock_expires = lock_until;
        }
        *s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> NaiveDateTime {
        chrono::DateTime::from_timestamp(1_800_000_000 + secs, 0)
            .unwrap()
            .naive_utc()
    }

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            tries: 3,
            lock_time: chrono::Duration::seconds(3600),
            first_delay: Duration::from_secs(1),
        }
    }

    #[test]
    fn delays_grow_by_half_and_stop_at_forty_times() {
        let p = policy();
        assert_eq!(p.delay(0), Duration::ZERO);
        assert_eq!(p.delay(1), Duration::from_secs(1));
        assert_eq!(p.delay(2), Duration::from_millis(1500));
        assert_eq!(p.delay(3), Duration::from_millis(2250));
        assert_eq!(p.delay(10), Duration::from_nanos(38_443_359_375));
        assert_eq!(p.delay(11), Duration::from_secs(40));
        assert_eq!(p.delay(i64::MAX), Duration::from_secs(40));
    }

    #[test]
    fn unknown_addresses_count_and_lock_like_accounts() {
        let p = policy();
        let unknown = UnknownFailures::new(&p, 100);
        let now = at(0);
        let lock = p.lock_until(now);
        for n in 1..=3 {
            let s = unknown.record("k", now, lock);
            assert_eq!(s.tries, n);
            assert_eq!(p.verdict(s, now), Verdict::Wait(p.delay(n)));
        }
        let s = unknown.record("k", now, lock);
        assert_eq!(
            p.verdict(s, now),
            Verdict::Locked {
                until: now + chrono::Duration::seconds(3600)
            }
        );
        assert!(unknown.locked_until("k", now).is_some());
        assert!(unknown.locked_until("other", now).is_none());
        // The lock ends by itself and the count starts again.
        let later = at(3601);
        assert!(unknown.locked_until("k", later).is_none());
        assert_eq!(unknown.record("k", later, p.lock_until(later)).tries, 1);
    }

    #[test]
    fn concurrent_failures_of_one_unknown_address_count_each() {
        let p = LockoutPolicy {
            tries: 5,
            ..policy()
        };
        let unknown = Arc::new(UnknownFailures::new(&p, 100));
        let now = at(0);
        let threads: Vec<_> = (0..20)
            .map(|_| {
                let unknown = unknown.clone();
                std::thread::spawn(move || unknown.record("k", now, p.lock_until(now)).tries)
            })
            .collect();
        let mut seen: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        seen.sort_unstable();
        assert_eq!(seen, (1..=20).collect::<Vec<_>>());
        assert!(unknown.locked_until("k", now).is_some());
    }

    #[test]
    fn a_lock_ends_by_itself() {
        let p = policy();
        let until = at(10);
        let u = users::Model {
            lock_expires: Some(until),
            ..blank_user()
        };
        assert_eq!(p.locked_until(&u, at(0)), Some(until));
        assert_eq!(p.locked_until(&u, at(11)), None);
    }

    #[test]
    fn a_lock_time_past_any_date_gives_no_lock_instead_of_a_panic() {
        let p = LockoutPolicy {
            lock_time: chrono::Duration::MAX,
            ..policy()
        };
        assert_eq!(p.lock_until(at(0)), None);
    }

    fn blank_user() -> users::Model {
        let t = at(0);
        users::Model {
            user_id: 4,
            system_id: "s".into(),
            full_name: None,
            password: String::new(),
            email: "a@b.c".into(),
            email_verified: true,
            is_active: true,
            emailverify_sent_datetime: None,
            emailforgotpass_sent_datetime: None,
            emailchangepass_sent_datetime: None,
            last_login_success: None,
            last_login_try: None,
            failed_login_tries: 0,
            lock_expires: None,
            extra_info: None,
            created_on: t,
            last_updated: t,
            user_role: "authenticated".into(),
            phone: None,
        }
    }
}
