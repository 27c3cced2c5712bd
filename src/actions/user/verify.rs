//! `user-set-emailverified` and `user-set-emailsent`.

use std::sync::Arc;

use authnzd_proto::{self as proto, Role, answers};

use super::super::{Ctx, Done, No, Refusal, Said, no};
use crate::app::App;
use crate::security::email;
use crate::store::{self, users::UserChanges};
use crate::timefmt;

pub async fn set_email_verified(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSetEmailverified,
) -> Done<answers::EmailVerified> {
    // authnzerver's refusal describes a locked, inactive nobody.
    let failed = || -> Done<answers::EmailVerified> {
        Err(No::new(
            Refusal::EmailNotRegistered,
            "Email verification toggle request failed.",
        )
        .nulls(&["user_id"])
        .with("is_active", false)
        .with("user_role", Role::Locked.as_str())
        .into())
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return failed();
    };
    // Only a pending sign-up is activated (as `authenticated`); an
    // admin-locked account stays locked, an active one keeps its role
    // (authnzerver re-activated any inactive account here).
    let user = if user.email_verified {
        user
    } else {
        let pending = pending_signup(&user);
        let changes = UserChanges {
            email_verified: Some(true),
            is_active: pending.then_some(true),
            user_role: pending.then(|| Role::Authenticated.into()),
            ..Default::default()
        };
        let updated = store::users::update(app.writes(), user.user_id, changes, app.now()).await?;
        match updated {
            Some(u) => u,
            None => return failed(),
        }
    };
    Ok(Said::new(
        answers::EmailVerified {
            user_id: user.user_id,
            is_active: user.is_active,
            user_role: user.user_role,
        },
        "Email verification toggle request succeeded.",
    ))
}

/// A sign-up waiting for its address: inactive, `locked`, and never locked
/// by an admin (a lock writes its history, which no client can).
fn pending_signup(user: &entity::users::Model) -> bool {
    let lock_history = user
        .extra_info
        .as_ref()
        .and_then(|e| e.get("previous_user_roles"))
        .and_then(serde_json::Value::as_array)
        .is_some_and(|h| !h.is_empty());
    !user.is_active && user.user_role == Role::Locked && !lock_history
}

pub async fn set_email_sent(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSetEmailsent,
) -> Done<answers::EmailSent> {
    const FAILED: &str = "Email sent notification request failed.";
    let now = app.now();
    let changes = match p.email_type.as_str() {
        "signup" => UserChanges {
            emailverify_sent_datetime: Some(now),
            ..Default::default()
        },
        "forgotpass" => UserChanges {
            emailforgotpass_sent_datetime: Some(now),
            ..Default::default()
        },
        _ => {
            return no(
                Refusal::Invalid("invalid request: invalid email_type requested".into()),
                "Invalid email sent notification request.",
            );
        }
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return no(Refusal::EmailSentNotUpdated, FAILED);
    };
    let Some(u) = store::users::update(app.writes(), user.user_id, changes, now).await? else {
        return no(Refusal::EmailSentNotUpdated, FAILED);
    };
    Ok(Said::new(
        answers::EmailSent {
            user_id: u.user_id,
            email: u.email,
            is_active: u.is_active,
            user_role: u.user_role,
            emailverify_sent_datetime: u.emailverify_sent_datetime.map(timefmt::format),
            emailforgotpass_sent_datetime: u.emailforgotpass_sent_datetime.map(timefmt::format),
        },
        "Email sent notification request succeeded.",
    ))
}
