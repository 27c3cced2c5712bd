//! Session-less API keys with refresh tokens: `apikey-new-nosession`,
//! `-verify-nosession`, `-revoke-nosession`, `-revokeall-nosession`,
//! `-refresh-nosession`. The refresh token is stored as a SHA-256 digest
//! (authnzerver: argon2, which cost a hash per refresh for a 256-bit secret)
//! and is spent by the refresh that uses it.

use authnzd_proto as proto;
use std::sync::Arc;

use entity::apikeys_nosession;
use serde_json::{Map, Value, json};
use subtle::ConstantTimeEq;

use super::apikey::{
    FREE_CLAIMS, NOT_ALLOWED, NOT_VERIFIED, Presented, Stored, Window, allowed, lifetime, mint,
    presented, revoke_answer, verifies,
};
use super::{ActionResult, Ctx, Fault, Outcome, Refusal, audit};
use crate::app::App;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;
use crate::timefmt;

/// This module's requests, for the dispatcher's table.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        typed(new),
        typed(verify),
        typed(revoke),
        typed(revoke_all),
        typed(refresh),
    ]
}

const TEN_YEARS: f64 = 10.0 * 366.0 * 86_400.0;

/// Lifetimes of a new key and its refresh token, all in seconds from now.
struct Lifetimes {
    expires_seconds: i64,
    not_valid_before: f64,
    refresh_expires: i64,
    refresh_nbf: f64,
}

/// Issues a key for `owner` with these claims; the answer authnzerver gives.
async fn issue(
    app: &App,
    ctx: &Ctx,
    claims: Map<String, Value>,
    owner: (i64, String),
    life: Lifetimes,
    replacing: Option<(&str, &str)>,
) -> ActionResult {
    let expires = match lifetime(
        "expires_seconds",
        life.expires_seconds as f64,
        1.0,
        TEN_YEARS,
    ) {
        Ok(d) => d,
        Err(outcome) => return Ok(outcome),
    };
    let refresh_life = match lifetime(
        "refresh_expires",
        life.refresh_expires as f64,
        1.0,
        TEN_YEARS,
    ) {
        Ok(d) => d,
        Err(outcome) => return Ok(outcome),
    };
    let refresh_nbf = match lifetime("refresh_nbf", life.refresh_nbf, 0.0, TEN_YEARS) {
        Ok(d) => d,
        Err(outcome) => return Ok(outcome),
    };
    let w = match Window::new(app, life.not_valid_before, expires) {
        Ok(w) => w,
        Err(outcome) => return Ok(outcome),
    };
    let minted = mint(claims, &w, FREE_CLAIMS)?;
    let refresh_token = tokens::new_token()?;
    let refresh_expires = w.issued + refresh_life;
    let owner_id = owner.0;
    let row = apikeys_nosession::Model {
        apikey_hash: tokens::digest(&minted.token),
        issued: w.issued,
        expires: w.expires,
        not_valid_before: w.not_valid_before,
        refresh_token_hash: tokens::digest(&refresh_token),
        refresh_issued: w.issued,
        refresh_expires,
        refresh_nbf: w.issued + refresh_nbf,
        user_id: owner.0,
        user_role: owner.1,
        claims_sha256: minted.claims_sha256,
    };
    match replacing {
        None => store::apikeys::insert_free_key(&app.db, row).await?,
        Some((old_hash, refresh_hash)) => {
            if !store::apikeys::rotate_free_key(&app.db, old_hash, refresh_hash, row).await? {
                return Ok(refresh_refused(Refusal::ApikeyNoRefreshToken));
            }
        }
    }
    let event = if replacing.is_some() {
        "apikey-refresh"
    } else {
        "apikey-issue"
    };
    audit(
        app,
        ctx,
        event,
        Some(owner_id),
        json!({"family": "nosession"}),
    )
    .await?;
    let expires = timefmt::format(w.expires);
    Ok(Outcome::ok(
        json!({
            "apikey": minted.json,
            "expires": expires,
            "refresh_token": refresh_token,
            "refresh_token_expires": timefmt::format(refresh_expires),
        }),
        format!("API key generated successfully, expires: {expires}."),
    ))
}

