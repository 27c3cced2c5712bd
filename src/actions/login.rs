//! `user-login`, `user-logout`, `user-passcheck`, `user-passcheck-nosession`,
//! and the one password check they share: exactly one argon2 verification on
//! every path (against the dummy hash when there is no user), lockout
//! bookkeeping in the database, re-hash on outdated parameters.

use std::sync::Arc;

use entity::users;
use serde::Deserialize;
use serde_json::json;

use super::{ActionResult, Ctx, Fault, Outcome, session::live_session};
use crate::app::App;
use crate::security::email;
use crate::security::lockout::Gate;
use crate::security::tokens;
use crate::store;

/// authnzerver reads at most this many characters of a password.
pub const PASSWORD_MAX_CHARS: usize = 256;

const WRONG: &str = "Sorry, that user ID and password combination didn't work.";
const LOCKED: &str = "Your user account has been locked after repeated login failures. \
                      Try again in an hour or contact the server admins.";

/// What a password check found.
pub enum Checked {
    Ok(users::Model),
    /// No such user, or the password is wrong.
    Wrong,
    /// Right password, but the account is unverified, inactive or locked by
    /// an admin.
    Inactive(users::Model),
    /// Too soon after the last failure.
    Backoff,
    /// Locked after repeated failures (possibly by this very attempt).
    Locked,
}

impl Checked {
    /// The standard failure answer for anything but `Ok`.
    pub fn failure(&self) -> Outcome {
        let (reason, message, user_id) = match self {
            Checked::Ok(u) => ("", WRONG, Some(u.user_id)),
            Checked::Wrong => ("user does not exist or password doesn't match", WRONG, None),
            Checked::Inactive(u) => ("user exists but is inactive", WRONG, Some(u.user_id)),
            Checked::Backoff => ("too many failed attempts; retry later", WRONG, None),
            Checked::Locked => ("user account is locked", LOCKED, None),
        };
        Outcome::fail(reason, message, json!({"user_id": user_id}))
    }
}

pub fn truncate_password(p: &str) -> String {
    p.chars().take(PASSWORD_MAX_CHARS).collect()
}

/// Checks `password` for `candidate` (None: unknown user), with lockout.
pub async fn check_password(
    app: &App,
    candidate: Option<users::Model>,
    password: &str,
) -> Result<Checked, Fault> {
    let now = app.now();
    let password = truncate_password(password);
    let gate = candidate.as_ref().map(|u| app.lockout.gate(u, now));
    let hash = candidate
        .as_ref()
        .map_or_else(|| app.dummy_hash.clone(), |u| u.password.clone());
    let matched = app.hasher.verify(password.clone(), hash).await?;
    let Some(user) = candidate else {
        return Ok(Checked::Wrong);
    };
    match gate {
        Some(Gate::Locked { .. }) => return Ok(Checked::Locked),
        Some(Gate::Backoff { .. }) => return Ok(Checked::Backoff),
        _ => {}
    }
    if !matched {
        let after = app.lockout.after_failure(&user, now);
        store::users::record_failure(&app.db, user.user_id, after.tries, now, after.lock_until)
            .await?;
        if after.lock_until.is_some() {
            store::sessions::delete_for_user(&app.db, user.user_id, None).await?;
            app.sessions.revoke_user_sessions(user.user_id).await;
            tracing::warn!(user = %app.pii.hash(&user.user_id.to_string()), "account locked after repeated login failures");
            return Ok(Checked::Locked);
        }
        return Ok(Checked::Wrong);
    }
    if !(user.is_active && user.email_verified) || user.user_role == "locked" {
        return Ok(Checked::Inactive(user));
    }
    store::users::record_success(&app.db, user.user_id, now).await?;
    if app.hasher.needs_rehash(&user.password) {
        let rehashed = app.hasher.hash(password).await?;
        store::users::set_password(&app.db, user.user_id, rehashed, now).await?;
    }
    // last_login_success shows in session_info.
    app.sessions.invalidate_user(user.user_id).await;
    Ok(Checked::Ok(user))
}

#[derive(Debug, Deserialize)]
pub struct LoginParams {
    pub session_token: String,
    pub email: String,
    pub password: String,
}

pub async fn login(app: Arc<App>, _ctx: Ctx, p: LoginParams) -> ActionResult {
    let session = live_session(&app, &p.session_token).await?;
    let candidate = match &session {
        Some(_) => store::users::by_email(&app.db, &email::normalise(&p.email)).await?,
        None => None,
    };
    let checked = check_password(&app, candidate, &p.password).await?;
    let Some(_) = session else {
        return Ok(Outcome::fail(
            "session does not exist",
            "No session token provided.",
            json!({"user_id": null}),
        ));
    };
    // The frontend replaces the pre-login session whatever the outcome.
    let hash = tokens::digest(&p.session_token);
    store::sessions::delete(&app.db, &hash).await?;
    app.sessions.invalidate_session(&hash).await;
    Ok(match checked {
        Checked::Ok(u) => Outcome::ok(
            json!({"user_id": u.user_id, "user_role": u.user_role}),
            "Login successful.",
        ),
        other => other.failure(),
    })
}

#[derive(Debug, Deserialize)]
pub struct LogoutParams {
    pub session_token: String,
    pub user_id: i64,
}

pub async fn logout(app: Arc<App>, _ctx: Ctx, p: LogoutParams) -> ActionResult {
    let failed = |reason: &str| {
        Outcome::fail(
            reason,
            "Logout failed. Invalid session_token for user_id.",
            json!({"user_id": p.user_id}),
        )
    };
    let Some(found) = live_session(&app, &p.session_token).await? else {
        return Ok(failed("session does not exist"));
    };
    if found.user.user_id != p.user_id {
        return Ok(failed("session does not belong to user_id"));
    }
    let hash = tokens::digest(&p.session_token);
    let deleted = store::sessions::delete(&app.db, &hash).await?;
    app.sessions.invalidate_session(&hash).await;
    if !deleted {
        return Ok(failed("delete session failed"));
    }
    Ok(Outcome::ok(
        json!({"user_id": p.user_id}),
        "Logout successful.",
    ))
}

#[derive(Debug, Deserialize)]
pub struct PasscheckParams {
    pub session_token: String,
    pub password: String,
}

pub async fn passcheck(app: Arc<App>, _ctx: Ctx, p: PasscheckParams) -> ActionResult {
    let session = live_session(&app, &p.session_token).await?;
    let candidate = match &session {
        Some(s) => store::users::by_id(&app.db, s.user.user_id).await?,
        None => None,
    };
    let checked = check_password(&app, candidate, &p.password).await?;
    if session.is_none() {
        return Ok(Outcome::fail(
            "session does not exist",
            "No session token provided.",
            json!({"user_id": null}),
        ));
    }
    Ok(verified(checked))
}

#[derive(Debug, Deserialize)]
pub struct PasscheckNosessionParams {
    pub email: String,
    pub password: String,
}

pub async fn passcheck_nosession(
    app: Arc<App>,
    _ctx: Ctx,
    p: PasscheckNosessionParams,
) -> ActionResult {
    let candidate = store::users::by_email(&app.db, &email::normalise(&p.email)).await?;
    let checked = check_password(&app, candidate, &p.password).await?;
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
