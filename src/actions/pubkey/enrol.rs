//! The browser asks (`pubkey-challenge-new`), the app registers a key
//! (`pubkey-register`), the browser confirms it (`pubkey-register-confirm`).

use std::sync::Arc;

use authnzd_proto::{self as proto, answers};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entity::{pubkey_challenges as challenges, pubkey_keys as keys};
use serde::Serialize;

use super::{held_challenge, truncate, usable_challenge, why_not_spent};
use crate::actions::session::live_session;
use crate::actions::{Ctx, Done, Event, Fault, Refusal, Said, audit, can_sign_in, no};
use crate::app::App;
use crate::event::KeyFailure;
use crate::secret::ExposeSecret;
use crate::security::device_keys::{
    Purpose, decode_public_key, decode_signature, fingerprint, signed_message,
};
use crate::security::tokens;
use crate::store;
use crate::store::pubkey::Registered;
use crate::timefmt;

const LABEL_MAX: usize = 200;

/// A key's label as given: trimmed, none when blank, refused when longer
/// than `LABEL_MAX` characters.
pub(super) fn label_of(raw: Option<&str>) -> Result<Option<&str>, Refusal> {
    let label = raw.map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > LABEL_MAX) {
        let why = format!("label longer than {LABEL_MAX} characters");
        return Err(Refusal::invalid(why));
    }
    Ok(label)
}
const USER_AGENT_MAX: usize = 280;

/// What the QR code shows, signed by the server: the challenge, and who
/// asked (so the approving app can show it). Fields in alphabetical order,
/// the order the payload has always had.
#[derive(Serialize)]
struct Payload<'a> {
    challenge: &'a str,
    challenge_id: &'a str,
    expires: &'a str,
    purpose: &'a str,
    requester: Requester<'a>,
    server: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    v: u32,
}

#[derive(Serialize)]
struct Requester<'a> {
    ip_address: &'a str,
    time: &'a str,
    user_agent: &'a str,
}

/// The browser asking, as the payload shows it: an address that parses (or
/// the request's), the user agent cut to the column's width.
fn requester(ctx: &Ctx, ip: Option<&str>, ua: Option<&str>) -> Result<(String, String), Refusal> {
    let ip = match ip.map(str::trim) {
        Some(ip) => ip
            .parse::<std::net::IpAddr>()
            .map_err(|_| Refusal::InvalidIpAddress)?
            .to_string(),
        None => ctx.client_ipaddr.clone().unwrap_or_default(),
    };
    Ok((ip, truncate(ua.unwrap_or(""), USER_AGENT_MAX)))
}

/// The user and session a registration is asked from: a live session,
/// freshly signed in with all its user's factors.
async fn enrolling(
    app: &App,
    p: &proto::PubkeyChallengeNew,
    failed: &str,
) -> Result<(Option<i64>, Option<String>), crate::actions::Refused> {
    const SIGN_IN: &str = "Sign in to add a device key.";
    let Some(token) = &p.session_token else {
        return no(Refusal::SessionNotFound, SIGN_IN);
    };
    let found = live_session(app, token.expose_secret()).await?;
    let Some(found) = found.filter(|f| can_sign_in(&f.user, app.now())) else {
        return no(Refusal::SessionNotFound, SIGN_IN);
    };
    if p.user_id.is_some_and(|u| u != found.user.user_id) {
        return no(Refusal::ChallengeWrongUser, failed);
    }
    if !crate::actions::mfa::freshly_signed_in(app, &found).await? {
        return no(
            Refusal::FreshSignInRequired,
            "Sign in again, with every factor, to add a device key.",
        );
    }
    Ok((Some(found.user.user_id), Some(found.session.token_hash())))
}

/// Issues a challenge. Its `wait_secret` goes to this caller alone — the
/// browser — and never into the QR payload: the wait, an approved login's
/// session and the confirmation of a new key take it, so whoever
/// photographs the code gets none of them. A registration needs the user's
/// session, freshly signed in with all their factors; the key will be that
/// session's user's. The payload, signed by the server, tells the approving
/// app who asked (address, browser, time), so a user scanning a code that
/// someone else shows them can see it is not theirs.
pub async fn challenge_new(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PubkeyChallengeNew,
) -> Done<answers::PubkeyChallengeIssued> {
    const FAILED: &str = "Invalid public-key challenge request.";
    let Some(purpose) = Purpose::parse(&p.purpose) else {
        return no(Refusal::PubkeyBadPurpose, FAILED);
    };
    let (ip, ua) = match requester(&ctx, p.ip_address.as_deref(), p.user_agent.as_deref()) {
        Ok(r) => r,
        Err(reason) => return no(reason, FAILED),
    };
    let (user_id, session_hash) = match purpose {
        Purpose::Register => enrolling(&app, &p, FAILED).await?,
        Purpose::Login => {
            if let Some(user_id) = p.user_id
                && !store::users::exists(&app.db, user_id).await?
            {
                return no(Refusal::NoSuchUser, "No such user.");
            }
            (p.user_id, None)
        }
    };
    let now = app.now();
    let challenge_id = hex::encode(tokens::random_bytes::<16>()?);
    let challenge = STANDARD.encode(tokens::random_bytes::<32>()?);
    let wait_secret = tokens::new_token()?;
    let ttl = i64::try_from(app.config.pubkey.pubkey_challenge_ttl).unwrap_or(300);
    let expires = now + chrono::Duration::seconds(ttl);
    store::pubkey::insert_challenge(
        &app.db,
        challenges::Model {
            challenge_id: challenge_id.clone(),
            purpose: purpose.as_str().to_owned(),
            challenge: challenge.clone(),
            user_id,
            created: now,
            expires,
            used: None,
            completed_user_id: None,
            key_id: None,
            wait_hash: Some(tokens::digest(&wait_secret)),
            session_hash,
            requester_ip: Some(ip.clone()),
            requester_ua: Some(ua.clone()),
            delivered: None,
        },
    )
    .await?;
    let expires = timefmt::format(expires);
    let asked = timefmt::format(now);
    let payload = serde_json::to_string(&Payload {
        challenge: &challenge,
        challenge_id: &challenge_id,
        expires: &expires,
        purpose: purpose.as_str(),
        requester: Requester {
            ip_address: &ip,
            time: &asked,
            user_agent: &ua,
        },
        server: &app.config.server.server_name,
        kind: "authnzd-pubkey",
        v: 2,
    })
    .map_err(|e| Fault::Internal(format!("payload: {e}")))?;
    let payload_signature = app.keys.server_key.sign(payload.as_bytes());
    Ok(Said::new(
        answers::PubkeyChallengeIssued {
            challenge_id,
            challenge,
            expires,
            server_public_key: app.keys.server_key.public_key().to_owned(),
            payload,
            payload_signature,
            wait_secret: wait_secret.into(),
        },
        "Challenge issued.",
    ))
}

