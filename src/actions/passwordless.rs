//! `passwordless-start` and `passwordless-finish`: sign-in by a 6-digit code
//! (email or SMS) or a single-use link (email).
//!
//! The start answers the same whether or not the address has an account,
//! and counts toward send windows per address and per client IP that are
//! kept in the database. The code is stored as an HMAC keyed with a secret
//! derived from the server key, the link token as SHA-256; five wrong codes
//! end an attempt; every attempt is single use and expires.

use authnzd_proto::{self as proto, Role};
use std::sync::Arc;

use entity::{passwordless_attempts as attempts, users};
use serde_json::json;
use subtle::ConstantTimeEq;

use super::{ActionResult, Ctx, Fault, Outcome, Refusal, can_sign_in};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::notify::templates::Kind;
use crate::secret::ExposeSecret;
use crate::security::email::{normalise, validate_for_signup};
use crate::security::tokens;
use crate::store::{self, users::NewUser};
use crate::timefmt;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![typed(start), typed(finish)]
}

/// Wrong codes that end an attempt.
const WRONG_CODES_MAX: i32 = 5;
const REDIRECT_URL_MAX: usize = 2000;

const INVALID: Refusal = Refusal::CodeOrLinkInvalid;
const INVALID_MESSAGE: &str = "That code or link is not valid any more. Please ask for a new one.";

fn code_hmac(app: &App, attempt_id: &str, code: &str) -> String {
    app.keyed(&format!("code\0{attempt_id}\0{code}"))
}

/// A uniformly random 6-digit code.
fn new_code() -> Result<String, Fault> {
    loop {
        let n = u32::from_le_bytes(tokens::random_bytes::<4>()?);
        // Rejection sampling keeps every code equally likely.
        if n < 4_294_000_000 {
            return Ok(format!("{:06}", n % 1_000_000));
        }
    }
}

fn refused(reason: Refusal, message: &str) -> Outcome {
    Outcome::fail(reason, message, json!({}))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Email,
    Sms,
}

