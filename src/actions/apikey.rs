//! Session-bound API keys (`apikey-new`, `-verify`, `-revoke`) and what both
//! key families share: the key's JSON shape, its claims digest, the
//! permission check and the verification rules.
//!
//! A key is the JSON authnzerver hands out (`iss, ver, uid, rol, aud, sub,
//! ipa, tkn, iat, nbf, exp`, plus `usa` for session-bound keys). Only the
//! SHA-256 of `tkn` and a SHA-256 of the other claims are stored, so a key
//! whose JSON was edited in any field is refused.

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;

use chrono::NaiveDateTime;
use entity::apikeys;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::access::{Verdict, decide};
use super::session::{cached_user, live_session, live_session_by_digest};
use super::{Ctx, Done, No, Refusal, Refused, Said, audit};
use crate::app::App;
use crate::event::{Event, Family};
use crate::policy::AccessQuery;
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;
use crate::timefmt;

/// The claims of a session-bound key, in digest order.
const SESSION_CLAIMS: &[&str] = &[
    "iss", "ver", "uid", "rol", "usa", "aud", "sub", "ipa", "iat", "nbf", "exp",
];
/// The claims of a session-less key, in digest order.
pub(super) const FREE_CLAIMS: &[&str] = &[
    "iss", "ver", "uid", "rol", "aud", "sub", "ipa", "iat", "nbf", "exp",
];

const YEAR_SECONDS: f64 = 366.0 * 86_400.0;

pub(super) const NOT_VERIFIED: Refusal = Refusal::ApikeyNotVerified;
pub(super) const NOT_ALLOWED: Refusal = Refusal::ApikeyNotPermitted;

/// SHA-256 hex over the named claims (missing ones count as null).
pub(super) fn claims_digest(dict: &Map<String, Value>, names: &[&str]) -> String {
    let values: Vec<Value> = names
        .iter()
        .map(|n| dict.get(*n).cloned().unwrap_or(Value::Null))
        .collect();
    tokens::digest(&Value::Array(values).to_string())
}

/// Whether the stored claims digest is the presented one's. A key imported
/// from authnzerver has none (authnzerver recorded only the token, owner,
/// role and times) and is checked on those alone, as authnzerver did.
pub(super) fn claims_match(stored: &str, presented: &str) -> bool {
    // Trimmed: the column was a blank-padded CHAR(64) before it became a
    // VARCHAR.
    stored.trim() == store::apikeys::UNRECORDED_CLAIMS
        || bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

/// What a presented key claims about itself.
pub(super) struct Presented {
    pub token_hash: String,
    pub uid: i64,
    pub rol: String,
    pub claims: String,
}

pub(super) fn presented(dict: &Map<String, Value>, names: &[&str]) -> Option<Presented> {
    Some(Presented {
        token_hash: tokens::digest(dict.get("tkn")?.as_str()?),
        uid: dict.get("uid")?.as_i64()?,
        rol: dict.get("rol")?.as_str()?.to_owned(),
        claims: claims_digest(dict, names),
    })
}

/// The stored facts both families verify against.
pub(super) struct Stored<'a> {
    pub user_id: i64,
    pub user_role: &'a str,
    pub claims_sha256: &'a str,
    pub issued: NaiveDateTime,
    pub not_valid_before: NaiveDateTime,
    pub expires: NaiveDateTime,
}

/// The stored key matches what was presented, is inside its validity
/// window, and its owner is still active in the same role.
pub(super) async fn verifies(
    app: &App,
    p: &Presented,
    s: &Stored<'_>,
) -> Result<bool, sea_orm::DbErr> {
    let now = app.now();
    let same =
        s.user_id == p.uid && s.user_role == p.rol && claims_match(s.claims_sha256, &p.claims);
    if !same || s.issued > now || s.not_valid_before > now || s.expires <= now {
        return Ok(false);
    }
    Ok(cached_user(app, s.user_id)
        .await?
        .is_some_and(|u| u.is_active && u.user_role == s.user_role))
}

