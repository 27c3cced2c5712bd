//! Public-key login with device keys (Ed25519): `pubkey-challenge-new`,
//! `pubkey-register`, `pubkey-register-confirm` (`enrol`), `pubkey-login`,
//! `pubkey-challenge-wait` (`approve`), `pubkey-list`, `pubkey-delete`,
//! `pubkey-rename`.
//!
//! Two parties: the browser that asks (it calls `pubkey-challenge-new`,
//! shows the QR code, waits, and holds the wait secret the answer gave it)
//! and the app that approves (it scans the code and signs). Whatever the
//! flow produces — the session of a login, the confirmation of a new key —
//! goes to the browser alone; the app, or anyone who photographed the code,
//! learns only that it approved.
//!
//! A device signs the UTF-8 of
//! `"authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}"`; the
//! signature is checked with `verify_strict` (no non-canonical signatures,
//! no small-order keys). A challenge is bound to its purpose, expires, and
//! is spent by one conditional update, so of any number of concurrent uses
//! exactly one succeeds. Waiters on a challenge are woken in-process the
//! moment it completes, and re-check the database every second so that a
//! completion by another process on the same database releases them too.

mod approve;
mod enrol;

use std::sync::Arc;

use authnzd_proto::{self as proto, answers};
use entity::pubkey_challenges as challenges;
use subtle::ConstantTimeEq;

pub use approve::{challenge_wait, challenge_watch, login};
pub use enrol::{challenge_new, register, register_confirm};

use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said, no};
use crate::app::App;
use crate::security::device_keys::Purpose;
use crate::security::tokens;
use crate::store;
use crate::timefmt;

/// Challenges are kept this long past their expiry (waiters still get
/// `expired` for them), then pruned.
const CHALLENGE_KEEP_HOURS: i64 = 24;

/// The challenge if it can still be used for `purpose`, or the refusal
/// (with `failed` as its message).
async fn usable_challenge(
    app: &App,
    id: &str,
    purpose: Purpose,
    failed: &str,
) -> Result<challenges::Model, Refused> {
    let Some(c) = store::pubkey::challenge(&app.db, id).await? else {
        return no(Refusal::ChallengeUnknown, failed);
    };
    let reason = if c.purpose != purpose.as_str() {
        Refusal::ChallengeWrongPurpose
    } else if c.used.is_some() {
        Refusal::ChallengeUsed
    } else if c.expires <= app.now() {
        Refusal::ChallengeExpired
    } else {
        return Ok(c);
    };
    no(reason, failed)
}

/// Why a conditional spend found nothing to spend.
async fn why_not_spent(app: &App, id: &str) -> Result<Refusal, Fault> {
    Ok(match store::pubkey::challenge(&app.db, id).await? {
        None => Refusal::ChallengeUnknown,
        Some(c) if c.used.is_some() => Refusal::ChallengeUsed,
        Some(_) => Refusal::ChallengeExpired,
    })
}

/// The challenge, if `secret` is its wait secret. Anything else answers as
/// an unknown challenge does, so a guess learns nothing; nothing is looked
/// up for an id that cannot be one.
async fn held_challenge(
    app: &App,
    id: &str,
    secret: &str,
) -> Result<Option<challenges::Model>, Fault> {
    let Some(id) = crate::waits::ChallengeId::parse(id) else {
        return Ok(None);
    };
    let Some(c) = store::pubkey::challenge(&app.db, id.as_str()).await? else {
        return Ok(None);
    };
    let offered = tokens::digest(secret);
    let holds = c
        .wait_hash
        .as_deref()
        .is_some_and(|h| bool::from(h.as_bytes().ct_eq(offered.as_bytes())));
    Ok(holds.then_some(c))
}

fn truncate(s: &str, max_chars: usize) -> String {
    s.chars().take(max_chars).collect()
}

pub async fn list(app: Arc<App>, _ctx: Ctx, p: proto::PubkeyList) -> Done<answers::DeviceKeys> {
    if !store::users::exists(&app.db, p.user_id).await? {
        let none: Vec<serde_json::Value> = Vec::new();
        return Err(No::new(Refusal::NoSuchUser, "No such user.")
            .with("keys", none)
            .into());
    }
    let keys: Vec<_> = store::pubkey::keys_of(&app.db, p.user_id)
        .await?
        .into_iter()
        .map(|k| answers::DeviceKey {
            key_id: k.key_id,
            label: k.label,
            created: timefmt::format(k.created),
            last_used: k.last_used.map(timefmt::format),
        })
        .collect();
    let message = format!("{} device keys.", keys.len());
    Ok(Said::new(answers::DeviceKeys { keys }, message))
}

pub async fn delete(app: Arc<App>, ctx: Ctx, p: proto::PubkeyDelete) -> Done<answers::Done> {
    if !store::pubkey::delete_key(&app.db, p.user_id, &p.key_id).await? {
        return no(Refusal::PubkeyNotFound, "No such key.");
    }
    let event = Event::PubkeyRemoved {
        key_id: p.key_id.clone(),
    };
    super::audit(&app, &ctx, event, Some(p.user_id)).await?;
    Ok(Said::new(answers::Done {}, "Key deleted."))
}

pub async fn rename(app: Arc<App>, _ctx: Ctx, p: proto::PubkeyRename) -> Done<answers::Done> {
    const FAILED: &str = "Could not rename the key.";
    let label = enrol::label_of(p.label.as_deref()).or_else(|r| no(r, FAILED))?;
    if !store::pubkey::set_label(&app.db, p.user_id, &p.key_id, label).await? {
        return no(Refusal::PubkeyNotFound, "No such key.");
    }
    // A label is cosmetic: not a security event, so not audited.
    Ok(Said::new(answers::Done {}, "Key renamed."))
}

/// Deletes challenges that expired more than a day ago, and keys never
/// confirmed whose challenge has expired (run with the session pruning).
pub async fn prune_challenges(app: &App) -> Result<u64, Fault> {
    let now = app.now();
    let cutoff = now - chrono::Duration::hours(CHALLENGE_KEEP_HOURS);
    let keys = store::pubkey::delete_unconfirmed_before(&app.db, now).await?;
    Ok(keys + store::pubkey::delete_challenges_before(&app.db, cutoff).await?)
}