pub async fn start(app: Arc<App>, ctx: Ctx, p: proto::PasswordlessStart) -> ActionResult {
    let channel = match p.channel.as_str() {
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        _ => {
            return Ok(refused(
                Refusal::Invalid("invalid request: channel must be \"email\" or \"sms\"".into()),
                "Invalid sign-in request.",
            ));
        }
    };
    let create_user = p.create_user.unwrap_or(false);
    let address = match channel {
        Channel::Email if create_user => match validate_for_signup(&p.address) {
            Ok(a) => a,
            Err(e) => {
                return Ok(refused(
                    Refusal::Invalid("invalid request: address".into()),
                    &e.to_string(),
                ));
            }
        },
        Channel::Email => {
            let a = normalise(&p.address);
            if !email_address::EmailAddress::is_valid(&a) {
                return Ok(refused(
                    Refusal::Invalid("invalid request: address".into()),
                    "That doesn't look like an email address.",
                ));
            }
            a
        }
        Channel::Sms if create_user => {
            return Ok(refused(
                Refusal::Invalid("invalid request: create_user needs the email channel".into()),
                "Accounts can only be created by email.",
            ));
        }
        Channel::Sms => match app.sms.normalise(&p.address) {
            Ok(a) => a,
            Err(why) => {
                return Ok(refused(
                    Refusal::Invalid("invalid request: address".into()),
                    &format!("That doesn't look like a phone number: {why}."),
                ));
            }
        },
    };
    if p.redirect_url
        .as_ref()
        .is_some_and(|u| u.len() > REDIRECT_URL_MAX)
    {
        return Ok(refused(
            Refusal::Invalid("invalid request: redirect_url too long".into()),
            "Invalid sign-in request.",
        ));
    }

    let config = &app.config;
    let now = app.now();
    let ip_hash = app.ip_digest(ctx.client_ipaddr.as_deref());
    let attempt_id = hex::encode(tokens::random_bytes::<16>()?);
    let code = new_code()?;
    let link_token = match channel {
        Channel::Email => Some(tokens::new_token()?),
        Channel::Sms => None,
    };
    let expires = now + chrono::Duration::seconds(config.passwordless.passwordless_ttl as i64);
    // The attempt is written first and the windows counted with it, so that
    // concurrent starts (on any instance) cannot all see room in a window:
    // the one that finds itself past the limit takes its row back. Within
    // this instance, starts for one address or client take turns, so racing
    // starts do not refuse each other either.
    let turn = window_turn(&address, ip_hash.as_deref()).await;
    store::passwordless::insert(
        &app.db,
        attempts::Model {
            attempt_id: attempt_id.clone(),
            channel: p.channel.clone(),
            address: address.clone(),
            ip_hash: ip_hash.clone().unwrap_or_default(),
            code_hmac: code_hmac(&app, &attempt_id, &code),
            link_hash: link_token.as_deref().map(tokens::digest),
            wrong_codes: 0,
            create_user,
            redirect_url: p.redirect_url.clone(),
            created: now,
            expires,
            finished: None,
        },
    )
    .await?;
    let address_since =
        now - chrono::Duration::seconds(config.passwordless.passwordless_address_window as i64);
    if store::passwordless::sent_to(&app.db, &address, address_since).await?
        > u64::from(config.passwordless.passwordless_per_address)
    {
        store::passwordless::delete(&app.db, &attempt_id).await?;
        drop(turn);
        let detail = json!({"channel": p.channel, "window": "address"});
        super::audit(&app, &ctx, "passwordless-window-full", None, detail).await?;
        return Ok(refused(
            Refusal::TooManyCodesForAddress,
            "Too many sign-in codes were sent to this address. Please try again later.",
        ));
    }
    let ip_since =
        now - chrono::Duration::seconds(config.passwordless.passwordless_ip_window as i64);
    if let Some(ip_hash) = &ip_hash
        && store::passwordless::sent_from(&app.db, ip_hash, ip_since).await?
            > u64::from(config.passwordless.passwordless_per_ip)
    {
        store::passwordless::delete(&app.db, &attempt_id).await?;
        drop(turn);
        let detail = json!({"channel": p.channel, "window": "client"});
        super::audit(&app, &ctx, "passwordless-window-full", None, detail).await?;
        return Ok(refused(
            Refusal::TooManyCodesFromClient,
            "Too many sign-in codes were requested. Please try again later.",
        ));
    }

    drop(turn);

    let user = match channel {
        Channel::Email => store::users::by_email(&app.db, &address).await?,
        Channel::Sms => store::users::by_phone(&app.db, &address).await?,
    };
    // Codes go to accounts that can sign in, and to new addresses when the
    // caller asked for an account; the answer is the same either way.
    let send = match &user {
        Some(u) => can_sign_in(u, now),
        None => create_user,
    };

    if !send {
        // Take about as long as a send would, so the answer's timing does
        // not tell known addresses from unknown ones.
        let typical = match channel {
            Channel::Email => app.mailer.counters.typical(),
            Channel::Sms => app.sms.counters.typical(),
        };
        tokio::time::sleep(typical).await;
    } else {
        let minutes = (config.passwordless.passwordless_ttl / 60).to_string();
        let sent = match (&link_token, channel) {
            (Some(token), Channel::Email) => {
                let link = format!(
                    "{}{}token={token}",
                    config.passwordless.passwordless_link_base_url,
                    if config.passwordless.passwordless_link_base_url.contains('?') {
                        '&'
                    } else {
                        '?'
                    }
                );
                let vars = [
                    ("code", code.as_str()),
                    ("link", link.as_str()),
                    ("server_name", config.server.server_name.as_str()),
                    ("expires_minutes", minutes.as_str()),
                ];
                app.mailer
                    .send(&address, Kind::MagicLink, &vars)
                    .await
                    .is_ok()
            }
            _ => {
                let text = app.mailer.templates.sms(&[
                    ("code", code.as_str()),
                    ("server_name", config.server.server_name.as_str()),
                    ("expires_minutes", minutes.as_str()),
                ]);
                app.sms.send(&address, &text).await.is_ok()
            }
        };
        if !sent {
            store::passwordless::finish(&app.db, &attempt_id, now).await?;
            let detail = json!({"channel": p.channel});
            let user_id = user.as_ref().map(|u| u.user_id);
            super::audit(&app, &ctx, "passwordless-send-failed", user_id, detail).await?;
            return Ok(refused(
                Refusal::CodeNotSent,
                "We could not send a sign-in code just now. Please try again later.",
            ));
        }
    }
    store::audit::record(
        &app.db,
        now,
        "passwordless-send",
        user.as_ref().map(|u| u.user_id),
        ip_hash,
        Some(json!({"channel": p.channel, "sent": send})),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"attempt_id": attempt_id, "expires": timefmt::format(expires), "channel": p.channel}),
        "If this address can sign in, a code is on its way.",
    ))
}

/// Locks striped by address and by client, held while a start checks its
/// send windows.
static WINDOW_LOCKS: [tokio::sync::Mutex<()>; 64] =
    [const { tokio::sync::Mutex::const_new(()) }; 64];

