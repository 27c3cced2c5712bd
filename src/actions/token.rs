//! `token-issue`, `token-refresh`, `token-revoke`: access JWTs for
//! stateless checks and rotating refresh tokens bound to a session.
//!
//! A refresh token's successor is derived from it (a keyed hash under the
//! code key; recognised under every ring key), never stored: only digests
//! are kept, yet the token rotated a moment ago, presented again within the
//! grace period, gets the very same successor. Any other second presentation is theft: the family and its
//! session are revoked.

use std::sync::Arc;

use authnzd_proto::{self as proto, Secret, answers};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use entity::refresh_tokens;

use super::{Ctx, Done, Event, Fault, No, Refusal, Refused, Said, audit, can_sign_in, no};
use crate::actions::session::{live_session, live_session_by_digest};
use crate::app::App;
use crate::cache::CachedSession;
use crate::secret::ExposeSecret;
use crate::security::jwt::AccessClaims;
use crate::security::tokens;
use crate::store;
use crate::store::seed::ANONYMOUS_ID;
use crate::timefmt;

/// A refusal of `token-issue` / `token-refresh`: the pair's fields, null.
fn no_pair<T>(reason: Refusal, message: &str) -> Result<T, Refused> {
    let fields = [
        "access_token",
        "access_expires",
        "refresh_token",
        "refresh_expires",
    ];
    Err(No::new(reason, message).nulls(&fields).into())
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

/// The token that follows `presented` in its family, as each ring key
/// derives it, newest first: a rotation made under an older key (before
/// `authnzd key add`, or on an instance not restarted yet) is still
/// recognised within the grace period.
fn successors_of(app: &App, presented: &str) -> Vec<String> {
    app.keyed_each(&format!("refresh-successor\0{presented}"))
        .iter()
        .filter_map(|mac| hex::decode(mac).ok())
        .map(|mac| URL_SAFE_NO_PAD.encode(mac))
        .collect()
}

/// A new access token for the session's user, paired with `refresh_token`.
fn answer(
    app: &App,
    found: &CachedSession,
    refresh_token: &str,
    refresh_expires: NaiveDateTime,
) -> Result<answers::TokenPair, Fault> {
    let now = app.clock.now();
    let ttl = seconds(app.config.tokens.access_token_ttl);
    let expires = now.checked_add_signed(ttl).unwrap_or(now);
    let claims = AccessClaims {
        iss: app.config.tokens.jwt_issuer.clone(),
        aud: app.config.tokens.jwt_audience.clone(),
        sub: found.user.user_id.to_string(),
        sid: found.session.token_hash(),
        role: found.user.user_role.clone(),
        iat: now.timestamp(),
        exp: expires.timestamp(),
        jti: uuid::Uuid::new_v4().simple().to_string(),
        amr: found
            .session
            .amr()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        auth_time: found.session.auth_time.map(|t| t.and_utc().timestamp()),
        scope: None,
    };
    let access = app
        .access_keys()
        .sign(&claims)
        .map_err(|e| Fault::Internal(e.to_string()))?;
    Ok(answers::TokenPair {
        access_token: Secret::new(access),
        access_expires: timefmt::format(expires.naive_utc()),
        refresh_token: Secret::new(refresh_token),
        refresh_expires: timefmt::format(refresh_expires),
    })
}

pub async fn issue(app: Arc<App>, ctx: Ctx, p: proto::TokenIssue) -> Done<answers::TokenPair> {
    let now = app.now();
    let Some(found) = live_session(&app, p.session_token.expose_secret()).await? else {
        return no_pair(Refusal::SessionExpired, "No live session for this token.");
    };
    if found.user.user_id == ANONYMOUS_ID || !can_sign_in(&found.user, now) {
        return no_pair(
            Refusal::AccountCannotSignIn,
            "Tokens are only issued to signed-in users.",
        );
    }
    let token = tokens::new_token()?;
    let expires = refresh_expiry(&app, now);
    let family = uuid::Uuid::new_v4().simple().to_string();
    store::refresh::insert(
        &app.db,
        refresh_tokens::Model {
            token_hash: tokens::digest(&token),
            family: family.clone(),
            session_hash: found.session.token_hash(),
            user_id: found.user.user_id,
            user_role: found.user.user_role.clone(),
            created: now,
            expires,
            spent: None,
            successor_hash: None,
        },
    )
    .await?;
    let pair = answer(&app, &found, &token, expires)?;
    let event = Event::TokenIssue {
        family: family.clone(),
    };
    audit(&app, &ctx, event, Some(found.user.user_id)).await?;
    Ok(Said::new(pair, "Tokens issued."))
}

pub async fn refresh(app: Arc<App>, ctx: Ctx, p: proto::TokenRefresh) -> Done<answers::TokenPair> {
    match rotate(&app, &ctx, p.refresh_token.expose_secret(), |_| true).await? {
        Refreshed::Done {
            found,
            token,
            expires,
            ..
        } => {
            let pair = answer(&app, &found, &token, expires)?;
            Ok(Said::new(pair, "Tokens refreshed."))
        }
        Refreshed::Refused(reason, message) => no_pair(reason, message),
    }
}

/// What presenting a refresh token came to.
pub(crate) enum Refreshed {
    /// Its successor (rotated now, or the same one again within the grace
    /// period), with the session it belongs to.
    Done {
        found: CachedSession,
        token: String,
        expires: NaiveDateTime,
        family: String,
    },
    Refused(Refusal, &'static str),
}

/// Rotates `presented` (`token-refresh` and OpenID Connect's refresh). The
/// session, its user and `allowed` decide first: a family outlives none of
/// them. A spent token presented again outside the grace period is theft:
/// the family and its session are revoked.
pub(crate) async fn rotate(
    app: &App,
    ctx: &Ctx,
    presented: &str,
    allowed: impl Fn(&CachedSession) -> bool,
) -> Result<Refreshed, Fault> {
    let refused = |reason, message| Ok(Refreshed::Refused(reason, message));
    let hash = tokens::digest(presented);
    let now = app.now();
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return refused(Refusal::RefreshTokenUnknown, "Unknown refresh token.");
    };
    let found = live_session_by_digest(app, row.session_hash.clone()).await?;
    let Some(found) = found.filter(|f| can_sign_in(&f.user, now) && allowed(f)) else {
        store::refresh::delete_family(&app.db, &row.family).await?;
        return refused(
            Refusal::RefreshSessionEnded,
            "The session has ended: sign in again.",
        );
    };
    if found.user.user_role != row.user_role {
        store::refresh::delete_family(&app.db, &row.family).await?;
        return refused(
            Refusal::RefreshRoleChanged,
            "Your role changed: sign in again.",
        );
    }
    let successors = successors_of(app, presented);
    let Some(successor) = successors.first() else {
        return Err(Fault::Internal("successor token".into()));
    };
    let successor_hash = tokens::digest(successor);
    let expires = refresh_expiry(app, now);
    if row.spent.is_none() {
        if row.expires <= now {
            return refused(
                Refusal::RefreshTokenExpired,
                "The refresh token has expired: sign in again.",
            );
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
            let event = Event::TokenRefresh {
                family: row.family.clone(),
            };
            audit(app, ctx, event, Some(row.user_id)).await?;
            return Ok(Refreshed::Done {
                found,
                token: successor.clone(),
                expires,
                family: row.family,
            });
        }
    }
    // Spent (perhaps a moment ago by a concurrent refresh): read it again.
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return refused(Refusal::RefreshTokenUnknown, "Unknown refresh token.");
    };
    let Some(spent) = row.spent else {
        return refused(
            Refusal::RefreshTokenExpired,
            "The refresh token has expired: sign in again.",
        );
    };
    let grace = seconds(app.config.tokens.refresh_reuse_grace);
    let in_grace = spent
        .checked_add_signed(grace)
        .is_some_and(|end| now <= end)
        && !grace.is_zero();
    let rotated_to = successors
        .iter()
        .map(|s| (s, tokens::digest(s)))
        .find(|(_, hash)| row.successor_hash.as_deref() == Some(hash.as_str()));
    if in_grace && let Some((successor, successor_hash)) = rotated_to {
        let next = store::refresh::find(&app.db, &successor_hash).await?;
        if let Some(next) = next.filter(|n| n.spent.is_none()) {
            return Ok(Refreshed::Done {
                found,
                token: successor.clone(),
                expires: next.expires,
                family: row.family,
            });
        }
    }
    store::refresh::revoke_family_and_session(app.writes(), &row.family, &row.session_hash).await?;
    tracing::warn!(reqid = %ctx.reqid, "spent refresh token presented again; family and session revoked");
    let event = Event::TokenReuseDetected {
        family: row.family.clone(),
    };
    audit(app, ctx, event, Some(row.user_id)).await?;
    refused(
        Refusal::RefreshTokenReused,
        "This refresh token was already used: the session is signed out.",
    )
}

