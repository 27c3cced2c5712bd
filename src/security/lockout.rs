//! Failed-password backoff and lockout, decided from the user's row so the
//! state survives restarts and holds across processes sharing a database.
//!
//! After a failure, attempts within 1.5^(n−1) s (capped at 40 s) of the last
//! one are refused unchecked; the `tries`-th failure locks the account for
//! `lock_time`. A lock ends by itself when its time passes.

use chrono::{Duration, NaiveDateTime};
use entity::users;

const MAX_BACKOFF_SECS: f64 = 40.0;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub tries: u32,
    pub lock_time: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    Backoff { until: NaiveDateTime },
    Locked { until: NaiveDateTime },
}

/// The row changes after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AfterFailure {
    pub tries: i32,
    pub lock_until: Option<NaiveDateTime>,
}

impl LockoutPolicy {
    pub fn gate(&self, u: &users::Model, now: NaiveDateTime) -> Gate {
        if let Some(until) = u.lock_expires
            && until > now
        {
            return Gate::Locked { until };
        }
        let tries = effective_tries(u, now);
        if tries > 0
            && let Some(last) = u.last_login_try
        {
            let until = last + backoff(tries);
            if until > now {
                return Gate::Backoff { until };
            }
        }
        Gate::Open
    }

    pub fn after_failure(&self, u: &users::Model, now: NaiveDateTime) -> AfterFailure {
        let tries = effective_tries(u, now).saturating_add(1);
        let lock_until =
            (tries >= i32::try_from(self.tries).unwrap_or(i32::MAX)).then(|| now + self.lock_time);
        AfterFailure { tries, lock_until }
    }
}

/// Failures since the last lock ended (an expired lock starts a new count).
fn effective_tries(u: &users::Model, now: NaiveDateTime) -> i32 {
    match u.lock_expires {
        Some(until) if until <= now => 0,
        _ => u.failed_login_tries.max(0),
    }
}

fn backoff(tries: i32) -> Duration {
    let secs = 1.5_f64.powi(tries.saturating_sub(1)).min(MAX_BACKOFF_SECS);
    Duration::milliseconds((secs * 1000.0) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(tries: i32, last: Option<NaiveDateTime>, lock: Option<NaiveDateTime>) -> users::Model {
        let t = chrono::DateTime::from_timestamp(1_700_000_000, 0)
            .unwrap()
            .naive_utc();
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
            last_login_try: last,
            failed_login_tries: tries,
            lock_expires: lock,
            extra_info: None,
            created_on: t,
            last_updated: t,
            user_role: "authenticated".into(),
            phone: None,
        }
    }

    fn policy() -> LockoutPolicy {
        LockoutPolicy {
            tries: 3,
            lock_time: Duration::seconds(3600),
        }
    }

    #[test]
    fn backoff_grows_then_locks() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let p = policy();
        assert_eq!(p.gate(&user(0, None, None), now), Gate::Open);
        // One failure just now: wait 1 s.
        let u = user(1, Some(now), None);
        assert!(matches!(p.gate(&u, now), Gate::Backoff { .. }));
        assert_eq!(p.gate(&u, now + Duration::seconds(1)), Gate::Open);
        // Two failures: wait 1.5 s.
        let u = user(2, Some(now), None);
        assert!(matches!(
            p.gate(&u, now + Duration::seconds(1)),
            Gate::Backoff { .. }
        ));
        // The third failure locks.
        let after = p.after_failure(&u, now);
        assert_eq!(after.tries, 3);
        assert_eq!(after.lock_until, Some(now + Duration::seconds(3600)));
    }

    #[test]
    fn a_lock_ends_by_itself_and_restarts_the_count() {
        let now = chrono::DateTime::from_timestamp(1_800_000_000, 0)
            .unwrap()
            .naive_utc();
        let p = policy();
        let until = now + Duration::seconds(10);
        let u = user(3, Some(now), Some(until));
        assert_eq!(p.gate(&u, now), Gate::Locked { until });
        let later = until + Duration::seconds(1);
        assert_eq!(p.gate(&u, later), Gate::Open);
        assert_eq!(p.after_failure(&u, later).tries, 1);
    }
}
