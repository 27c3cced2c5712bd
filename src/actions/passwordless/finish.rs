//! `passwordless-finish`: a code or link signs in once.

use std::sync::Arc;

use authnzd_proto::{self as proto, Amr, Method, Role, answers};
use entity::users;

use super::{INVALID, INVALID_MESSAGE, WRONG_CODES_MAX, code_matches};
use crate::actions::{Ctx, Done, Event, Fault, Refusal, Said, can_sign_in, no};
use crate::app::App;
use crate::event::Proof;
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store::{self, users::NewUser, users::UserChanges};

pub async fn finish(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PasswordlessFinish,
) -> Done<answers::SignedIn> {
    let now = app.now();
    let attempt = match (&p.link_token, &p.attempt_id, &p.code) {
        // With `attempt_id` too, the link works only for that attempt: a
        // frontend binds the link to the browser that asked for it.
        (Some(link), bound, _) => {
            store::passwordless::by_link(&app.db, &tokens::digest(link.expose_secret()))
                .await?
                .filter(|a| bound.as_ref().is_none_or(|id| *id == a.attempt_id))
        }
        (None, Some(id), Some(_)) => store::passwordless::by_id(&app.db, id).await?,
        _ => {
            return no(
                Refusal::Invalid("invalid request: give attempt_id and code, or link_token".into()),
                "Invalid sign-in request.",
            );
        }
    };
    let Some(attempt) = attempt.filter(|a| a.finished.is_none() && a.expires > now) else {
        return no(INVALID, INVALID_MESSAGE);
    };
    if p.link_token.is_none() {
        // The try is counted before the comparison, so concurrent guesses
        // cannot get more than WRONG_CODES_MAX comparisons between them.
        if !store::passwordless::take_try(&app.db, &attempt.attempt_id, WRONG_CODES_MAX).await? {
            return no(INVALID, INVALID_MESSAGE);
        }
        let offered = p.code.as_ref().map_or("", |c| c.expose_secret()).trim();
        if !code_matches(&app, &attempt.attempt_id, offered, &attempt.code_hmac) {
            let wrong =
                store::passwordless::wrong_code(&app.db, &attempt.attempt_id, WRONG_CODES_MAX, now)
                    .await?;
            let reason = if wrong >= WRONG_CODES_MAX {
                Refusal::TooManyWrongCodes
            } else {
                Refusal::WrongCode
            };
            // No user lookup here: an attempt for an unknown address is
            // answered, and logged, like any other.
            let event = Event::PasswordlessWrongCode {
                channel: attempt.channel.clone(),
                wrong_codes: wrong,
            };
            crate::actions::audit(&app, &ctx, event, None).await?;
            return no(reason, "That code is not right.");
        }
    }
    // Single use, also against a concurrent finish.
    if !store::passwordless::finish(&app.db, &attempt.attempt_id, now).await? {
        return no(INVALID, INVALID_MESSAGE);
    }
    let user = match attempt.channel.as_str() {
        "sms" => store::users::by_phone(&app.db, &attempt.address).await?,
        _ => store::users::by_email(&app.db, &attempt.address).await?,
    };
    let user = match user {
        Some(u) => u,
        None if attempt.create_user => create(&app, &attempt.address, now).await?,
        None => return no(INVALID, INVALID_MESSAGE),
    };
    if !can_sign_in(&user, now) {
        let event = Event::PasswordlessRefused {
            channel: attempt.channel.clone(),
        };
        crate::actions::audit(&app, &ctx, event, Some(user.user_id)).await?;
        return no(
            Refusal::AccountCannotSignIn,
            "Sorry, this account cannot sign in.",
        );
    }
    let pre_login = p
        .session_token
        .as_ref()
        .map(|t| tokens::digest(t.expose_secret()));
    let method = if attempt.channel == "sms" {
        Method::Sms
    } else {
        Method::Email
    };
    if crate::actions::mfa::required(&app, user.user_id).await? {
        let no =
            crate::actions::mfa::second_factor_required(&app, &user, pre_login, method).await?;
        return Err(no.into());
    }
    if let Some(hash) = pre_login {
        store::sessions::delete(app.writes(), &hash).await?;
    }
    store::users::record_success(app.writes(), user.user_id, now).await?;
    // A code or link that arrived at the account's address verifies it (an
    // address changed since the last verification).
    if method == Method::Email && !user.email_verified && user.email == attempt.address {
        let verified = UserChanges {
            email_verified: Some(true),
            ..Default::default()
        };
        store::users::update(app.writes(), user.user_id, verified, now).await?;
    }
    let amr = Amr::new([method]);
    crate::actions::mfa::signed_in(&app, user.user_id, &amr).await?;
    let ip_hash = app.ip_digest(ctx.client_ipaddr.as_deref());
    let event = Event::PasswordlessFinish {
        channel: attempt.channel.clone(),
        by: if p.link_token.is_some() {
            Proof::Link
        } else {
            Proof::Code
        },
    };
    store::audit::record(&app.db, now, &event, Some(user.user_id), ip_hash).await?;
    Ok(Said::new(
        answers::SignedIn {
            user_id: user.user_id,
            user_role: user.user_role,
            redirect_url: attempt.redirect_url,
            amr,
        },
        "Signed in.",
    ))
}

/// An account for an address that just proved it receives mail: verified
/// and active, with a random password nobody knows.
async fn create(
    app: &App,
    address: &str,
    now: chrono::NaiveDateTime,
) -> Result<users::Model, Fault> {
    let password_hash = app.credentials.hasher.hash(tokens::new_token()?).await?;
    let new = NewUser {
        system_id: uuid::Uuid::new_v4().to_string(),
        full_name: String::new(),
        password_hash,
        email: address.to_owned(),
        email_verified: true,
        is_active: true,
        user_role: Role::Authenticated.into(),
        extra_info: serde_json::Value::Object(serde_json::Map::new()),
        now,
    };
    match store::users::insert_unless_taken(&app.db, new).await? {
        Some(u) => Ok(u),
        // Created by a concurrent sign-in or sign-up meanwhile.
        None => store::users::by_email(&app.db, address)
            .await?
            .ok_or(Fault::Db(sea_orm::DbErr::RecordNotFound(
                address.to_owned(),
            ))),
    }
}
