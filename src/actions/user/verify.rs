//! `user-set-emailverified` and `user-set-emailsent`.

use std::sync::Arc;

use authnzd_proto::{self as proto, Role};
use serde_json::json;

use super::super::{ActionResult, Ctx, Outcome, Refusal};
use crate::app::App;
use crate::security::email;
use crate::store::{self, users::UserChanges};
use crate::timefmt;

pub(super) async fn set_email_verified(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSetEmailverified,
) -> ActionResult {
    let failed = || {
        Outcome::fail(
            Refusal::EmailNotRegistered,
            "Email verification toggle request failed.",
            json!({"user_id": null, "is_active": false, "user_role": Role::Locked}),
        )
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return Ok(failed());
    };
    // Only a pending sign-up is activated: an admin-locked account stays
    // locked (authnzerver re-activated any inactive account here).
    let user = if user.email_verified {
        user
    } else {
        let changes = UserChanges {
            email_verified: Some(true),
            is_active: Some(true),
            user_role: Some(if user.user_role == Role::Locked {
                Role::Authenticated.into()
            } else {
                user.user_role.clone()
            }),
            ..Default::default()
        };
        let updated = store::users::update(&app.db, user.user_id, changes, app.now()).await?;
        app.sessions.invalidate_user(user.user_id).await;
        match updated {
            Some(u) => u,
            None => return Ok(failed()),
        }
    };
    Ok(Outcome::ok(
        json!({"user_id": user.user_id, "is_active": user.is_active, "user_role": user.user_role}),
        "Email verification toggle request succeeded.",
    ))
}

pub(super) async fn set_email_sent(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSetEmailsent,
) -> ActionResult {
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
            return Ok(Outcome::fail(
                Refusal::Invalid("invalid request: invalid email_type requested".into()),
                "Invalid email sent notification request.",
                json!({}),
            ));
        }
    };
    let failed = || {
        Outcome::fail(
            Refusal::EmailSentNotUpdated,
            "Email sent notification request failed.",
            json!({}),
        )
    };
    let Some(user) = store::users::by_email(&app.db, &email::normalise(&p.email)).await? else {
        return Ok(failed());
    };
    let Some(u) = store::users::update(&app.db, user.user_id, changes, now).await? else {
        return Ok(failed());
    };
    Ok(Outcome::ok(
        json!({
            "email": u.email,
            "emailverify_sent_datetime": timefmt::format_opt(u.emailverify_sent_datetime),
            "emailforgotpass_sent_datetime": timefmt::format_opt(u.emailforgotpass_sent_datetime),
            "user_id": u.user_id,
            "is_active": u.is_active,
            "user_role": u.user_role,
        }),
        "Email sent notification request succeeded.",
    ))
}
