//! `user-changepass`, `user-changepass-nosession`, `user-resetpass`,
//! `user-resetpass-nosession`, `user-validatepass`, and the policy check
//! they share with `user-new`.

use authnzd_proto::{self as proto, Method, answers};
use std::sync::Arc;

use entity::users;

use super::mfa::{self, Second};
use super::password_check::{self, Checked};
use super::{Ctx, Done, Event, Fault, No, Refusal, Said, no, session::live_session};
use crate::app::App;
use crate::secret::ExposeSecret;
use crate::security::email;
use crate::security::password_policy::PasswordPolicy;
use crate::security::tokens;
use crate::store;

/// End-user messages for every policy rule `password` breaks (empty: fine),
/// including the breached-password lookup when it is configured.
pub async fn policy_problems(
    app: &App,
    password: &str,
    address: &str,
    full_name: &str,
) -> Vec<String> {
    app.credentials
        .rules
        .problems(password, address, full_name)
        .await
}

const CHANGED: &str = "Password changed successfully.";
const MISMATCH: &str = "Your current password did not match the stored password.";

/// A refusal naming the account as the success would (`user_id`, `email`;
/// null when there is none).
fn refused_for(reason: Refusal, message: &str, user_id: Option<i64>, email: Option<&str>) -> No {
    No::new(reason, message)
        .with("user_id", user_id)
        .with("email", email)
}

/// Checks the current password and the new one, then stores the new hash.
/// `keep` is the session (digest) that survives; every other session of the
/// user is logged out.
/// For an account with a second factor, a current code must come too.
async fn change(
    app: &App,
    ctx: &Ctx,
    user: Option<users::Model>,
    proof: (&proto::Secret, Option<&proto::Secret>),
    new: &proto::Secret,
    keep: Option<String>,
) -> Done<answers::AccountRef> {
    let (current, code) = (proof.0.expose_secret(), proof.1.map(|c| c.expose_secret()));
    let new = new.expose_secret();
    let mismatch = refused_for(
        Refusal::PasswordMismatch,
        MISMATCH,
        user.as_ref().map(|u| u.user_id),
        user.as_ref().map(|u| u.email.as_str()),
    );
    let (checked, due) = password_check::check_password(app, user, None, current).await?;
    let answer = match checked {
        Checked::Ok(passed) => match mfa::second_factor(app, ctx, &passed, Method::Pwd, code).await
        {
            Ok(Second::Done(_)) => finish_new_password(app, passed.user, new, keep).await,
            Ok(Second::Needed) => Err(mfa::code_needed().into()),
            Err(refused) => Err(refused),
        },
        Checked::Locked { .. } => Err(checked.refusal().into()),
        _ => Err(mismatch.into()),
    };
    due.wait().await;
    answer
}

/// Refuses an unchanged or insecure password, else stores it and logs out
/// every session but `keep`.
async fn finish_new_password(
    app: &App,
    user: users::Model,
    new: &str,
    keep: Option<String>,
) -> Done<answers::AccountRef> {
    let refused = |reason: Refusal, message: &str| {
        refused_for(reason, message, Some(user.user_id), Some(&user.email))
    };
    let new = password_check::truncate_password(new);
    if app
        .credentials
        .hasher
        .verify(new.clone(), user.password.clone())
        .await?
    {
        return Err(refused(
            Refusal::PasswordUnchanged,
            "Your new password cannot be the same as your old password.",
        )
        .into());
    }
    let problems = policy_problems(
        app,
        &new,
        &user.email,
        user.full_name.as_deref().unwrap_or(""),
    )
    .await;
    if !problems.is_empty() {
        return Err(No {
            messages: problems,
            ..refused(Refusal::PasswordInsecure, "")
        }
        .into());
    }
    let hash = app.credentials.hasher.hash(new).await?;
    // Over the hash checked above only: of concurrent changes (a reset link
    // used twice at once), one lands.
    let set = store::users::set_password_revoking(
        app.writes(),
        user.user_id,
        (&user.password, hash),
        app.now(),
        keep.as_deref(),
        app.config.password.revoke_all_on_password_reset,
    )
    .await?;
    if set.is_none() {
        return Err(refused(
            Refusal::PasswordChangedMeanwhile,
            "The password was changed by another request meanwhile. Please try again.",
        )
        .into());
    }
    let mut said = Said::new(
        answers::AccountRef {
            user_id: user.user_id,
            email: user.email,
        },
        CHANGED,
    );
    said.messages
        .push("For security purposes, you have been logged out of all other sessions.".into());
    Ok(said)
}