/// The app's half of a registration: the key, signed over the challenge, is
/// stored for the challenge's user, pending. It logs in only once the
/// browser that asked confirms it (`pubkey-register-confirm`) after its
/// wait showed the key's label and fingerprint; unconfirmed, it goes when
/// the challenge expires.
pub async fn register(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PubkeyRegister,
) -> Done<answers::PubkeyRegistered> {
    const FAILED: &str = "Could not register the key.";
    let public_key = decode_public_key(&p.public_key).or_else(|r| no(r, FAILED))?;
    let signature = decode_signature(&p.signature).or_else(|r| no(r, FAILED))?;
    let label = label_of(p.label.as_deref()).or_else(|r| no(r, FAILED))?;
    let c = usable_challenge(&app, &p.challenge_id, Purpose::Register, FAILED).await?;
    // Issued only for a signed-in session, so it names its user.
    let Some(user_id) = c.user_id else {
        return no(Refusal::ChallengeUnknown, FAILED);
    };
    if p.user_id.is_some_and(|u| u != user_id) {
        return no(Refusal::ChallengeWrongUser, FAILED);
    }
    let message = signed_message(&c.purpose, &c.challenge_id, &c.challenge);
    if public_key
        .verify_strict(message.as_bytes(), &signature)
        .is_err()
    {
        let event = Event::PubkeyRegisterFailed {
            reason: KeyFailure::Signature,
        };
        audit(&app, &ctx, event, Some(user_id)).await?;
        return no(Refusal::PubkeyBadSignature, FAILED);
    }
    let now = app.now();
    match store::users::by_id(&app.db, user_id).await? {
        Some(u) if can_sign_in(&u, now) => {}
        _ => return no(Refusal::AccountCannotSignIn, FAILED),
    }
    let key_id = hex::encode(tokens::random_bytes::<16>()?);
    let key = keys::Model {
        key_id: key_id.clone(),
        user_id,
        public_key: STANDARD.encode(public_key.to_bytes()),
        label: label.map(str::to_owned),
        created: now,
        last_used: None,
        confirmed: false,
        pending_until: Some(c.expires),
    };
    match store::pubkey::register_pending(&app.db, &c.challenge_id, now, key).await? {
        Registered::Pending => {}
        Registered::Exists => return no(Refusal::PubkeyExists, FAILED),
        Registered::NotSpent => return no(why_not_spent(&app, &c.challenge_id).await?, FAILED),
    }
    app.challenge_waits.wake(&c.challenge_id);
    let fingerprint = fingerprint(&public_key);
    let event = Event::PubkeyRegistered {
        key_id: key_id.clone(),
        label: label.map(str::to_owned),
        fingerprint: fingerprint.clone(),
    };
    audit(&app, &ctx, event, Some(user_id)).await?;
    Ok(Said::new(
        answers::PubkeyRegistered {
            key_id,
            fingerprint,
            status: "pending".into(),
        },
        "Key registered; confirm it in the browser that asked for it.",
    ))
}

pub async fn register_confirm(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::PubkeyRegisterConfirm,
) -> Done<answers::PubkeyConfirmed> {
    const FAILED: &str = "Could not confirm the key.";
    let held = held_challenge(&app, &p.challenge_id, p.wait_secret.expose_secret()).await?;
    let Some(c) = held else {
        return no(Refusal::ChallengeUnknown, FAILED);
    };
    if c.purpose != Purpose::Register.as_str() {
        return no(Refusal::ChallengeWrongPurpose, FAILED);
    }
    // The session that asked must still be there.
    if let Some(hash) = &c.session_hash
        && crate::actions::session::live_session_by_digest(&app, hash.clone())
            .await?
            .is_none()
    {
        return no(Refusal::SessionNotFound, FAILED);
    }
    let Some(key) = store::pubkey::confirm_key(&app.db, &c.challenge_id, app.now()).await? else {
        return no(Refusal::NothingToConfirm, FAILED);
    };
    app.challenge_waits.wake(&c.challenge_id);
    let event = Event::PubkeyAdded {
        key_id: key.key_id.clone(),
        label: key.label.clone(),
    };
    audit(&app, &ctx, event, Some(key.user_id)).await?;
    Ok(Said::new(
        answers::PubkeyConfirmed {
            key_id: key.key_id,
            label: key.label,
        },
        "Key added.",
    ))
}
