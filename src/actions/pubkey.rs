//! Public-key login with device keys (Ed25519): `pubkey-challenge-new`,
//! `pubkey-register`, `pubkey-login`, `pubkey-challenge-wait`,
//! `pubkey-list`, `pubkey-delete`.
//!
//! A device signs the UTF-8 of
//! `"authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}"`; the
//! signature is checked with `verify_strict` (no non-canonical signatures,
//! no small-order keys). A challenge is bound to its purpose, expires, and
//! is spent by one conditional update, so of any number of concurrent uses
//! exactly one succeeds. Waiters on a challenge are woken in-process the
//! moment it completes, and re-check the database every second so that a
//! completion by another process on the same database releases them too.

use authnzd_proto as proto;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entity::{pubkey_challenges as challenges, pubkey_keys as keys};
use serde_json::json;

use super::{ActionResult, Ctx, Fault, Outcome, Refusal, can_sign_in};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::security::device_keys::{Purpose, decode_public_key, decode_signature, signed_message};
use crate::security::tokens;
use crate::store;
use crate::timefmt;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(challenge_new),
        typed(register),
        typed(login),
        typed(challenge_wait),
        typed(list),
        typed(delete),
    ]
}

/// The longest `pubkey-challenge-wait`.
fn refused(reason: Refusal, message: &str) -> Outcome {
    Outcome::fail(reason, message, json!({}))
}

const WAIT_MAX_SECONDS: i64 = 30;
/// How often a waiter re-reads its challenge (completions by other processes).
const RECHECK: Duration = Duration::from_secs(1);
const LABEL_MAX: usize = 200;
const USER_AGENT_MAX: usize = 280;
/// Challenges are kept this long past their expiry (waiters still get
/// `expired` for them), then pruned.
const CHALLENGE_KEEP_HOURS: i64 = 24;

/// The challenge if it can still be used for `purpose`.
async fn usable_challenge(
    app: &App,
    id: &str,
    purpose: Purpose,
) -> Result<Result<challenges::Model, Refusal>, Fault> {
    let Some(c) = store::pubkey::challenge(&app.db, id).await? else {
        return Ok(Err(Refusal::ChallengeUnknown));
    };
    Ok(if c.purpose != purpose.as_str() {
        Err(Refusal::ChallengeWrongPurpose)
    } else if c.used.is_some() {
        Err(Refusal::ChallengeUsed)
    } else if c.expires <= app.now() {
        Err(Refusal::ChallengeExpired)
    } else {
        Ok(c)
    })
}

