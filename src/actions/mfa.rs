//! The second step of a login for users with TOTP on: `user-login` (and
//! `passwordless-finish`) answer `second factor required` with a single-use
//! `mfa_token`, and `user-login-mfa` completes the login with a code.

use std::sync::Arc;

use authnzd_proto as proto;
use entity::users;
use serde_json::json;

use super::totp::{enabled, judge, refused};
use super::{ActionResult, Ctx, Fault, Outcome, Refusal, audit};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![typed(login_mfa)]
}

/// A pending second-factor login's life.
const MFA_MINUTES: i64 = 5;

/// Whether the user's logins need the second factor.
pub async fn required(app: &App, user_id: i64) -> Result<bool, Fault> {
    Ok(store::totp::is_enabled(&app.db, user_id).await?)
}

/// The answer to a first factor that succeeded for a user with TOTP on: no
/// session yet, a single-use `mfa_token` bound to the user and the
/// pre-login session instead. A frontend that does not know MFA sees a
/// refusal and so never logs the user in.
pub async fn second_factor_required(
    app: &App,
    user: &users::Model,
    session_hash: Option<String>,
) -> ActionResult {
    let token = tokens::new_token()?;
    let now = app.now();
    let expires = now + chrono::Duration::minutes(MFA_MINUTES);
    store::totp::insert_mfa_token(
        &app.db,
        tokens::digest(&token),
        user.user_id,
        session_hash,
        now,
        expires,
    )
    .await?;
    Ok(Outcome::fail(
        Refusal::SecondFactorRequired,
        "Enter the code from your authenticator app.",
        json!({"user_id": null, "mfa_required": true, "mfa_token": token,
               "methods": ["totp", "recovery_code"]}),
    ))
}

pub async fn login_mfa(app: Arc<App>, ctx: Ctx, p: proto::UserLoginMfa) -> ActionResult {
    let invalid = || {
        refused(
            Refusal::MfaTokenInvalid,
            "This sign-in has expired; please log in again.",
        )
    };
    let now = app.now();
    let token_hash = tokens::digest(p.mfa_token.expose_secret());
    let Some(pending) = store::totp::take_mfa_token(&app.db, &token_hash, now).await? else {
        return Ok(invalid());
    };
    // Bound to the pre-login session: ended since, the login is over.
    if let Some(session) = &pending.session_hash
        && super::session::live_session_by_digest(&app, session.clone())
            .await?
            .is_none()
    {
        return Ok(invalid());
    }
    let (user, row) = match enabled(&app, pending.user_id).await? {
        Ok(found) => found,
        Err(_) => return Ok(invalid()),
    };
    if let Some(no) = judge(&app, &ctx, &user, &row, p.code.expose_secret()).await? {
        return Ok(no);
    }
    store::users::record_success(&app.db, user.user_id, now).await?;
    app.sessions.invalidate_user(user.user_id).await;
    if let Some(session) = pending.session_hash {
        store::sessions::delete(&app.db, &session).await?;
        app.sessions.invalidate_session(&session).await;
    }
    audit(&app, &ctx, "mfa-login", Some(user.user_id), json!({})).await?;
    Ok(Outcome::ok(
        json!({"user_id": user.user_id, "user_role": user.user_role}),
        "Login successful.",
    ))
}
