//! `token-issue`, `token-refresh`, `token-revoke`: access JWTs for
//! stateless checks and rotating refresh tokens bound to a session.
//!
//! A refresh token's successor is derived from it (a keyed hash under the
//! code key), never stored: only digests are kept, yet the token rotated a
//! moment ago, presented again within the grace period, gets the very same
//! successor. Any other second presentation is theft: the family and its
//! session are revoked.

use std::sync::Arc;

use authnzd_proto as proto;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use entity::refresh_tokens;
use serde_json::json;

use super::{ActionResult, Ctx, Fault, Outcome, Refusal, audit, can_sign_in};
use crate::actions::session::{live_session, live_session_by_digest};
use crate::app::App;
use crate::cache::CachedSession;
use crate::dispatch::{Route, typed};
use crate::secret::ExposeSecret;
use crate::security::jwt::AccessClaims;
use crate::security::tokens;
use crate::store;
use crate::store::seed::ANONYMOUS_ID;
use crate::timefmt;

pub(crate) fn routes() -> Vec<Route> {
    vec![typed(issue), typed(refresh), typed(revoke)]
}

fn empty_pair() -> serde_json::Value {
    json!({
        "access_token": null, "access_expires": null,
        "refresh_token": null, "refresh_expires": null,
    })
}

fn refused(reason: Refusal, message: &str) -> Outcome {
    Outcome::fail(reason, message, empty_pair())
}

fn seconds(n: u64) -> chrono::Duration {
    chrono::Duration::try_seconds(i64::try_from(n).unwrap_or(i64::MAX))
        .unwrap_or(chrono::Duration::MAX)
}

fn refresh_expiry(app: &App, now: NaiveDateTime) -> NaiveDateTime {
    let days = chrono::Duration::try_days(
        i64::try_from(app.config.tokens.refresh_token_ttl_days).unwrap_or(0),
    )
    .unwrap_or(chrono::Duration::MAX);
    now.checked_add_signed(days).unwrap_or(NaiveDateTime::MAX)
}

/// The token that follows `presented` in its family.
fn successor_of(app: &App, presented: &str) -> Option<String> {
    let mac = hex::decode(app.keyed(&format!("refresh-successor\0{presented}"))).ok()?;
    Some(URL_SAFE_NO_PAD.encode(mac))
}

/// A new access token for the session's user and the answer's fields.
fn answer(
    app: &App,
    found: &CachedSession,
    refresh_token: &str,
    refresh_expires: NaiveDateTime,
) -> Result<serde_json::Value, Fault> {
    let now = app.clock.now();
    let ttl = seconds(app.config.tokens.access_token_ttl);
    let expires = now.checked_add_signed(ttl).unwrap_or(now);
    let claims = AccessClaims {
        iss: app.config.tokens.jwt_issuer.clone(),
        aud: app.config.tokens.jwt_audience.clone(),
        sub: found.user.user_id.to_string(),
        sid: found.session.token_hash.clone(),
        role: found.user.user_role.clone(),
        iat: now.timestamp(),
        exp: expires.timestamp(),
        jti: uuid::Uuid::new_v4().simple().to_string(),
    };
    let access = app
        .access_keys()
        .sign(&claims)
        .map_err(|e| Fault::Internal(e.to_string()))?;
    Ok(json!({
        "access_token": access,
        "access_expires": timefmt::format(expires.naive_utc()),
        "refresh_token": refresh_token,
        "refresh_expires": timefmt::format(refresh_expires),
    }))
}

pub async fn issue(app: Arc<App>, ctx: Ctx, p: proto::TokenIssue) -> ActionResult {
    let now = app.now();
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return Ok(refused(
            Refusal::SessionExpired,
            "No live session for this token.",
        ));
    };
    if found.user.user_id == ANONYMOUS_ID || !can_sign_in(&found.user, now) {
        return Ok(refused(
            Refusal::AccountCannotSignIn,
            "Tokens are only issued to signed-in users.",
        ));
    }
    let token = tokens::new_token()?;
    let expires = refresh_expiry(&app, now);
    let family = uuid::Uuid::new_v4().simple().to_string();
    store::refresh::insert(
        &app.db,
        refresh_tokens::Model {
            token_hash: tokens::digest(&token),
            family: family.clone(),
            session_hash: found.session.token_hash.clone(),
            user_id: found.user.user_id,
            user_role: found.user.user_role.clone(),
            created: now,
            expires,
            spent: None,
            successor_hash: None,
        },
    )
    .await?;
    let fields = answer(&app, &found, &token, expires)?;
    audit(
        &app,
        &ctx,
        "token-issue",
        Some(found.user.user_id),
        json!({"family": family}),
    )
    .await?;
    Ok(Outcome::ok(fields, "Tokens issued."))
}

