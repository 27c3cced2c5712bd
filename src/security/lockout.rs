//! Failed-password delays and lockout, as authnzerver counts them: with
//! `tries = N`, failures 1…N are answered after 1.5^(n−1) × `first_delay`
//! (capped at 40 × `first_delay`), and the guess after them locks the
//! account for `lock_time` without being compared. A lock ends by itself
//! when its time passes, and the count starts again.
//!
//! The counts live in the database (`store::lockout`): an account's in its
//! row, an address without an account in `address_failures`, each try taken
//! by a conditional update before the secret is compared, so a burst gets
//! no more comparisons than the tries left, in any number of processes.

use std::time::Duration;

use chrono::NaiveDateTime;
use entity::users;

/// The delay grows to at most this many times the first one (40 s).
const MAX_DELAY_FACTOR: f64 = 40.0;

#[derive(Debug, Clone, Copy)]
pub struct LockoutPolicy {
    pub tries: u32,
    pub lock_time: chrono::Duration,
    pub first_delay: Duration,
}

impl LockoutPolicy {
    /// When the account's failure lock ends, if it is locked at `now`.
    pub fn locked_until(&self, u: &users::Model, now: NaiveDateTime) -> Option<NaiveDateTime> {
        u.lock_expires.filter(|until| *until > now)
    }

    /// The lock a guess past the limit sets. The config bounds the lock
    /// time to a year, so the sum exists; past any date it would be a day.
    pub fn lock_until(&self, now: NaiveDateTime) -> NaiveDateTime {
        now.checked_add_signed(self.lock_time)
            .or_else(|| now.checked_add_signed(chrono::Duration::days(1)))
            .unwrap_or(now)
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

    /// How long idle counts of addresses without an account are kept: as
    /// long as a lock, plus the longest delay.
    pub fn forget_after(&self) -> chrono::Duration {
        let longest =
            chrono::Duration::from_std(self.delay(i64::MAX)).unwrap_or(chrono::Duration::zero());
        self.lock_time
            .checked_add(&longest)
            .unwrap_or(self.lock_time)
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
    fn a_lock_time_past_any_date_locks_for_a_day_instead_of_a_panic() {
        let p = LockoutPolicy {
            lock_time: chrono::Duration::MAX,
            ..policy()
        };
        assert_eq!(p.lock_until(at(0)), at(86_400));
        assert_eq!(policy().lock_until(at(0)), at(3600));
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
            webauthn_user_handle: None,
        }
    }
}