pub async fn new(app: Arc<App>, ctx: Ctx, p: proto::ApikeyNewNosession) -> ActionResult {
    if !allowed(&app, p.user_id, &p.user_role, "create", p.user_id).await? {
        return Ok(Outcome::fail(
            Refusal::ApikeyIssueNotAllowed,
            "API key issuance failed. You are not allowed to issue an API key.",
            json!({"apikey": null, "expires": null}),
        ));
    }
    let claims = Map::from_iter([
        ("iss".to_owned(), p.issuer.into()),
        ("ver".to_owned(), p.apiversion),
        ("uid".to_owned(), p.user_id.into()),
        ("rol".to_owned(), p.user_role.clone().into()),
        ("aud".to_owned(), p.audience.into()),
        ("sub".to_owned(), p.subject.into()),
        ("ipa".to_owned(), p.ip_address.into()),
    ]);
    let life = Lifetimes {
        expires_seconds: p.expires_seconds,
        not_valid_before: p.not_valid_before,
        refresh_expires: p.refresh_expires,
        refresh_nbf: p.refresh_nbf,
    };
    issue(&app, &ctx, claims, (p.user_id, p.user_role), life, None).await
}

/// Verifies a presented session-less key against its row.
async fn check(app: &App, key: &Presented) -> Result<Option<apikeys_nosession::Model>, Fault> {
    let Some(row) = store::apikeys::free_key(&app.db, &key.token_hash).await? else {
        return Ok(None);
    };
    let stored = Stored {
        user_id: row.user_id,
        user_role: &row.user_role,
        claims_sha256: &row.claims_sha256,
        issued: row.issued,
        not_valid_before: row.not_valid_before,
        expires: row.expires,
    };
    Ok(verifies(app, key, &stored).await?.then_some(row))
}

fn not_verified() -> Outcome {
    Outcome::fail(NOT_VERIFIED, "API key could not be verified.", json!({}))
}

pub async fn verify(app: Arc<App>, _ctx: Ctx, p: proto::ApikeyVerifyNosession) -> ActionResult {
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Ok(not_verified());
    };
    if !allowed(&app, p.user_id, &p.user_role, "view", key.uid).await? {
        return Ok(Outcome::fail(
            NOT_ALLOWED,
            "API key verification failed. You are not allowed to operate on this API key.",
            json!({}),
        ));
    }
    match check(&app, &key).await? {
        Some(row) => Ok(Outcome::ok(
            json!({}),
            format!(
                "No-session API key verified successfully. Expires: {}.",
                timefmt::format(row.expires)
            ),
        )),
        None => Ok(not_verified()),
    }
}

fn revoke_refused() -> Outcome {
    Outcome::fail(
        NOT_ALLOWED,
        "API key revocation failed. You are not allowed to operate on this API key.",
        json!({}),
    )
}

pub async fn revoke(app: Arc<App>, ctx: Ctx, p: proto::ApikeyRevokeNosession) -> ActionResult {
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Ok(Outcome::fail(
            Refusal::ApikeyNotFound,
            "API key revocation processed.",
            json!({}),
        ));
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Ok(revoke_refused());
    }
    let deleted = store::apikeys::delete_free_key(&app.db, &key.token_hash, key.uid).await?;
    revoke_answer(&app, &ctx, "nosession", key.uid, p.user_id, deleted).await
}