pub async fn refresh(app: Arc<App>, ctx: Ctx, p: proto::TokenRefresh) -> ActionResult {
    let presented = p.refresh_token.expose_secret();
    let hash = tokens::digest(presented);
    let now = app.now();
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return Ok(refused(
            Refusal::RefreshTokenUnknown,
            "Unknown refresh token.",
        ));
    };
    // The session and its user decide first: a family outlives neither.
    let found = live_session_by_digest(&app, row.session_hash.clone()).await?;
    let Some(found) = found.filter(|f| can_sign_in(&f.user, now)) else {
        store::refresh::delete_family(&app.db, &row.family).await?;
        return Ok(refused(
            Refusal::RefreshSessionEnded,
            "The session has ended: sign in again.",
        ));
    };
    if found.user.user_role != row.user_role {
        store::refresh::delete_family(&app.db, &row.family).await?;
        return Ok(refused(
            Refusal::RefreshRoleChanged,
            "Your role changed: sign in again.",
        ));
    }
    let Some(successor) = successor_of(&app, presented) else {
        return Err(Fault::Internal("successor token".into()));
    };
    let successor_hash = tokens::digest(&successor);
    let expires = refresh_expiry(&app, now);
    if row.spent.is_none() {
        if row.expires <= now {
            return Ok(refused(
                Refusal::RefreshTokenExpired,
                "The refresh token has expired: sign in again.",
            ));
        }
        let next = refresh_tokens::Model {
            token_hash: successor_hash.clone(),
            created: now,
            expires,
            spent: None,
            successor_hash: None,
            ..row.clone()
        };
        if store::refresh::rotate(&app.db, &hash, next, now).await? {
            let fields = answer(&app, &found, &successor, expires)?;
            audit(
                &app,
                &ctx,
                "token-refresh",
                Some(row.user_id),
                json!({"family": row.family}),
            )
            .await?;
            return Ok(Outcome::ok(fields, "Tokens refreshed."));
        }
    }
    // Spent (perhaps a moment ago by a concurrent refresh): read it again.
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return Ok(refused(
            Refusal::RefreshTokenUnknown,
            "Unknown refresh token.",
        ));
    };
    let Some(spent) = row.spent else {
        return Ok(refused(
            Refusal::RefreshTokenExpired,
            "The refresh token has expired: sign in again.",
        ));
    };
    let grace = seconds(app.config.tokens.refresh_reuse_grace);
    let in_grace = spent
        .checked_add_signed(grace)
        .is_some_and(|end| now <= end)
        && !grace.is_zero();
    if in_grace && row.successor_hash.as_deref() == Some(successor_hash.as_str()) {
        let next = store::refresh::find(&app.db, &successor_hash).await?;
        if let Some(next) = next.filter(|n| n.spent.is_none()) {
            let fields = answer(&app, &found, &successor, next.expires)?;
            return Ok(Outcome::ok(fields, "Tokens refreshed."));
        }
    }
    store::refresh::revoke_family_and_session(&app.db, &row.family, &row.session_hash).await?;
    app.sessions.invalidate_session(&row.session_hash).await;
    tracing::warn!(reqid = %ctx.reqid, "spent refresh token presented again; family and session revoked");
    audit(
        &app,
        &ctx,
        "token-reuse-detected",
        Some(row.user_id),
        json!({"family": row.family}),
    )
    .await?;
    Ok(refused(
        Refusal::RefreshTokenReused,
        "This refresh token was already used: the session is signed out.",
    ))
}

pub async fn revoke(app: Arc<App>, ctx: Ctx, p: proto::TokenRevoke) -> ActionResult {
    let hash = tokens::digest(p.refresh_token.expose_secret());
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return Ok(Outcome::fail(
            Refusal::RefreshTokenUnknown,
            "Unknown refresh token.",
            json!({}),
        ));
    };
    let revoked = store::refresh::delete_family(&app.db, &row.family).await?;
    audit(
        &app,
        &ctx,
        "token-revoke",
        Some(row.user_id),
        json!({"family": row.family, "tokens": revoked}),
    )
    .await?;
    Ok(Outcome::ok(json!({}), "Refresh tokens revoked."))
}

/// Deletes refresh tokens past their expiry and access-token keys no token
/// can need any more; rotates the signing key when it is due. Hourly.
pub async fn housekeeping(app: &App) -> Result<(), Fault> {
    let now = app.now();
    store::refresh::delete_expired_before(&app.db, now).await?;
    if let Some(cutoff) = now.checked_sub_signed(app.publish_retired_keys_for()) {
        store::signing_keys::delete_retired_before(
            &app.db,
            crate::security::jwt::ACCESS_KEY,
            cutoff,
        )
        .await?;
    }
    Ok(())
}

/// Loads the access-token keys again (another server may have rotated).
pub async fn reload_keys(app: &App) -> Result<(), Fault> {
    let keys = crate::security::jwt::load(
        &app.db,
        &app.seals,
        app.now(),
        app.publish_retired_keys_for(),
    )
    .await
    .map_err(|e| Fault::Internal(e.to_string()))?;
    *app.access_keys.write() = Arc::new(keys);
    *app.access_keys_loaded.lock() = std::time::Instant::now();
    Ok(())
}

/// Replaces the signing key once it is `jwt_key_rotation_days` old (of
/// several servers one does it: the retirement is conditional), then
/// reloads. Every minute.
pub async fn rotate_keys_when_due(app: &App) -> Result<(), Fault> {
    let days = app.config.tokens.jwt_key_rotation_days;
    let now = app.now();
    let (id, created) = app.access_keys().in_use;
    let age = chrono::Duration::try_days(i64::try_from(days).unwrap_or(0))
        .unwrap_or(chrono::Duration::MAX);
    if let Some(cutoff) = now
        .checked_sub_signed(age)
        .filter(|c| days > 0 && created < *c)
    {
        let replace = crate::store::signing_keys::Replace::IfOlder { id, cutoff };
        if crate::security::jwt::rotate(&app.db, &app.seals, now, replace)
            .await
            .map_err(|e| Fault::Internal(e.to_string()))?
        {
            tracing::info!("access-token signing key rotated");
        }
    }
    reload_keys(app).await
}