pub async fn revoke(app: Arc<App>, ctx: Ctx, p: proto::TokenRevoke) -> Done<answers::Done> {
    let hash = tokens::digest(p.refresh_token.expose_secret());
    let Some(row) = store::refresh::find(&app.db, &hash).await? else {
        return no(Refusal::RefreshTokenUnknown, "Unknown refresh token.");
    };
    let revoked = store::refresh::delete_family(&app.db, &row.family).await?;
    let event = Event::TokenRevoke {
        family: row.family.clone(),
        tokens: revoked,
    };
    audit(&app, &ctx, event, Some(row.user_id)).await?;
    Ok(Said::new(answers::Done {}, "Refresh tokens revoked."))
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
        &app.keys.seals,
        app.now(),
        app.publish_retired_keys_for(),
    )
    .await
    .map_err(|e| Fault::Internal(e.to_string()))?;
    *app.keys.access.write() = Arc::new(keys);
    *app.keys.access_loaded.lock() = std::time::Instant::now();
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
        if crate::security::jwt::rotate(&app.db, &app.keys.seals, now, replace)
            .await
            .map_err(|e| Fault::Internal(e.to_string()))?
        {
            tracing::info!("access-token signing key rotated");
        }
    }
    reload_keys(app).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rpc::Outcome;
    use serde_json::json;

    #[test]
    fn refusals_keep_the_pair_as_nulls() {
        let Err(refused) = no_pair::<()>(Refusal::RefreshTokenReused, "m") else {
            unreachable!()
        };
        let pair = json!({
            "access_token": null, "access_expires": null,
            "refresh_token": null, "refresh_expires": null,
        });
        assert_eq!(
            Outcome::of::<()>(Err(refused)).unwrap(),
            Outcome::fail(Refusal::RefreshTokenReused, "m", pair)
        );
    }
}
