//! `user-login`, `user-logout`, `user-passcheck`, `user-passcheck-nosession`,
//! and the one password check they share: exactly one argon2 verification on
//! every path (against the dummy hash when there is no user), lockout
//! bookkeeping in the database, re-hash on outdated parameters.

use authnzd_proto::{self as proto, Role};
use std::sync::Arc;

use entity::users;
use serde_json::json;

use super::{ActionResult, Ctx, Fault, Outcome, Refusal, session::live_session};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::security::lockout::Verdict;
use crate::security::tokens;
use crate::store;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(login),
        typed(logout),
        typed(passcheck),
        typed(passcheck_nosession),
    ]
}

/// authnzerver reads at most this many characters of a password.
pub const PASSWORD_MAX_CHARS: usize = 256;

const WRONG: &str = "Sorry, that user ID and password combination didn't work.";
const LOCKED: &str = "Your user account has been locked after repeated login failures. \
                      Try again in an hour or contact the server admins.";

/// What a password check found.
pub enum Checked {
    Ok(users::Model),
    /// No such user, or the password is wrong (answered after the delay).
    Wrong,
    /// Right password, but the account is unverified, inactive or locked by
    /// an admin.
    Inactive(users::Model),
    /// Locked after repeated failures (possibly by this very attempt); the
    /// password was not looked at.
    Locked {
        retry_after: i64,
    },
}

impl Checked {
    /// The standard failure answer for anything but `Ok`. An unverified or
    /// inactive account answers as a wrong password does: no enumeration.
    pub fn failure(&self) -> Outcome {
        match self {
            Checked::Ok(_) | Checked::Wrong | Checked::Inactive(_) => {
                Outcome::fail(Refusal::WrongPassword, WRONG, json!({"user_id": null}))
            }
            Checked::Locked { retry_after } => Outcome::fail(
                Refusal::AccountLocked,
                LOCKED,
                json!({"user_id": null, "retry_after": retry_after}),
            ),
        }
    }
}

pub fn truncate_password(p: &str) -> String {
    p.chars().take(PASSWORD_MAX_CHARS).collect()
}

/// Checks `password` for `candidate` (None: no such account; `address` is
/// then what the failure is counted under, if the caller named one).
///
/// Every path costs one hash. A failure is counted before it is answered
/// and the answer then waits its delay, holding no hashing worker; a client
/// that hangs up during the wait has already been counted.
pub async fn check_password(
    app: &App,
    candidate: Option<users::Model>,
    address: Option<&str>,
    password: &str,
) -> Result<Checked, Fault> {
    let now = app.now();
    let password = truncate_password(password);
    // Only an address without an account is counted by its digest.
    let unknown_key = address
        .filter(|_| candidate.is_none())
        .map(|a| app.keyed(&format!("login\0{a}")));
    let locked_until = match (&candidate, &unknown_key) {
        (Some(u), _) => app.lockout.locked_until(u, now),
        (None, Some(k)) => app.unknown_failures.locked_until(k, now),
        (None, None) => None,
    };
    let hash = candidate
        .as_ref()
        .map_or_else(|| app.dummy_hash.clone(), |u| u.password.clone());
    let matched = app.hasher.verify(password.clone(), hash).await?;
    if let Some(until) = locked_until {
        return Ok(locked(until, now));
    }
    let user = match candidate {
        Some(u) if matched => u,
        other => return failed(app, failed_row(&other), unknown_key.as_deref(), now).await,
    };
    if !(user.is_active && user.email_verified) || user.user_role == Role::Locked {
        // Counted and delayed like a wrong password, so the answer does not
        // tell that the password was right.
        let row = Some((user.user_id, user.lock_expires.is_some()));
        return Ok(match failed(app, row, None, now).await? {
            Checked::Wrong => Checked::Inactive(user),
            other => other,
        });
    }
    // With a second factor on, the password alone neither clears failures
    // nor counts as a login: that waits for the code.
    if !super::mfa::required(app, user.user_id).await? {
        store::users::record_success(&app.db, user.user_id, now).await?;
    }
    if app.hasher.needs_rehash(&user.password) {
        let rehashed = app.hasher.hash(password).await?;
        store::users::set_password(&app.db, user.user_id, rehashed, now).await?;
    }
    // last_login_success shows in session_info.
    app.sessions.invalidate_user(user.user_id).await;
    Ok(Checked::Ok(user))
}

/// The account to count a failure for, and whether its row (as read before
/// the hash) had a lock that may have ended since.
fn failed_row(candidate: &Option<users::Model>) -> Option<(i64, bool)> {
    candidate
        .as_ref()
        .map(|u| (u.user_id, u.lock_expires.is_some()))
}

pub(crate) fn locked(until: chrono::NaiveDateTime, now: chrono::NaiveDateTime) -> Checked {
    // Rounded up: databases keep microseconds at most, so a stored lock can
    // end a hair before the one computed here.
    let left_ms = (until - now).num_milliseconds();
    Checked::Locked {
        retry_after: left_ms.saturating_add(999).div_euclid(1000).max(1),
    }
}

/// Counts a failed second factor like a failed password: the answer waits
/// its delay, or the account locks.
pub(crate) async fn count_failure(app: &App, user: &users::Model) -> Result<Checked, Fault> {
    let row = Some((user.user_id, user.lock_expires.is_some()));
    failed(app, row, None, app.now()).await
}