/// May `user_id` acting as `role` do `action` to an API key owned by
/// `owner`? Asked of the permissions policy, as authnzerver does.
pub(super) async fn allowed(
    app: &App,
    user_id: i64,
    role: &str,
    action: &str,
    owner: i64,
) -> Result<bool, sea_orm::DbErr> {
    let q = AccessQuery {
        user_id,
        role,
        action,
        target_name: "apikey",
        target_owner: owner,
        target_visibility: "private",
        target_sharedwith: &[],
    };
    Ok(decide(app, &q).await? == Verdict::Granted)
}

/// A lifetime in seconds within `[min, max]`, as a duration.
pub(super) fn lifetime(
    name: &str,
    seconds: f64,
    min: f64,
    max: f64,
) -> Result<chrono::Duration, Refused> {
    if !seconds.is_finite() || seconds < min || seconds > max {
        let why = format!("{name} must be between {min} and {max} seconds");
        return Err(No::new(Refusal::invalid(why), "Invalid API key request.")
            .nulls(&["apikey", "expires"])
            .into());
    }
    Ok(chrono::Duration::microseconds((seconds * 1e6) as i64))
}

/// The validity window of a new key.
pub(super) struct Window {
    pub issued: NaiveDateTime,
    pub not_valid_before: NaiveDateTime,
    pub expires: NaiveDateTime,
}

impl Window {
    pub fn new(app: &App, nbf_seconds: f64, expires: chrono::Duration) -> Result<Window, Refused> {
        let nbf = lifetime("not_valid_before", nbf_seconds, 0.0, YEAR_SECONDS)?;
        let issued = app.now();
        Ok(Window {
            issued,
            not_valid_before: issued + nbf,
            expires: issued + expires,
        })
    }
}

/// A new key's token and JSON; `claims` are the caller-chosen ones.
pub(super) struct Minted {
    pub token: String,
    pub json: String,
    pub claims_sha256: String,
}

pub(super) fn mint(
    mut claims: Map<String, Value>,
    w: &Window,
    names: &[&str],
) -> Result<Minted, super::Fault> {
    let token = tokens::new_token()?;
    claims.insert("iat".into(), timefmt::format(w.issued).into());
    claims.insert("nbf".into(), timefmt::format(w.not_valid_before).into());
    claims.insert("exp".into(), timefmt::format(w.expires).into());
    let claims_sha256 = claims_digest(&claims, names);
    claims.insert("tkn".into(), token.clone().into());
    Ok(Minted {
        json: Value::Object(claims).to_string(),
        token,
        claims_sha256,
    })
}

pub async fn new(app: Arc<App>, ctx: Ctx, p: proto::ApikeyNew) -> Done<answers::ApiKey> {
    if !allowed(&app, p.user_id, &p.user_role, "create", p.user_id).await? {
        return Err(No::new(
            Refusal::ApikeyNotAllowed,
            "API key issuance failed. You are not allowed to issue an API key.",
        )
        .nulls(&["apikey", "expires"])
        .into());
    }
    // The key is bound to the caller's own live session, as it stands.
    let session_ok = live_session(&app, p.session_token.expose_secret())
        .await?
        .is_some_and(|s| {
            s.user.user_id == p.user_id
                && s.user.user_role == p.user_role
                && s.session.ip_address() == p.ip_address
                && s.session.user_agent() == p.user_agent
        });
    if !session_ok {
        return Err(No::new(
            Refusal::ApikeyInvalidSession,
            "Invalid session token for API key issuance request.",
        )
        .nulls(&["apikey", "expires"])
        .into());
    }
    let expires = lifetime(
        "expires_days",
        p.expires_days as f64 * 86_400.0,
        86_400.0,
        10.0 * YEAR_SECONDS,
    )?;
    let w = Window::new(&app, p.not_valid_before, expires)?;
    let claims = Map::from_iter([
        ("iss".to_owned(), p.issuer.into()),
        ("ver".to_owned(), p.apiversion),
        ("uid".to_owned(), p.user_id.into()),
        ("rol".to_owned(), p.user_role.clone().into()),
        ("usa".to_owned(), p.user_agent.into()),
        ("aud".to_owned(), p.audience.into()),
        ("sub".to_owned(), p.subject.into()),
        ("ipa".to_owned(), p.ip_address.into()),
    ]);
    let minted = mint(claims, &w, SESSION_CLAIMS)?;
    let owner = p.user_id;
    store::apikeys::insert_session_key(
        &app.db,
        apikeys::Model {
            apikey_hash: tokens::digest(&minted.token),
            issued: w.issued,
            expires: w.expires,
            not_valid_before: w.not_valid_before,
            user_id: owner,
            user_role: p.user_role,
            claims_sha256: minted.claims_sha256,
            session_token_hash: tokens::digest(p.session_token.expose_secret()),
        },
    )
    .await?;
    let event = Event::ApikeyIssue {
        family: Family::Session,
    };
    audit(&app, &ctx, event, Some(owner)).await?;
    let expires = timefmt::format(w.expires);
    let message = format!("API key generated successfully, expires: {expires}.");
    Ok(Said::new(
        answers::ApiKey {
            apikey: minted.json,
            expires,
        },
        message,
    ))
}

