//! The one password check every request that takes a password shares: a
//! try taken before one argon2 verification (against the dummy hash when
//! there is no user), the failure delay, the answer paced to the costliest
//! hash parameters stored, re-hash on outdated parameters; and the tries of
//! second-factor codes, taken from the same count.

use entity::users;

use super::{Fault, No, Refusal, Refused};
use crate::app::App;
use crate::event::Event;
use crate::store;
use crate::store::lockout::Taken;
use authnzd_proto::Role;

/// authnzerver reads at most this many characters of a password.
pub const PASSWORD_MAX_CHARS: usize = 256;

const WRONG: &str = "Sorry, that user ID and password combination didn't work.";
const LOCKED: &str = "Your user account has been locked after repeated login failures. \
                      Try again in an hour or contact the server admins.";

/// A right password.
#[derive(Debug, Clone)]
pub struct Passed {
    pub user: users::Model,
    /// The account has a second factor, still to be proven.
    pub needs_second: bool,
}

/// What a password check found.
pub enum Checked {
    Ok(Passed),
    /// No such user, or the password is wrong (answered after the delay).
    Wrong,
    /// Right password, but the account is inactive or locked by an admin.
    Inactive(users::Model),
    /// No try left: locked after repeated failures; the password was not
    /// compared.
    Locked {
        retry_after: i64,
    },
}

impl Checked {
    /// The standard refusal for anything but `Ok`. An inactive account
    /// answers as a wrong password does: no enumeration.
    pub fn refusal(&self) -> No {
        match self {
            Checked::Ok(_) | Checked::Wrong | Checked::Inactive(_) => {
                No::new(Refusal::WrongPassword, WRONG).nulls(&["user_id"])
            }
            Checked::Locked { retry_after } => No::new(Refusal::AccountLocked, LOCKED)
                .nulls(&["user_id"])
                .with("retry_after", *retry_after),
        }
    }
}

pub fn truncate_password(p: &str) -> String {
    p.chars().take(PASSWORD_MAX_CHARS).collect()
}

/// Whose tries a guess takes.
enum Subject<'a> {
    Account(&'a users::Model),
    /// An address without an account, by its keyed digest.
    Address(String),
    /// Nothing to count under (no account and no address named).
    Nobody,
}

/// What taking a try found, with a lock just set already acted on.
enum Try {
    Granted {
        tries: i64,
    },
    /// No try left; the answer's `retry_after`.
    Locked {
        retry_after: i64,
    },
}

/// Takes a try for `subject` before its secret is compared (see
/// `store::lockout`); a lock this guess set ends the account's sessions,
/// cached ones included, and is audited.
async fn take_try(app: &App, subject: &Subject<'_>) -> Result<Try, Fault> {
    let now = app.now();
    let (limit, until) = (
        app.credentials.lockout.tries,
        app.credentials.lockout.lock_until(now),
    );
    let taken = match subject {
        Subject::Account(u) => {
            store::lockout::take_account_try(app.writes(), u.user_id, now, limit, until).await?
        }
        Subject::Address(key) => {
            store::lockout::take_address_try(&app.db, key, now, limit, until).await?
        }
        Subject::Nobody => Taken::Granted { tries: 0 },
    };
    Ok(match taken {
        Taken::Granted { tries } => Try::Granted { tries },
        Taken::Gone => Try::Granted { tries: 0 },
        Taken::Locked { until, locked_now } => {
            if locked_now && let Subject::Account(u) = subject {
                app.metrics.lockouts.inc();
                let event = Event::AccountLocked {
                    failures: app.credentials.lockout.tries,
                };
                store::audit::record(&app.db, now, &event, Some(u.user_id), None).await?;
                tracing::warn!(user = %app.pii.hash(&u.user_id.to_string()), "account locked after repeated failures");
            }
            Try::Locked {
                retry_after: retry_after(until, now),
            }
        }
    })
}

/// Waits the delay of the `tries`-th failure, then answers `answer`. The
/// try was counted before: a client that hangs up during the wait has
/// already paid for its guess.
async fn after_delay(app: &App, tries: i64, answer: Checked) -> Checked {
    let delay = app.credentials.lockout.delay(tries);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    answer
}

