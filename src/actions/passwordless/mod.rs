//! `passwordless-start` and `passwordless-finish`: sign-in by a 6-digit code
//! (email or SMS) or a single-use link (email).
//!
//! The start answers the same whether or not the address has an account,
//! and counts toward send windows per address and per client IP that are
//! kept in the database. The code is stored as an HMAC keyed with a secret
//! derived from the newest ring key (and checked under each), the link
//! token as SHA-256; five wrong codes end an attempt; every attempt is
//! single use and expires.

mod deliver;
mod finish;

pub use finish::finish;

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;
use std::time::Duration;

use entity::passwordless_attempts as attempts;
use subtle::ConstantTimeEq;

use super::{Ctx, Done, Fault, Refusal, Said, can_sign_in, no};
use crate::app::App;
use crate::event::{Event, Window};
use crate::security::email::{normalise, validate_for_signup};
use crate::security::tokens;
use crate::store;
use crate::timefmt;
use deliver::{Outgoing, deliver, window_turn};

/// Wrong codes that end an attempt.
const WRONG_CODES_MAX: i32 = 5;
const REDIRECT_URL_MAX: usize = 2000;

const INVALID: Refusal = Refusal::CodeOrLinkInvalid;
const INVALID_MESSAGE: &str = "That code or link is not valid any more. Please ask for a new one.";

fn code_hmac(app: &App, attempt_id: &str, code: &str) -> String {
    app.keyed(&format!("code\0{attempt_id}\0{code}"))
}

/// Whether `code` is the attempt's, under any ring key: codes sent before
/// `authnzd key add` still sign in. Every key is compared, in constant
/// time.
fn code_matches(app: &App, attempt_id: &str, code: &str, stored: &str) -> bool {
    app.keyed_each(&format!("code\0{attempt_id}\0{code}"))
        .iter()
        .fold(subtle::Choice::from(0), |any, h| {
            any | h.as_bytes().ct_eq(stored.as_bytes())
        })
        .into()
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channel {
    Email,
    Sms,
}

pub async fn start(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PasswordlessStart,
) -> Done<answers::PasswordlessStarted> {
    let began = tokio::time::Instant::now();
    let channel = match p.channel.as_str() {
        "email" => Channel::Email,
        "sms" => Channel::Sms,
        _ => {
            return no(
                Refusal::Invalid("invalid request: channel must be \"email\" or \"sms\"".into()),
                "Invalid sign-in request.",
            );
        }
    };
    let create_user = p.create_user.unwrap_or(false);
    let address = match channel {
        Channel::Email if create_user => match validate_for_signup(&p.address) {
            Ok(a) => a,
            Err(e) => {
                return no(
                    Refusal::Invalid("invalid request: address".into()),
                    e.to_string(),
                );
            }
        },
        Channel::Email => {
            let a = normalise(&p.address);
            if !email_address::EmailAddress::is_valid(&a) {
                return no(
                    Refusal::Invalid("invalid request: address".into()),
                    "That doesn't look like an email address.",
                );
            }
            a
        }
        Channel::Sms if create_user => {
            return no(
                Refusal::Invalid("invalid request: create_user needs the email channel".into()),
                "Accounts can only be created by email.",
            );
        }
        Channel::Sms => match app.notify.sms.normalise(&p.address) {
            Ok(a) => a,
            Err(why) => {
                return no(
                    Refusal::Invalid("invalid request: address".into()),
                    format!("That doesn't look like a phone number: {why}."),
                );
            }
        },
    };
    if p.redirect_url
        .as_ref()
        .is_some_and(|u| u.len() > REDIRECT_URL_MAX)
    {
        return no(
            Refusal::Invalid("invalid request: redirect_url too long".into()),
            "Invalid sign-in request.",
        );
    }
    // Checked before anything is stored or sent: the link in a genuine
    // mail must not lead anywhere the operator did not allow.
    if let Some(target) = &p.redirect_url
        && let Err(why) = app.config.gateway.redirect_rule().check(target)
    {
        // The variant, not the text: the URL is the caller's.
        tracing::debug!(why = ?why, "redirect_url refused");
        return no(
            Refusal::RedirectUrlInvalid,
            "That page is not one we can send you back to.",
        );
    }

    let config = &app.config;
    let now = app.now();
    let ip_hash = app.ip_digest(ctx.client_ipaddr.as_deref());
    // The per-client window counts an IPv6 client by its /64.
    let window_ips = app.ip_window_digests(ctx.client_ipaddr.as_deref());
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
    let turn = window_turn(&address, window_ips.first().map(String::as_str)).await;
    store::passwordless::insert(
        &app.db,
        attempts::Model {
            attempt_id: attempt_id.clone(),
            channel: p.channel.clone(),
            address: address.clone(),
            ip_hash: window_ips.first().cloned().unwrap_or_default(),
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
        let event = Event::PasswordlessWindowFull {
            channel: p.channel.clone(),
            window: Window::Address,
        };
        super::audit(&app, &ctx, event, None).await?;
        return no(
            Refusal::TooManyCodesForAddress,
            "Too many sign-in codes were sent to this address. Please try again later.",
        );
    }
    let ip_since =
        now - chrono::Duration::seconds(config.passwordless.passwordless_ip_window as i64);
    if !window_ips.is_empty()
        && store::passwordless::sent_from(&app.db, &window_ips, ip_since).await?
            > u64::from(config.passwordless.passwordless_per_ip)
    {
        store::passwordless::delete(&app.db, &attempt_id).await?;
        drop(turn);
        let event = Event::PasswordlessWindowFull {
            channel: p.channel.clone(),
            window: Window::Client,
        };
        super::audit(&app, &ctx, event, None).await?;
        return no(
            Refusal::TooManyCodesFromClient,
            "Too many sign-in codes were requested. Please try again later.",
        );
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
    let user_id = user.as_ref().map(|u| u.user_id);
    if send {
        // Delivered after the answer: whether it worked (or how long it
        // took) must not show in the answer, which would tell accounts
        // apart. Failures go to the logs, metrics, /health and the audit.
        let outgoing = Outgoing {
            channel,
            address,
            attempt_id: attempt_id.clone(),
            code,
            link_token,
            user_id,
        };
        tokio::spawn(deliver(app.clone(), ctx.clone(), outgoing));
    }
    let event = Event::PasswordlessSend {
        channel: p.channel.clone(),
        sent: send,
    };
    store::audit::record(&app.db, now, &event, user_id, ip_hash).await?;
    // Every start that got this far answers after the same fixed minimum,
    // sending or not.
    let minimum = Duration::from_millis(config.passwordless.passwordless_min_answer_ms);
    tokio::time::sleep_until(began + minimum).await;
    Ok(Said::new(
        answers::PasswordlessStarted {
            attempt_id,
            expires: timefmt::format(expires),
            channel: p.channel,
        },
        "If this address can sign in, a code is on its way.",
    ))
}