/// Why a conditional spend found nothing to spend.
async fn why_not_spent(app: &App, id: &str) -> Result<Refusal, Fault> {
    Ok(match store::pubkey::challenge(&app.db, id).await? {
        None => Refusal::ChallengeUnknown,
        Some(c) if c.used.is_some() => Refusal::ChallengeUsed,
        Some(_) => Refusal::ChallengeExpired,
    })
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

pub async fn challenge_new(app: Arc<App>, _ctx: Ctx, p: proto::PubkeyChallengeNew) -> ActionResult {
    let Some(purpose) = Purpose::parse(&p.purpose) else {
        return Ok(refused(
            Refusal::PubkeyBadPurpose,
            "Invalid public-key challenge request.",
        ));
    };
    if let Some(user_id) = p.user_id
        && !store::users::exists(&app.db, user_id).await?
    {
        return Ok(refused(Refusal::NoSuchUser, "No such user."));
    }
    let now = app.now();
    let challenge_id = hex::encode(tokens::random_bytes::<16>()?);
    let challenge = STANDARD.encode(tokens::random_bytes::<32>()?);
    let ttl = i64::try_from(app.config.pubkey.pubkey_challenge_ttl).unwrap_or(300);
    let expires = now + chrono::Duration::seconds(ttl);
    store::pubkey::insert_challenge(
        &app.db,
        challenges::Model {
            challenge_id: challenge_id.clone(),
            purpose: purpose.as_str().to_owned(),
            challenge: challenge.clone(),
            user_id: p.user_id,
            created: now,
            expires,
            used: None,
            completed_user_id: None,
            key_id: None,
        },
    )
    .await?;
    let expires = timefmt::format(expires);
    let payload = json!({
        "v": 1,
        "type": "authnzd-pubkey",
        "server": app.config.server.server_name,
        "purpose": purpose.as_str(),
        "challenge_id": challenge_id,
        "challenge": challenge,
        "expires": expires,
        "user_id": p.user_id,
    })
    .to_string();
    let payload_signature = app.server_key.sign(payload.as_bytes());
    Ok(Outcome::ok(
        json!({
            "challenge_id": challenge_id,
            "challenge": challenge,
            "expires": expires,
            "server_public_key": app.server_key.public_key(),
            "payload": payload,
            "payload_signature": payload_signature,
        }),
        "Challenge issued.",
    ))
}

pub async fn register(app: Arc<App>, ctx: Ctx, p: proto::PubkeyRegister) -> ActionResult {
    const FAILED: &str = "Could not register the key.";
    let public_key = match decode_public_key(&p.public_key) {
        Ok(k) => k,
        Err(r) => return Ok(refused(r, FAILED)),
    };
    let signature = match decode_signature(&p.signature) {
        Ok(s) => s,
        Err(r) => return Ok(refused(r, FAILED)),
    };
    let label = p.label.as_deref().map(str::trim).filter(|l| !l.is_empty());
    if label.is_some_and(|l| l.chars().count() > LABEL_MAX) {
        return Ok(refused(
            Refusal::invalid(format!("label longer than {LABEL_MAX} characters")),
            FAILED,
        ));
    }
    let c = match usable_challenge(&app, &p.challenge_id, Purpose::Register).await? {
        Ok(c) => c,
        Err(r) => return Ok(refused(r, FAILED)),
    };
    if c.user_id.is_some_and(|u| u != p.user_id) {
        return Ok(refused(Refusal::ChallengeWrongUser, FAILED));
    }
    let message = signed_message(&c.purpose, &c.challenge_id, &c.challenge);
    if public_key
        .verify_strict(message.as_bytes(), &signature)
        .is_err()
    {
        super::audit(
            &app,
            &ctx,
            "pubkey-register-failed",
            Some(p.user_id),
            json!({"reason": "signature"}),
        )
        .await?;
        return Ok(refused(Refusal::PubkeyBadSignature, FAILED));
    }
    let now = app.now();
    match store::users::by_id(&app.db, p.user_id).await? {
        None => return Ok(refused(Refusal::NoSuchUser, FAILED)),
        Some(u) if !can_sign_in(&u, now) => {
            return Ok(refused(Refusal::AccountCannotSignIn, FAILED));
        }
        Some(_) => {}
    }
    let public_b64 = STANDARD.encode(public_key.to_bytes());
    if store::pubkey::key_by_public(&app.db, &public_b64)
        .await?
        .is_some()
    {
        return Ok(refused(Refusal::PubkeyExists, FAILED));
    }
    let key_id = hex::encode(tokens::random_bytes::<16>()?);
    if !store::pubkey::consume_challenge(
        &app.db,
        &c.challenge_id,
        &c.purpose,
        now,
        p.user_id,
        &key_id,
    )
    .await?
    {
        return Ok(refused(why_not_spent(&app, &c.challenge_id).await?, FAILED));
    }
    let added = store::pubkey::insert_key(
        &app.db,
        keys::Model {
            key_id: key_id.clone(),
            user_id: p.user_id,
            public_key: public_b64,
            label: label.map(str::to_owned),
            created: now,
            last_used: None,
        },
    )
    .await?;
    app.challenge_waits.wake(&c.challenge_id);
    if !added {
        // Registered by a concurrent request meanwhile.
        return Ok(refused(Refusal::PubkeyExists, FAILED));
    }
    super::audit(
        &app,
        &ctx,
        "pubkey-added",
        Some(p.user_id),
        json!({"key_id": key_id, "label": label}),
    )
    .await?;
    Ok(Outcome::ok(json!({"key_id": key_id}), "Key registered."))
}

pub async fn login(app: Arc<App>, ctx: Ctx, p: proto::PubkeyLogin) -> ActionResult {
    const FAILED: &str = "Could not log in with this key.";
    let signature = match decode_signature(&p.signature) {
        Ok(s) => s,
        Err(r) => return Ok(refused(r, FAILED)),
    };
    let ip_address = match p.ip_address.as_deref().map(str::trim) {
        Some(ip) => match ip.parse::<std::net::IpAddr>() {
            Ok(ip) => ip.to_string(),
            Err(_) => return Ok(refused(Refusal::InvalidIpAddress, FAILED)),
        },
        None => ctx.client_ipaddr.clone().unwrap_or_default(),
    };
    let c = match usable_challenge(&app, &p.challenge_id, Purpose::Login).await? {
        Ok(c) => c,
        Err(r) => return Ok(refused(r, FAILED)),
    };
    let Some(key) = store::pubkey::key(&app.db, &p.key_id).await? else {
        let detail = json!({"reason": "unknown key"});
        super::audit(&app, &ctx, "pubkey-login-failed", None, detail).await?;
        return Ok(refused(Refusal::PubkeyNotFound, FAILED));
    };
    if c.user_id.is_some_and(|u| u != key.user_id) {
        return Ok(refused(Refusal::ChallengeWrongUser, FAILED));
    }
    let message = signed_message(&c.purpose, &c.challenge_id, &c.challenge);
    let verified = decode_public_key(&key.public_key)
        .is_ok_and(|k| k.verify_strict(message.as_bytes(), &signature).is_ok());
    if !verified {
        let detail = json!({"reason": "signature", "key_id": key.key_id});
        super::audit(&app, &ctx, "pubkey-login-failed", Some(key.user_id), detail).await?;
        return Ok(refused(Refusal::PubkeyBadSignature, FAILED));
    }
    let now = app.now();
    let Some(user) = store::users::by_id(&app.db, key.user_id).await? else {
        return Ok(refused(Refusal::PubkeyNotFound, FAILED));
    };
    if !can_sign_in(&user, now) {
        let detail = json!({"reason": "account", "key_id": key.key_id});
        super::audit(&app, &ctx, "pubkey-login-failed", Some(key.user_id), detail).await?;
        return Ok(refused(Refusal::AccountCannotSignIn, FAILED));
    }
    // Single use: of concurrent logins with this challenge, one spends it.
    if !store::pubkey::consume_challenge(
        &app.db,
        &c.challenge_id,
        &c.purpose,
        now,
        user.user_id,
        &key.key_id,
    )
    .await?
    {
        return Ok(refused(why_not_spent(&app, &c.challenge_id).await?, FAILED));
    }
    // A key deleted while this login was under way does not log in.
    if store::pubkey::key(&app.db, &key.key_id).await?.is_none() {
        return Ok(refused(Refusal::PubkeyNotFound, FAILED));
    }
    let token = tokens::new_token()?;
    let days = i64::from(app.config.sessions.session_expiry_days);
    let expires = now + chrono::Duration::days(days);
    store::sessions::insert(
        &app.db,
        store::sessions::NewSession {
            token_hash: tokens::digest(&token),
            ip_address,
            user_agent: truncate(p.user_agent.as_deref().unwrap_or(""), USER_AGENT_MAX),
            user_id: user.user_id,
            created: now,
            expires,
            extra_info_json: None,
        },
    )
    .await?;
    store::pubkey::touch_key(&app.db, &key.key_id, now).await?;
    store::users::record_success(&app.db, user.user_id, now).await?;
    app.sessions.invalidate_user(user.user_id).await;
    app.challenge_waits.wake(&c.challenge_id);
    super::audit(
        &app,
        &ctx,
        "pubkey-login",
        Some(user.user_id),
        json!({"key_id": key.key_id}),
    )
    .await?;
    Ok(Outcome::ok(
        json!({
            "user_id": user.user_id,
            "user_role": user.user_role,
            "session_token": token,
            "expires": timefmt::format(expires),
        }),
        "Logged in with a device key.",
    ))
}

/// What a waiter answers for the challenge as it is now.
fn status(c: &challenges::Model, now: chrono::NaiveDateTime) -> Option<Outcome> {
    if c.used.is_some() {
        Some(Outcome::ok(
            json!({"status": "completed", "user_id": c.completed_user_id}),
            "Challenge completed.",
        ))
    } else if c.expires <= now {
        Some(Outcome::ok(
            json!({"status": "expired"}),
            "Challenge expired.",
        ))
    } else {
        None
    }
}

pub async fn challenge_wait(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::PubkeyChallengeWait,
) -> ActionResult {
    if !(0..=WAIT_MAX_SECONDS).contains(&p.wait_seconds) {
        return Ok(refused(Refusal::PubkeyBadWait, "Invalid wait."));
    }
    let wait = Duration::from_secs(p.wait_seconds.unsigned_abs());
    let deadline = tokio::time::Instant::now() + wait;
    let subscription = app.challenge_waits.subscribe(&p.challenge_id);
    loop {
        // Armed before the read, so a completion right after it still wakes us.
        let woken = subscription.notify.notified();
        tokio::pin!(woken);
        woken.as_mut().enable();
        let Some(c) = store::pubkey::challenge(&app.db, &p.challenge_id).await? else {
            return Ok(refused(Refusal::ChallengeUnknown, "No such challenge."));
        };
        let now = app.now();
        if let Some(answer) = status(&c, now) {
            return Ok(answer);
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if left.is_zero() {
            return Ok(Outcome::ok(
                json!({"status": "pending"}),
                "Challenge still pending.",
            ));
        }
        let to_expiry = (c.expires - now).to_std().unwrap_or_default();
        let nap = left.min(RECHECK).min(to_expiry);
        tokio::select! {
            () = &mut woken => {}
            () = tokio::time::sleep(nap) => {}
        }
    }
}

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::PubkeyList) -> ActionResult {
    if !store::users::exists(&app.db, p.user_id).await? {
        return Ok(Outcome::fail(
            Refusal::NoSuchUser,
            "No such user.",
            json!({"keys": []}),
        ));
    }
    let keys: Vec<_> = store::pubkey::keys_of(&app.db, p.user_id)
        .await?
        .iter()
        .map(|k| {
            json!({
                "key_id": k.key_id,
                "label": k.label,
                "created": timefmt::format(k.created),
                "last_used": timefmt::format_opt(k.last_used),
            })
        })
        .collect();
    let message = format!("{} device keys.", keys.len());
    Ok(Outcome::ok(json!({"keys": keys}), message))
}

pub async fn delete(app: Arc<App>, ctx: Ctx, p: proto::PubkeyDelete) -> ActionResult {
    if !store::pubkey::delete_key(&app.db, p.user_id, &p.key_id).await? {
        return Ok(refused(Refusal::PubkeyNotFound, "No such key."));
    }
    super::audit(
        &app,
        &ctx,
        "pubkey-removed",
        Some(p.user_id),
        json!({"key_id": p.key_id}),
    )
    .await?;
    Ok(Outcome::ok(json!({}), "Key deleted."))
}

/// Deletes challenges that expired more than a day ago (run with the
/// session pruning).
pub async fn prune_challenges(app: &App) -> Result<u64, Fault> {
    let cutoff = app.now() - chrono::Duration::hours(CHALLENGE_KEEP_HOURS);
    Ok(store::pubkey::delete_challenges_before(&app.db, cutoff).await?)
}
