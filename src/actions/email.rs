//! `user-sendemail-signup` and `user-sendemail-forgotpass`: authnzerver's
//! verification mails, really sent through the configured transport.
//! Per-request SMTP settings (`emailserver`, …) are accepted for
//! compatibility and ignored: the operator's configuration decides where
//! mail goes.

use authnzd_proto::{self as proto, Role, answers};
use std::sync::Arc;

use serde_json::Value;

use super::session::live_session;
use super::{Ctx, Done, No, Refusal, Refused, Said, no};
use crate::app::App;
use crate::notify::templates::Kind;
use crate::secret::ExposeSecret;
use crate::security::email::normalise;
use crate::store::{self, users::UserChanges};
use crate::timefmt;

/// The verification token goes into the mail wrapped at this width, as
/// authnzerver does, so long tokens survive mail clients.
const TOKEN_WRAP: usize = 70;

fn wrap(token: &str) -> String {
    token
        .chars()
        .collect::<Vec<_>>()
        .chunks(TOKEN_WRAP)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("\n")
}

/// When a token valid for `seconds` expires, as the mail says it.
fn expiry(app: &App, seconds: i64) -> Result<String, Refused> {
    if !(1..=30 * 86_400).contains(&seconds) {
        return no(
            Refusal::Invalid(
                "invalid request: verification_expiry must be between 1 s and 30 days".into(),
            ),
            "Invalid email request.",
        );
    }
    Ok(format!(
        "{} (UTC time)",
        timefmt::format(app.now() + chrono::Duration::seconds(seconds))
    ))
}

pub async fn signup(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSendemailSignup,
) -> Done<answers::SignupMailSent> {
    // authnzerver's refusals carry the answer's fields as nulls.
    let fail = |reason: Refusal, message: &str| -> Done<answers::SignupMailSent> {
        Err(No::new(reason, message)
            .nulls(&["user_id", "email_address", "emailverify_sent_datetime"])
            .into())
    };
    let Some(verify_url) = p.account_verify_url.or(p.server_verify_url) else {
        return fail(
            Refusal::Invalid(
                "invalid request: missing 'account_verify_url' or 'server_verify_url' in request"
                    .into(),
            ),
            "Invalid verify email request.",
        );
    };
    if p.created_info.get("send_verification") == Some(&Value::Bool(false)) {
        return fail(
            Refusal::VerificationNotAllowed,
            "Not allowed to send an email verification request.",
        );
    }
    let expires = expiry(&app, p.verification_expiry)?;
    let address = normalise(&p.email_address);
    let target = store::users::by_email(&app.db, &address)
        .await?
        .filter(|u| p.created_info.get("user_id").and_then(Value::as_i64) == Some(u.user_id));
    let Some(user) = target else {
        return fail(
            Refusal::VerificationUserMissing,
            "Invalid verify email request.",
        );
    };
    // A pending sign-up, or an address changed since it was verified.
    if user.email_verified {
        return fail(
            Refusal::AlreadyVerified,
            "Not sending an verify email request to an existing user.",
        );
    }
    let Some(session) = live_session(&app, p.session_token.expose_secret()).await? else {
        return fail(
            Refusal::VerificationInvalidSession,
            "Invalid verify email request.",
        );
    };
    let token = wrap(p.verification_token.expose_secret());
    let vars = [
        ("server_name", p.server_name.as_str()),
        ("server_baseurl", p.server_baseurl.as_str()),
        ("account_verify_url", verify_url.as_str()),
        ("verification_code", token.as_str()),
        ("verification_expiry", expires.as_str()),
        ("browser_identifier", session.session.user_agent()),
        ("ip_address", session.session.ip_address()),
        ("user_email", user.email.as_str()),
    ];
    if app
        .notify
        .mailer
        .send(&user.email, Kind::Signup, &vars)
        .await
        .is_err()
    {
        return fail(
            Refusal::VerificationMailFailed,
            "Could not send email for the verify email request.",
        );
    }
    let now = app.now();
    let changes = UserChanges {
        emailverify_sent_datetime: Some(now),
        ..Default::default()
    };
    store::users::update(app.writes(), user.user_id, changes, now).await?;
    Ok(Said::new(
        answers::SignupMailSent {
            user_id: user.user_id,
            email_address: user.email,
            emailverify_sent_datetime: timefmt::format(now),
        },
        "Verify email sent successfully.",
    ))
}

pub async fn forgotpass(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::UserSendemailForgotpass,
) -> Done<answers::ForgotMailSent> {
    let fail = |reason: Refusal, message: &str| -> Done<answers::ForgotMailSent> {
        Err(No::new(reason, message)
            .nulls(&["user_id", "email_address", "emailforgotpass_sent_datetime"])
            .into())
    };
    let expires = expiry(&app, p.verification_expiry)?;
    let address = normalise(&p.email_address);
    let target = store::users::by_email(&app.db, &address)
        .await?
        .filter(|u| u.is_active && u.user_role != Role::Locked && u.user_role != Role::Anonymous);
    let Some(user) = target else {
        return fail(
            Refusal::ForgotpassInvalidUser,
            "Invalid password reset email request.",
        );
    };
    let now = app.now();
    // At most one reset mail per account per day.
    if user
        .emailforgotpass_sent_datetime
        .is_some_and(|sent| now - sent <= chrono::Duration::hours(24))
    {
        return fail(
            Refusal::ForgotpassTooSoon,
            "Invalid password reset email request.",
        );
    }
    let Some(session) = live_session(&app, p.session_token.expose_secret()).await? else {
        return fail(
            Refusal::ForgotpassInvalidSession,
            "Invalid verification email request.",
        );
    };
    // The check above answers most repeats cheaply; this conditional
    // update decides between concurrent requests: one mail between them.
    let day_ago = now - chrono::Duration::hours(24);
    if !store::users::claim_forgotpass_mail(app.writes(), user.user_id, now, day_ago).await? {
        return fail(
            Refusal::ForgotpassTooSoon,
            "Invalid password reset email request.",
        );
    }
    let token = wrap(p.verification_token.expose_secret());
    let vars = [
        ("server_name", p.server_name.as_str()),
        ("server_baseurl", p.server_baseurl.as_str()),
        ("password_forgot_url", p.password_forgot_url.as_str()),
        ("verification_code", token.as_str()),
        ("verification_expiry", expires.as_str()),
        ("browser_identifier", session.session.user_agent()),
        ("ip_address", session.session.ip_address()),
        ("user_email", user.email.as_str()),
    ];
    if app
        .notify
        .mailer
        .send(&user.email, Kind::ForgotPass, &vars)
        .await
        .is_err()
    {
        // Not sent: the day is not used up.
        store::users::release_forgotpass_mail(
            app.writes(),
            user.user_id,
            user.emailforgotpass_sent_datetime,
        )
        .await?;
        return fail(
            Refusal::ForgotpassMailFailed,
            "Could not send the password reset email.",
        );
    }
    Ok(Said::new(
        answers::ForgotMailSent {
            user_id: user.user_id,
            email_address: user.email,
            emailforgotpass_sent_datetime: timefmt::format(now),
        },
        "Password reset request sent successfully.",
    ))
}