async fn window_turn(
    address: &str,
    ip_hash: Option<&str>,
) -> Vec<tokio::sync::MutexGuard<'static, ()>> {
    use std::hash::{Hash, Hasher};
    let stripe = |s: &str| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        s.hash(&mut h);
        (h.finish() % WINDOW_LOCKS.len() as u64) as usize
    };
    let mut stripes = vec![stripe(address)];
    stripes.extend(ip_hash.map(stripe));
    // Always in the same order, so two starts never wait on each other.
    stripes.sort_unstable();
    stripes.dedup();
    let mut held = Vec::with_capacity(stripes.len());
    for i in stripes {
        held.push(WINDOW_LOCKS[i].lock().await);
    }
    held
}

pub async fn finish(app: Arc<App>, ctx: Ctx, p: proto::PasswordlessFinish) -> ActionResult {
    let now = app.now();
    let attempt = match (&p.link_token, &p.attempt_id, &p.code) {
        (Some(link), _, _) => {
            store::passwordless::by_link(&app.db, &tokens::digest(link.expose_secret())).await?
        }
        (None, Some(id), Some(_)) => store::passwordless::by_id(&app.db, id).await?,
        _ => {
            return Ok(refused(
                Refusal::Invalid("invalid request: give attempt_id and code, or link_token".into()),
                "Invalid sign-in request.",
            ));
        }
    };
    let Some(attempt) = attempt.filter(|a| a.finished.is_none() && a.expires > now) else {
        return Ok(refused(INVALID, INVALID_MESSAGE));
    };
    if p.link_token.is_none() {
        // The try is counted before the comparison, so concurrent guesses
        // cannot get more than WRONG_CODES_MAX comparisons between them.
        if !store::passwordless::take_try(&app.db, &attempt.attempt_id, WRONG_CODES_MAX).await? {
            return Ok(refused(INVALID, INVALID_MESSAGE));
        }
        let offered = code_hmac(
            &app,
            &attempt.attempt_id,
            p.code.as_ref().map_or("", |c| c.expose_secret()).trim(),
        );
        if !bool::from(offered.as_bytes().ct_eq(attempt.code_hmac.as_bytes())) {
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
            let detail = json!({"channel": attempt.channel, "wrong_codes": wrong});
            super::audit(&app, &ctx, "passwordless-wrong-code", None, detail).await?;
            return Ok(refused(reason, "That code is not right."));
        }
    }
    // Single use, also against a concurrent finish.
    if !store::passwordless::finish(&app.db, &attempt.attempt_id, now).await? {
        return Ok(refused(INVALID, INVALID_MESSAGE));
    }
    let user = match attempt.channel.as_str() {
        "sms" => store::users::by_phone(&app.db, &attempt.address).await?,
        _ => store::users::by_email(&app.db, &attempt.address).await?,
    };
    let user = match user {
        Some(u) => u,
        None if attempt.create_user => create(&app, &attempt.address, now).await?,
        None => return Ok(refused(INVALID, INVALID_MESSAGE)),
    };
    if !can_sign_in(&user, now) {
        let detail = json!({"channel": attempt.channel});
        super::audit(
            &app,
            &ctx,
            "passwordless-refused",
            Some(user.user_id),
            detail,
        )
        .await?;
        return Ok(refused(
            Refusal::AccountCannotSignIn,
            "Sorry, this account cannot sign in.",
        ));
    }
    let pre_login = p
        .session_token
        .as_ref()
        .map(|t| tokens::digest(t.expose_secret()));
    if super::mfa::required(&app, user.user_id).await? {
        return super::mfa::second_factor_required(&app, &user, pre_login).await;
    }
    if let Some(hash) = pre_login {
        store::sessions::delete(&app.db, &hash).await?;
        app.sessions.invalidate_session(&hash).await;
    }
    store::users::record_success(&app.db, user.user_id, now).await?;
    app.sessions.invalidate_user(user.user_id).await;
    let ip_hash = app.ip_digest(ctx.client_ipaddr.as_deref());
    store::audit::record(
        &app.db,
        now,
        "passwordless-finish",
        Some(user.user_id),
        ip_hash,
        Some(json!({"channel": attempt.channel, "by": if p.link_token.is_some() { "link" } else { "code" }})),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"user_id": user.user_id, "user_role": user.user_role,
               "redirect_url": attempt.redirect_url}),
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
    let password_hash = app.hasher.hash(tokens::new_token()?).await?;
    let new = NewUser {
        system_id: uuid::Uuid::new_v4().to_string(),
        full_name: String::new(),
        password_hash,
        email: address.to_owned(),
        email_verified: true,
        is_active: true,
        user_role: Role::Authenticated.into(),
        extra_info: json!({}),
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
