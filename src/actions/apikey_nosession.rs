//! Session-less API keys with refresh tokens: `apikey-new-nosession`,
//! `-verify-nosession`, `-revoke-nosession`, `-revokeall-nosession`,
//! `-refresh-nosession`. The refresh token is stored as a SHA-256 digest
//! (authnzerver: argon2, which cost a hash per refresh for a 256-bit secret)
//! and is spent by the refresh that uses it.

use authnzd_proto::{self as proto, answers};
use std::sync::Arc;

use entity::apikeys_nosession;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;

use super::apikey::{
    FREE_CLAIMS, NOT_ALLOWED, NOT_VERIFIED, Presented, Stored, Window, allowed, lifetime, mint,
    presented, revoke_answer, verifies,
};
use super::{Ctx, Done, Fault, No, Refusal, Said, audit};
use crate::app::App;
use crate::event::{Event, Family};
use crate::secret::ExposeSecret;
use crate::security::tokens;
use crate::store;
use crate::timefmt;

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
) -> Done<answers::ApiKeyWithRefresh> {
    let expires = lifetime(
        "expires_seconds",
        life.expires_seconds as f64,
        1.0,
        TEN_YEARS,
    )?;
    let refresh_life = lifetime(
        "refresh_expires",
        life.refresh_expires as f64,
        1.0,
        TEN_YEARS,
    )?;
    let refresh_nbf = lifetime("refresh_nbf", life.refresh_nbf, 0.0, TEN_YEARS)?;
    let w = Window::new(app, life.not_valid_before, expires)?;
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
                return Err(refresh_refused(Refusal::ApikeyNoRefreshToken).into());
            }
        }
    }
    let family = Family::Nosession;
    let event = if replacing.is_some() {
        Event::ApikeyRefresh { family }
    } else {
        Event::ApikeyIssue { family }
    };
    audit(app, ctx, event, Some(owner_id)).await?;
    let expires = timefmt::format(w.expires);
    let message = format!("API key generated successfully, expires: {expires}.");
    Ok(Said::new(
        answers::ApiKeyWithRefresh {
            apikey: minted.json,
            expires,
            refresh_token,
            refresh_token_expires: timefmt::format(refresh_expires),
        },
        message,
    ))
}