/// Revokes every session-less key of the presented key's owner; needs a
/// valid key to start with.
pub async fn revoke_all(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::ApikeyRevokeallNosession,
) -> ActionResult {
    let invalid = || {
        Outcome::fail(
            Refusal::ApikeyRevokeAllNeedsValidKey,
            "All API keys revocation failed. The API key presented is invalid.",
            json!({}),
        )
    };
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Ok(invalid());
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Ok(Outcome::fail(
            Refusal::ApikeyDeleteNotAllowed,
            "All API keys revocation failed. You are not allowed to delete API keys.",
            json!({}),
        ));
    }
    if check(&app, &key).await?.is_none() {
        return Ok(invalid());
    }
    let revoked = store::apikeys::delete_free_keys_of(&app.db, key.uid).await?;
    audit(
        &app,
        &ctx,
        "apikey-revoke-all",
        Some(key.uid),
        json!({"revoked": revoked, "by": p.user_id}),
    )
    .await?;
    Ok(Outcome::ok(
        json!({"revoked_keys": revoked}),
        "All API keys revocation processed.",
    ))
}

fn refresh_refused(reason: Refusal) -> Outcome {
    Outcome::fail(
        reason,
        "API key refresh failed. The API key presented does not have a valid refresh token. \
         You may need to login again to generate a new API key.",
        json!({}),
    )
}

/// Whether `offered` is the refresh token stored as `stored`: its SHA-256
/// digest, or for a key imported from authnzerver its argon2 hash.
async fn refresh_token_matches(
    app: &App,
    stored: &str,
    offered: &str,
) -> Result<bool, crate::security::password::HashError> {
    if stored.starts_with("$argon2") {
        return app
            .hasher
            .verify(offered.to_owned(), stored.to_owned())
            .await;
    }
    let offered = tokens::digest(offered);
    Ok(bool::from(stored.as_bytes().ct_eq(offered.as_bytes())))
}

/// Swaps a key and its refresh token for new ones. The old key may have
/// expired; its refresh token must be within its own window, and is spent.
/// The new key keeps the old key's owner and claims, with the caller's IP.
pub async fn refresh(app: Arc<App>, ctx: Ctx, p: proto::ApikeyRefreshNosession) -> ActionResult {
    let no_token = || Refusal::ApikeyNoRefreshToken;
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Ok(refresh_refused(no_token()));
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Ok(refresh_refused(Refusal::ApikeyRevokeOldNotAllowed));
    }
    let Some(row) = store::apikeys::free_key(&app.db, &key.token_hash).await? else {
        return Ok(refresh_refused(no_token()));
    };
    let now = app.now();
    let same_key = row.user_id == key.uid
        && row.user_role == key.rol
        && super::apikey::claims_match(&row.claims_sha256, &key.claims);
    let in_window =
        row.refresh_issued <= now && row.refresh_nbf <= now && now < row.refresh_expires;
    if !same_key || !in_window {
        return Ok(refresh_refused(no_token()));
    }
    if !refresh_token_matches(
        &app,
        &row.refresh_token_hash,
        p.refresh_token.expose_secret(),
    )
    .await?
    {
        return Ok(refresh_refused(Refusal::RefreshTokenMismatch));
    }
    if !allowed(&app, row.user_id, &row.user_role, "create", row.user_id).await? {
        return Ok(refresh_refused(Refusal::ApikeyReissueNotAllowed));
    }
    let mut claims = Map::new();
    for name in ["iss", "ver", "uid", "rol", "aud", "sub"] {
        claims.insert(
            name.to_owned(),
            p.apikey_dict.get(name).cloned().unwrap_or(Value::Null),
        );
    }
    claims.insert("ipa".to_owned(), p.ip_address.into());
    let life = Lifetimes {
        expires_seconds: p.expires_seconds,
        not_valid_before: p.not_valid_before,
        refresh_expires: p.refresh_expires,
        refresh_nbf: p.refresh_nbf,
    };
    issue(
        &app,
        &ctx,
        claims,
        (row.user_id, row.user_role.clone()),
        life,
        Some((&row.apikey_hash, &row.refresh_token_hash)),
    )
    .await
}