/// Audits a finished password change or reset under `event` (the failed
/// ones are in the lockout counts, and `login-failed` where they apply).
async fn audited(
    app: &App,
    ctx: &Ctx,
    answer: Done<answers::AccountRef>,
    event: Event,
) -> Done<answers::AccountRef> {
    if let Ok(said) = &answer {
        super::audit(app, ctx, event, Some(said.answer.user_id)).await?;
    }
    answer
}

pub async fn changepass(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserChangepass,
) -> Done<answers::AccountRef> {
    // Fixed: the session must belong to user_id.
    let session = live_session(&app, p.session_token.expose_secret()).await?;
    let owned = session
        .as_ref()
        .is_some_and(|s| s.user.user_id == p.user_id);
    let user = target_user(&app, p.user_id, &p.email, owned).await?;
    if !owned {
        // Same work as a real check, then the refusal.
        let _ = app
            .credentials
            .hasher
            .verify(
                p.current_password.expose_secret().to_owned(),
                app.credentials.dummy_hash.clone(),
            )
            .await?;
        return Err(refused_for(
            Refusal::SessionNotOwned,
            MISMATCH,
            Some(p.user_id),
            Some(&p.email),
        )
        .into());
    }
    let keep = Some(tokens::digest(p.session_token.expose_secret()));
    let proof = (&p.current_password, p.code.as_ref());
    let answer = change(&app, &ctx, user, proof, &p.new_password, keep).await;
    audited(&app, &ctx, answer, Event::PasswordChanged).await
}

pub async fn changepass_nosession(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserChangepassNosession,
) -> Done<answers::AccountRef> {
    let user = target_user(&app, p.user_id, &p.email, true).await?;
    let proof = (&p.current_password, p.code.as_ref());
    let answer = change(&app, &ctx, user, proof, &p.new_password, None).await;
    audited(&app, &ctx, answer, Event::PasswordChanged).await
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

pub async fn resetpass(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserResetpass,
) -> Done<answers::AccountRef> {
    if live_session(&app, p.session_token.expose_secret())
        .await?
        .is_none()
    {
        return no(
            Refusal::SessionNotFound,
            "Invalid session token for password reset request.",
        );
    }
    let answer = reset(&app, &p.email_address, p.new_password.expose_secret(), true).await;
    audited(&app, &ctx, answer, Event::PasswordReset).await
}

pub async fn resetpass_nosession(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::UserResetpassNosession,
) -> Done<answers::AccountRef> {
    let answer = reset(
        &app,
        &p.email_address,
        p.new_password.expose_secret(),
        p.required_active,
    )
    .await;
    audited(&app, &ctx, answer, Event::PasswordReset).await
}

/// A new password through a mailed reset link (`links`): set as
/// `user-resetpass` sets it (every session ends; with
/// `revoke_all_on_password_reset` every other credential) and audited as
/// it, but only over the password the link was made for, so a link used
/// twice — even at once — sets one.
pub async fn reset_by_link(
    app: Arc<App>,
    ctx: Ctx,
    token: &str,
    new: &str,
) -> Done<answers::AccountRef> {
    let Some(user) = super::links::reset_account(&app, token).await? else {
        return no(
            Refusal::ResetTargetInvalid,
            "This password reset link does not work any more.",
        );
    };
    let answer = finish_new_password(&app, user, new, None).await;
    audited(&app, &ctx, answer, Event::PasswordReset).await
}

/// A reset (the frontend has verified the user by email): no current
/// password; every session of the user is logged out.
async fn reset(
    app: &App,
    address: &str,
    new: &str,
    required_active: bool,
) -> Done<answers::AccountRef> {
    let user = store::users::by_email(&app.db, &email::normalise(address))
        .await?
        .filter(|u| u.is_active == required_active);
    let Some(user) = user else {
        return no(
            Refusal::ResetTargetInvalid,
            "Invalid user for password reset request.",
        );
    };
    finish_new_password(app, user, new, None).await
}

pub async fn validatepass(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserValidatepass,
) -> Done<answers::Done> {
    let password = password_check::truncate_password(p.password.expose_secret());
    let base = &app.credentials.rules.policy;
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
        return no(
            Refusal::InvalidParameters,
            "password policy counts must be between 0 and 4294967295",
        );
    };
    let policy = PasswordPolicy {
        min_length: min_length as usize,
        max_unsafe_similarity,
        max_char_frequency: p.max_character_frequency.unwrap_or(base.max_char_frequency),
        min_pwned_matches,
    };
    let problems = app
        .credentials
        .rules
        .problems_with(
            &policy,
            &password,
            &email::normalise(&p.email),
            &p.full_name,
        )
        .await;
    if problems.is_empty() {
        return Ok(Said::new(answers::Done {}, "The password is OK to use."));
    }
    Err(No {
        messages: problems,
        ..No::new(Refusal::InvalidPassword, "")
    }
    .into())
}