pub async fn new(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::ApikeyNewNosession,
) -> Done<answers::ApiKeyWithRefresh> {
    if !allowed(&app, p.user_id, &p.user_role, "create", p.user_id).await? {
        return Err(No::new(
            Refusal::ApikeyIssueNotAllowed,
            "API key issuance failed. You are not allowed to issue an API key.",
        )
        .nulls(&["apikey", "expires"])
        .into());
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

fn not_verified() -> No {
    No::new(NOT_VERIFIED, "API key could not be verified.")
}

pub async fn verify(
    app: Arc<App>,
    _ctx: Ctx,
    p: proto::ApikeyVerifyNosession,
) -> Done<answers::Done> {
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Err(not_verified().into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "view", key.uid).await? {
        return Err(No::new(
            NOT_ALLOWED,
            "API key verification failed. You are not allowed to operate on this API key.",
        )
        .into());
    }
    match check(&app, &key).await? {
        Some(row) => Ok(Said::new(
            answers::Done {},
            format!(
                "No-session API key verified successfully. Expires: {}.",
                timefmt::format(row.expires)
            ),
        )),
        None => Err(not_verified().into()),
    }
}

fn revoke_refused() -> No {
    No::new(
        NOT_ALLOWED,
        "API key revocation failed. You are not allowed to operate on this API key.",
    )
}

pub async fn revoke(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::ApikeyRevokeNosession,
) -> Done<answers::Done> {
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Err(No::new(Refusal::ApikeyNotFound, "API key revocation processed.").into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Err(revoke_refused().into());
    }
    let deleted = store::apikeys::delete_free_key(&app.db, &key.token_hash, key.uid).await?;
    revoke_answer(&app, &ctx, Family::Nosession, key.uid, p.user_id, deleted).await
}

/// Revokes every session-less key of the presented key's owner; needs a
/// valid key to start with.
pub async fn revoke_all(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::ApikeyRevokeallNosession,
) -> Done<answers::Revoked> {
    let invalid = || {
        No::new(
            Refusal::ApikeyRevokeAllNeedsValidKey,
            "All API keys revocation failed. The API key presented is invalid.",
        )
    };
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Err(invalid().into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Err(No::new(
            Refusal::ApikeyDeleteNotAllowed,
            "All API keys revocation failed. You are not allowed to delete API keys.",
        )
        .into());
    }
    if check(&app, &key).await?.is_none() {
        return Err(invalid().into());
    }
    let revoked = store::apikeys::delete_free_keys_of(&app.db, key.uid).await?;
    let event = Event::ApikeyRevokeAll {
        revoked,
        by: p.user_id,
    };
    audit(&app, &ctx, event, Some(key.uid)).await?;
    Ok(Said::new(
        answers::Revoked {
            revoked_keys: revoked,
        },
        "All API keys revocation processed.",
    ))
}

fn refresh_refused(reason: Refusal) -> No {
    No::new(
        reason,
        "API key refresh failed. The API key presented does not have a valid refresh token. \
         You may need to login again to generate a new API key.",
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
            .credentials
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
pub async fn refresh(
    app: Arc<App>,
    ctx: Ctx,
    p: proto::ApikeyRefreshNosession,
) -> Done<answers::ApiKeyWithRefresh> {
    let no_token = || Refusal::ApikeyNoRefreshToken;
    let Some(key) = presented(&p.apikey_dict, FREE_CLAIMS) else {
        return Err(refresh_refused(no_token()).into());
    };
    if !allowed(&app, p.user_id, &p.user_role, "delete", key.uid).await? {
        return Err(refresh_refused(Refusal::ApikeyRevokeOldNotAllowed).into());
    }
    let Some(row) = store::apikeys::free_key(&app.db, &key.token_hash).await? else {
        return Err(refresh_refused(no_token()).into());
    };
    let now = app.now();
    let same_key = row.user_id == key.uid
        && row.user_role == key.rol
        && super::apikey::claims_match(&row.claims_sha256, &key.claims);
    let in_window =
        row.refresh_issued <= now && row.refresh_nbf <= now && now < row.refresh_expires;
    if !same_key || !in_window {
        return Err(refresh_refused(no_token()).into());
    }
    if !refresh_token_matches(
        &app,
        &row.refresh_token_hash,
        p.refresh_token.expose_secret(),
    )
    .await?
    {
        return Err(refresh_refused(Refusal::RefreshTokenMismatch).into());
    }
    if !allowed(&app, row.user_id, &row.user_role, "create", row.user_id).await? {
        return Err(refresh_refused(Refusal::ApikeyReissueNotAllowed).into());
    }
    let mut claims = Map::new();
    if row.claims_sha256.trim() == store::apikeys::UNRECORDED_CLAIMS {
        // Imported: the presented claims were never checked, so none is
        // carried over; the owner comes from the row, the rest from here.
        let (Some(iss), Some(aud), Some(sub), Some(ver)) =
            (p.issuer, p.audience, p.subject, p.apiversion)
        else {
            return Err(refresh_refused(Refusal::invalid(
                "an imported key's first refresh needs issuer, audience, subject and apiversion",
            ))
            .into());
        };
        claims.insert("iss".to_owned(), iss.into());
        claims.insert("ver".to_owned(), ver);
        claims.insert("uid".to_owned(), row.user_id.into());
        claims.insert("rol".to_owned(), row.user_role.clone().into());
        claims.insert("aud".to_owned(), aud.into());
        claims.insert("sub".to_owned(), sub.into());
    } else {
        // The digest matched: these are the key's own claims.
        for name in ["iss", "ver", "uid", "rol", "aud", "sub"] {
            claims.insert(
                name.to_owned(),
                p.apikey_dict.get(name).cloned().unwrap_or(Value::Null),
            );
        }
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
