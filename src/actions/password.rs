//! `user-changepass`, `user-changepass-nosession`, `user-resetpass`,
//! `user-resetpass-nosession`, `user-validatepass`, and the policy check
//! they share with `user-new`.

use authnzd_proto as proto;
use std::sync::Arc;

use entity::users;
use serde_json::json;

use super::login::{self, Checked};
use super::{ActionResult, Ctx, Fault, Outcome, Refusal, session::live_session};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::security::password_policy::PasswordPolicy;
use crate::security::tokens;
use crate::store::{self, users::UserChanges};

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(changepass),
        typed(changepass_nosession),
        typed(resetpass),
        typed(resetpass_nosession),
        typed(validatepass),
    ]
}

/// End-user messages for every policy rule `password` breaks (empty: fine),
/// including the breached-password lookup when it is configured.
pub async fn policy_problems(
    app: &App,
    password: &str,
    address: &str,
    full_name: &str,
) -> Vec<String> {
    app.passwords.problems(password, address, full_name).await
}

const CHANGED: &str = "Password changed successfully.";
const MISMATCH: &str = "Your current password did not match the stored password.";

/// Checks the current password and the new one, then stores the new hash.
/// `keep` is the session (digest) that survives; every other session of the
/// user is logged out.
async fn change(
    app: &App,
    user: Option<users::Model>,
    current: &proto::Secret,
    new: &proto::Secret,
    keep: Option<String>,
) -> ActionResult {
    let (current, new) = (current.expose_secret(), new.expose_secret());
    let fields = |u: &Option<users::Model>| json!({"user_id": u.as_ref().map(|u| u.user_id), "email": u.as_ref().map(|u| u.email.clone())});
    let f = fields(&user);
    let checked = login::check_password(app, user, None, current).await?;
    let user = match checked {
        Checked::Ok(u) => u,
        Checked::Locked { .. } => return Ok(checked.failure()),
        _ => return Ok(Outcome::fail(Refusal::PasswordMismatch, MISMATCH, f)),
    };
    finish_new_password(app, user, new, keep).await
}

/// Refuses an unchanged or insecure password, else stores it and logs out
/// every session but `keep`.
async fn finish_new_password(
    app: &App,
    user: users::Model,
    new: &str,
    keep: Option<String>,
) -> ActionResult {
    let f = json!({"user_id": user.user_id, "email": user.email});
    let new = login::truncate_password(new);
    if app
        .hasher
        .verify(new.clone(), user.password.clone())
        .await?
    {
        return Ok(Outcome::fail(
            Refusal::PasswordUnchanged,
            "Your new password cannot be the same as your old password.",
            f,
        ));
    }
    let problems = policy_problems(
        app,
        &new,
        &user.email,
        user.full_name.as_deref().unwrap_or(""),
    )
    .await;
    if !problems.is_empty() {
        let mut out = Outcome::fail(Refusal::PasswordInsecure, "", f);
        out.messages = problems;
        return Ok(out);
    }
    let hash = app.hasher.hash(new).await?;
    let changes = UserChanges {
        password_hash: Some(hash),
        ..Default::default()
    };
    store::users::update_ending_sessions(
        &app.db,
        user.user_id,
        changes,
        app.now(),
        keep.as_deref(),
    )
    .await?;
    app.sessions.revoke_user_sessions(user.user_id).await;
    let mut out = Outcome::ok(f, CHANGED);
    out.messages
        .push("For security purposes, you have been logged out of all other sessions.".into());
    Ok(out)
}

/// Audits a finished password change or reset under `event` (the failed
/// ones are in the lockout counts, and `login-failed` where they apply).
async fn audited(app: &App, ctx: &Ctx, out: Outcome, event: &str) -> ActionResult {
    if out.success {
        let user_id = out
            .fields
            .get("user_id")
            .and_then(serde_json::Value::as_i64);
        super::audit(app, ctx, event, user_id, json!({})).await?;
    }
    Ok(out)
}