/// Checks `password` for `candidate` (None: no such account; `address` is
/// then what the failure is counted under, if the caller named one).
///
/// A try is taken before the hash (once a hashing worker is free), and the
/// hash runs only with one: however many guesses arrive at once, at most
/// the tries left are compared. Every
/// compared guess costs one hash, padded to the costliest parameters in use
/// (`PasswordHasher::verify`). A right password clears the failures, unless
/// a second factor is still to come: then its try is given back, and the
/// code takes its own.
pub async fn check_password(
    app: &App,
    candidate: Option<users::Model>,
    address: Option<&str>,
    password: &str,
) -> Result<(Checked, Due), Fault> {
    let password = truncate_password(password);
    let subject = match (&candidate, address) {
        (Some(u), _) => Subject::Account(u),
        (None, Some(a)) => Subject::Address(app.keyed(&format!("login\0{a}"))),
        (None, None) => Subject::Nobody,
    };
    // The worker first: a guess refused as busy, or whose client hangs up
    // while it queues, takes no try.
    let slot = app.credentials.hasher.slot().await?;
    let started = tokio::time::Instant::now();
    let tries = match take_try(app, &subject).await? {
        Try::Granted { tries } => tries,
        Try::Locked { retry_after } => return Ok((Checked::Locked { retry_after }, Due::NOW)),
    };
    let hash = candidate.as_ref().map_or_else(
        || app.credentials.dummy_hash.clone(),
        |u| u.password.clone(),
    );
    let verdict = slot.verify_paced(password.clone(), hash).await?;
    let due = Due(Some(started + app.credentials.hasher.floor() + BOOKKEEPING));
    let user = match candidate {
        Some(u) if verdict.matched => u,
        _ => return Ok((after_delay(app, tries, Checked::Wrong).await, due)),
    };
    if !user.is_active || user.user_role == Role::Locked {
        // Answered like a wrong password, so the answer does not tell that
        // the password was right.
        return Ok((after_delay(app, tries, Checked::Inactive(user)).await, due));
    }
    let needs_second = super::mfa::required(app, user.user_id).await?;
    if needs_second {
        store::lockout::give_back_account_try(&app.db, user.user_id).await?;
    } else {
        store::users::record_success(app.writes(), user.user_id, app.now()).await?;
    }
    if app.credentials.hasher.needs_rehash(&user.password) {
        let rehashed = app.credentials.hasher.hash(password).await?;
        store::users::set_password(app.writes(), user.user_id, rehashed, app.now()).await?;
    }
    Ok((Checked::Ok(Passed { user, needs_second }), due))
}

/// The database round trips around the hash differ by outcome and by
/// subject (the try taken in the users table or in `address_failures`
/// before it; the failures cleared, the sign-in recorded, the pre-login
/// session ended after a right password); answers wait this much past the
/// hash's floor, counted from when the worker was free, so those do not
/// show in the timing either.
const BOOKKEEPING: std::time::Duration = std::time::Duration::from_millis(20);

/// When the answer to a password check may go out: every answer waits for
/// it after its bookkeeping, so neither the stored hash's parameters nor
/// what a right password writes show in how long the answer took.
#[must_use = "the answer must wait for it"]
pub struct Due(Option<tokio::time::Instant>);

impl Due {
    /// No wait: a lock refused before any hash.
    const NOW: Due = Due(None);

    pub async fn wait(self) {
        if let Some(at) = self.0 {
            tokio::time::sleep_until(at).await;
        }
    }
}

/// Seconds until a lock ends, for `retry_after`.
fn retry_after(until: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> i64 {
    // Rounded up: databases keep microseconds at most, so a stored lock can
    // end a hair before the one computed here.
    let left_ms = (until - now).num_milliseconds();
    left_ms.saturating_add(999).div_euclid(1000).max(1)
}

/// Takes a try at the account's second factor before the code is compared;
/// refused as locked when none is left.
pub(crate) async fn take_code_try(app: &App, user: &users::Model) -> Result<i64, Refused> {
    match take_try(app, &Subject::Account(user)).await? {
        Try::Granted { tries } => Ok(tries),
        Try::Locked { retry_after } => Err(Checked::Locked { retry_after }.refusal().into()),
    }
}

/// The answer to a wrong code whose try was taken: after the delay.
pub(crate) async fn code_delay(app: &App, tries: i64) {
    let _ = after_delay(app, tries, Checked::Wrong).await;
}

/// Forgets failure counts of addresses without an account once their lock
/// and longest delay are over, and sign-ins no session took over.
pub async fn prune(app: &App) -> Result<(), Fault> {
    let now = app.now();
    let idle_since = now
        .checked_sub_signed(app.credentials.lockout.forget_after())
        .unwrap_or(now);
    store::lockout::prune_addresses(&app.db, idle_since, now).await?;
    store::grants::prune(&app.db, now).await?;
    Ok(())
}

/// Times every password-hash parameter set stored, so that refusals are
/// padded to the costliest from the first one on (see
/// `PasswordHasher::verify`). Runs once, in the background, at start-up.
pub async fn calibrate_hashing(app: &App) -> Result<(), Fault> {
    use crate::security::password::parameter_prefix;
    let mut known = vec![parameter_prefix(&app.credentials.dummy_hash).to_owned()];
    // A bound, not a count anyone expects to reach.
    for _ in 0..16 {
        let Some(phc) = store::users::password_outside(&app.db, &known).await? else {
            break;
        };
        app.credentials.hasher.calibrate(&phc).await?;
        known.push(parameter_prefix(&phc).to_owned());
    }
    Ok(())
}
