//! A user's own change of address (the portal's account page): the new
//! address counts only once a link mailed to it is opened. Until then the
//! account keeps its address, unlike `user-edit`, which writes a new one at
//! once as unverified (an address changed is not an address verified).
//!
//! The link carries a token sealed under `Label::EmailChange`: the user, the
//! address it changes from and to, and when its mail was sent (kept as the
//! account's `emailverify_sent_datetime`). It expires, works only for its
//! user, and works once: the change is conditional on the old address, and
//! clears the send time, so no earlier link matches again; a newer request
//! replaces the send time, so only the newest link works.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::super::{Ctx, Done, Event, Fault, Refusal, Said, audit, can_sign_in, no};
use crate::app::App;
use crate::notify::templates::Kind;
use crate::security::email;
use crate::store::{self, users::UserChanges};

/// How long a link works.
pub const LINK_MINUTES: i64 = 60;

const INVALID: &str = "This link is not valid: it has expired, was used, or is not yours.";

/// What the sealed token says.
#[derive(Serialize, Deserialize)]
struct Claim {
    user_id: i64,
    from: String,
    to: String,
    /// The mail's send time, microseconds since the epoch.
    sent: i64,
}

fn micros(t: chrono::NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

/// Mails a link to `new_email` for `user_id` (the caller has checked the
/// session is fresh); `link_prefix` is the link without the token, which
/// is appended URL-encoded. Whether the address belongs to another account
/// is not checked here, so the answer does not tell: the link, once
/// opened, does. The answer is the address written to.
pub async fn request(
    app: Arc<App>,
    ctx: Ctx,
    user_id: i64,
    new_email: &str,
    link_prefix: &str,
) -> Done<String> {
    let now = app.now();
    let Some(user) = store::users::by_id(&app.db, user_id).await? else {
        return no(Refusal::NoSuchUser, "No such user.");
    };
    if !can_sign_in(&user, now) {
        return no(Refusal::NoSuchUser, "No such user.");
    }
    let Ok(to) = email::validate_for_signup(new_email) else {
        return no(
            Refusal::Invalid("invalid request: invalid email".into()),
            "That is not an email address that can be used.",
        );
    };
    if to == user.email {
        return no(
            Refusal::Invalid("invalid request: the address is the current one".into()),
            "That is already the account's address.",
        );
    }
    let changes = UserChanges {
        emailverify_sent_datetime: Some(now),
        ..Default::default()
    };
    let Some(written) = store::users::update(app.writes(), user_id, changes, now).await? else {
        return no(Refusal::NoSuchUser, "No such user.");
    };
    let claim = Claim {
        user_id,
        from: written.email.clone(),
        to: to.clone(),
        sent: micros(written.emailverify_sent_datetime.unwrap_or(now)),
    };
    let plain = serde_json::to_vec(&claim)
        .map_err(|e| Fault::Internal(format!("email change claim: {e}")))?;
    let token = app
        .keys
        .email_change
        .seal(&plain)
        .ok_or_else(|| Fault::Internal("no key to seal links".into()))?;
    let link = format!(
        "{link_prefix}{}",
        url::form_urlencoded::byte_serialize(token.as_bytes()).collect::<String>()
    );
    let minutes = LINK_MINUTES.to_string();
    let vars = [
        ("server_name", app.config.server.server_name.as_str()),
        ("user_email", to.as_str()),
        ("link", link.as_str()),
        ("expires_minutes", minutes.as_str()),
    ];
    if app
        .notify
        .mailer
        .send(&to, Kind::EmailChange, &vars)
        .await
        .is_err()
    {
        return no(
            Refusal::VerificationMailFailed,
            "Could not send the email to confirm the address.",
        );
    }
    audit(&app, &ctx, Event::EmailChangeRequested, Some(user_id)).await?;
    Ok(Said::new(to, "A link to confirm the address was sent."))
}

/// Opens the link `token` for `user_id`: the account's new address, or the
/// refusal (`CodeOrLinkInvalid` for any link that does not work now,
/// `EmailInUse` when the address became another account's).
pub async fn confirm(app: Arc<App>, ctx: Ctx, user_id: i64, token: &str) -> Done<String> {
    let claim = app
        .keys
        .email_change
        .open(token)
        .and_then(|o| serde_json::from_slice::<Claim>(&o.plain).ok());
    let Some(claim) = claim.filter(|c| c.user_id == user_id) else {
        return no(Refusal::CodeOrLinkInvalid, INVALID);
    };
    let now = app.now();
    let expired = micros(now) - claim.sent > LINK_MINUTES * 60 * 1_000_000;
    let Some(user) = store::users::by_id(&app.db, user_id).await? else {
        return no(Refusal::CodeOrLinkInvalid, INVALID);
    };
    let current =
        user.email == claim.from && user.emailverify_sent_datetime.map(micros) == Some(claim.sent);
    if expired || !current || !can_sign_in(&user, now) {
        return no(Refusal::CodeOrLinkInvalid, INVALID);
    }
    match store::users::change_email_if(app.writes(), user_id, &claim.from, &claim.to, now).await {
        Ok(Some(_)) => {}
        Ok(None) => return no(Refusal::CodeOrLinkInvalid, INVALID),
        Err(e) if store::users::is_taken(&e) => {
            return no(Refusal::EmailInUse, "That email address is already in use.");
        }
        Err(e) => return Err(e.into()),
    }
    audit(&app, &ctx, Event::EmailChanged, Some(user_id)).await?;
    Ok(Said::new(claim.to, "The address is changed."))
}