pub async fn changepass(app: Arc<App>, ctx: Ctx, p: proto::UserChangepass) -> ActionResult {
    // Fixed: the session must belong to user_id.
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let owned = session
        .as_ref()
        .is_some_and(|s| s.user.user_id == p.user_id);
    let user = target_user(&app, p.user_id, &p.email, owned).await?;
    if !owned {
        // Same work as a real check, then the refusal.
        let _ = app
            .hasher
            .verify(
                p.current_password.expose_secret().to_owned(),
                app.dummy_hash.clone(),
            )
            .await?;
        return Ok(Outcome::fail(
            Refusal::SessionNotOwned,
            MISMATCH,
            json!({"user_id": p.user_id, "email": p.email}),
        ));
    }
    let keep = Some(tokens::digest(p.session_token.expose_secret()));
    let out = change(&app, user, &p.current_password, &p.new_password, keep).await?;
    audited(&app, &ctx, out, "password-changed").await
}

pub async fn changepass_nosession(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserChangepassNosession,
) -> ActionResult {
    let user = target_user(&app, p.user_id, &p.email, true).await?;
    let out = change(&app, user, &p.current_password, &p.new_password, None).await?;
    audited(&app, &ctx, out, "password-changed").await
}

/// The active user with this id and address, if `allowed`.
async fn target_user(
    app: &App,
    user_id: i64,
    address: &str,
    allowed: bool,
) -> Result<Option<users::Model>, Fault> {
    if !allowed {
        return Ok(None);
    }
    let address = email::normalise(address);
    Ok(store::users::by_id(&app.db, user_id)
        .await?
        .filter(|u| u.email == address && u.is_active))
}

pub async fn resetpass(app: Arc<App>, ctx: Ctx, p: proto::UserResetpass) -> ActionResult {
    if live_session(&app, p.session_token.expose_secret())
        .await?
        .is_none()
    {
        return Ok(Outcome::fail(
            Refusal::SessionNotFound,
            "Invalid session token for password reset request.",
            json!({}),
        ));
    }
    let out = reset(&app, &p.email_address, p.new_password.expose_secret(), true).await?;
    audited(&app, &ctx, out, "password-reset").await
}

pub async fn resetpass_nosession(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserResetpassNosession,
) -> ActionResult {
    let out = reset(
        &app,
        &p.email_address,
        p.new_password.expose_secret(),
        p.required_active,
    )
    .await?;
    audited(&app, &ctx, out, "password-reset").await
}

/// A reset (the frontend has verified the user by email): no current
/// password; every session of the user is logged out.
async fn reset(app: &App, address: &str, new: &str, required_active: bool) -> ActionResult {
    let user = store::users::by_email(&app.db, &email::normalise(address))
        .await?
        .filter(|u| u.is_active == required_active);
    let Some(user) = user else {
        return Ok(Outcome::fail(
            Refusal::ResetTargetInvalid,
            "Invalid user for password reset request.",
            json!({}),
        ));
    };
    finish_new_password(app, user, new, None).await
}

pub async fn validatepass(app: Arc<App>, _ctx: Ctx, p: proto::UserValidatepass) -> ActionResult {
    let password = login::truncate_password(p.password.expose_secret());
    let base = &app.passwords.policy;
    // The request may tighten or relax the configured policy, as authnzerver;
    // counts must be whole numbers that fit.
    let count = |v: Option<i64>, default: u32| v.map_or(Some(default), |v| u32::try_from(v).ok());
    let (Some(min_length), Some(max_unsafe_similarity), Some(min_pwned_matches)) = (
        count(
            p.min_pass_length,
            u32::try_from(base.min_length).unwrap_or(u32::MAX),
        ),
        count(p.max_unsafe_similarity, base.max_unsafe_similarity),
        count(p.min_pwned_matches, base.min_pwned_matches),
    ) else {
        return Ok(Outcome::fail(
            Refusal::InvalidParameters,
            "password policy counts must be between 0 and 4294967295",
            json!({}),
        ));
    };
    let policy = PasswordPolicy {
        min_length: min_length as usize,
        max_unsafe_similarity,
        max_char_frequency: p.max_character_frequency.unwrap_or(base.max_char_frequency),
        min_pwned_matches,
    };
    let problems = app
        .passwords
        .problems_with(
            &policy,
            &password,
            &email::normalise(&p.email),
            &p.full_name,
        )
        .await;
    if problems.is_empty() {
        return Ok(Outcome::ok(json!({}), "The password is OK to use."));
    }
    let mut out = Outcome::fail(Refusal::InvalidPassword, "", json!({}));
    out.messages = problems;
    Ok(out)
}