/// Counts a failure (the account's row, or the unknown address's entry),
/// then waits the delay or answers the lock.
async fn failed(
    app: &App,
    account: Option<(i64, bool)>,
    unknown_key: Option<&str>,
    now: chrono::NaiveDateTime,
) -> Result<Checked, Fault> {
    let lock_until = app.lockout.lock_until(now);
    let state = match (account, unknown_key) {
        (Some((id, had_lock)), _) => {
            let limit = app.lockout.tries;
            let Some(f) =
                store::users::record_failure(&app.db, id, had_lock, now, limit, lock_until).await?
            else {
                return Ok(Checked::Wrong);
            };
            if f.locked_now {
                app.sessions.revoke_user_sessions(id).await;
                app.metrics.lockouts.inc();
                let detail = json!({"failures": f.state.tries});
                store::audit::record(&app.db, now, "account-locked", Some(id), None, Some(detail))
                    .await?;
                tracing::warn!(user = %app.pii.hash(&id.to_string()), "account locked after repeated login failures");
            }
            f.state
        }
        (None, Some(key)) => app.unknown_failures.record(key, now, lock_until),
        (None, None) => return Ok(Checked::Wrong),
    };
    match app.lockout.verdict(state, now) {
        Verdict::Locked { until } => Ok(locked(until, now)),
        Verdict::Wait(delay) => {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            Ok(Checked::Wrong)
        }
    }
}

pub async fn login(app: Arc<App>, ctx: Ctx, p: proto::UserLogin) -> ActionResult {
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let address = email::normalise(&p.email);
    let candidate = match &session {
        Some(_) => store::users::by_email(&app.db, &address).await?,
        None => None,
    };
    let candidate_id = candidate.as_ref().map(|u| u.user_id);
    let counted = session.as_ref().map(|_| address.as_str());
    let checked = check_password(&app, candidate, counted, p.password.expose_secret()).await?;
    let Some(_) = session else {
        return Ok(Outcome::fail(
            Refusal::SessionNotFound,
            "No session token provided.",
            json!({"user_id": null}),
        ));
    };
    let hash = tokens::digest(p.session_token.expose_secret());
    if let Checked::Ok(u) = &checked
        && super::mfa::required(&app, u.user_id).await?
    {
        // The pre-login session stays: the second factor is bound to it.
        return super::mfa::second_factor_required(&app, u, Some(hash)).await;
    }
    // The frontend replaces the pre-login session whatever the outcome.
    store::sessions::delete(&app.db, &hash).await?;
    app.sessions.invalidate_session(&hash).await;
    let out = match checked {
        Checked::Ok(u) => Outcome::ok(
            json!({"user_id": u.user_id, "user_role": u.user_role}),
            "Login successful.",
        ),
        other => other.failure(),
    };
    // The address only as a keyed digest: the log correlates, never holds it.
    let email = app.keyed(&format!("email\0{address}"));
    if out.success {
        super::audit(&app, &ctx, "login", candidate_id, json!({"email": email})).await?;
    } else {
        let reason = out.failure_reason.as_ref().map(Refusal::as_str);
        let detail = json!({"email": email, "reason": reason});
        super::audit(&app, &ctx, "login-failed", candidate_id, detail).await?;
    }
    Ok(out)
}

pub async fn logout(app: Arc<App>, _ctx: Ctx, p: proto::UserLogout) -> ActionResult {
    let failed = |reason: Refusal| {
        Outcome::fail(
            reason,
            "Logout failed. Invalid session_token for user_id.",
            json!({"user_id": p.user_id}),
        )
    };
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return Ok(failed(Refusal::SessionNotFound));
    };
    if found.user.user_id != p.user_id {
        return Ok(failed(Refusal::SessionNotOwned));
    }
    let hash = tokens::digest(p.session_token.expose_secret());
    let deleted = store::sessions::delete(&app.db, &hash).await?;
    app.sessions.invalidate_session(&hash).await;
    if !deleted {
        return Ok(failed(Refusal::SessionDeleteFailed));
    }
    Ok(Outcome::ok(
        json!({"user_id": p.user_id}),
        "Logout successful.",
    ))
}

pub async fn passcheck(app: Arc<App>, _ctx: Ctx, p: proto::UserPasscheck) -> ActionResult {
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let candidate = match &session {
        Some(s) => store::users::by_id(&app.db, s.user.user_id).await?,
        None => None,
    };
    let checked = check_password(&app, candidate, None, p.password.expose_secret()).await?;
    if session.is_none() {
        return Ok(Outcome::fail(
            Refusal::SessionNotFound,
            "No session token provided.",
            json!({"user_id": null}),
        ));
    }
    Ok(verified(checked))
}

pub async fn passcheck_nosession(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserPasscheckNosession,
) -> ActionResult {
    let address = email::normalise(&p.email);
    let candidate = store::users::by_email(&app.db, &address).await?;
    let checked =
        check_password(&app, candidate, Some(&address), p.password.expose_secret()).await?;
    Ok(verified(checked))
}

fn verified(checked: Checked) -> Outcome {
    match checked {
        Checked::Ok(u) => Outcome::ok(
            json!({"user_id": u.user_id, "user_role": u.user_role}),
            "Verification successful.",
        ),
        other => other.failure(),
    }
}