pub async fn verify(app: Arc<App>, _ctx: Ctx, p: proto::ApikeyVerify) -> Done<answers::Done> {
    let Some(key) = presented(&p.apikey_dict, SESSION_CLAIMS) else {
        return Err(No::new(NOT_VERIFIED, "API key could not be verified.").into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "view", key.uid).await? {
        return Err(No::new(
            NOT_ALLOWED,
            "API key verification failed. You are not allowed to operate on this API key.",
        )
        .into());
    }
    let Some(row) = store::apikeys::session_key(&app.db, &key.token_hash).await? else {
        return Err(No::new(NOT_VERIFIED, "API key could not be verified.").into());
    };
    let stored = Stored {
        user_id: row.user_id,
        user_role: &row.user_role,
        claims_sha256: &row.claims_sha256,
        issued: row.issued,
        not_valid_before: row.not_valid_before,
        expires: row.expires,
    };
    // A session-bound key lives only as long as its session.
    let ok = verifies(&app, &key, &stored).await?
        && live_session_by_digest(&app, row.session_token_hash.clone())
            .await?
            .is_some();
    if !ok {
        return Err(No::new(NOT_VERIFIED, "API key could not be verified.").into());
    }
    Ok(Said::new(
        answers::Done {},
        format!(
            "API key verified successfully. Expires: {}.",
            timefmt::format(row.expires)
        ),
    ))
}

pub async fn revoke(app: Arc<App>, ctx: Ctx, p: proto::ApikeyRevoke) -> Done<answers::Done> {
    let Some(key) = presented(&p.apikey_dict, SESSION_CLAIMS) else {
        return Err(No::new(Refusal::ApikeyNotFound, "API key revocation processed.").into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Err(No::new(
            NOT_ALLOWED,
            "API key revocation failed. You are not allowed to operate on this API key.",
        )
        .into());
    }
    let deleted = store::apikeys::delete_session_key(&app.db, &key.token_hash, key.uid).await?;
    revoke_answer(&app, &ctx, Family::Session, key.uid, p.user_id, deleted).await
}

/// The answer to a revoke of one key of either family, audited when a key
/// went.
pub(super) async fn revoke_answer(
    app: &App,
    ctx: &Ctx,
    family: Family,
    owner: i64,
    by: i64,
    deleted: bool,
) -> Done<answers::Done> {
    if !deleted {
        return Err(No::new(Refusal::ApikeyNotFound, "API key revocation processed.").into());
    }
    audit(app, ctx, Event::ApikeyRevoke { family, by }, Some(owner)).await?;
    Ok(Said::new(answers::Done {}, "API key revocation processed."))
}
