//! `token`: an authorization code redeemed for an id token and an access
//! token (and with `offline_access` a refresh token, rotated on each use),
//! and `userinfo` for that access token.
//!
//! A code is taken in one conditional write before anything is compared,
//! so it is good once however many race; then it must have been issued to
//! this client, for this redirect URI, with this PKCE verifier. Presented
//! again, it revokes what its first redemption issued (the session behind
//! the access token).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::NaiveDateTime;
use entity::{oidc_grants, refresh_tokens, users};
use serde_json::Value;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::claims::{self, IdClaims};
use super::client::{Client, Presented};
use super::{OidcError, Provider};
use crate::actions::session::{cached_user, live_session_by_digest};
use crate::actions::token::{Refreshed, rotate};
use crate::actions::{Ctx, Fault, audit, can_sign_in};
use crate::cache::CachedSession;
use crate::event::Event;
use crate::security::jwt::AccessClaims;
use crate::security::tokens;
use crate::store;
use crate::store::oidc::Redemption;
use crate::store::sessions::{Inserted, NewSession};

/// A token request, as read from the form and the `Authorization` header.
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    pub grant_type: Option<&'a str>,
    pub code: Option<&'a str>,
    pub redirect_uri: Option<&'a str>,
    pub code_verifier: Option<&'a str>,
    pub refresh_token: Option<&'a str>,
    pub client_id: &'a str,
    pub presented: Presented<'a>,
}

/// The tokens, as the answer's fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub access_token: String,
    pub expires_in: u64,
    pub id_token: String,
    /// With `offline_access`.
    pub refresh_token: Option<String>,
    pub scope: String,
}

fn seconds(n: u64) -> chrono::Duration {
    chrono::Duration::try_seconds(i64::try_from(n).unwrap_or(i64::MAX))
        .unwrap_or(chrono::Duration::MAX)
}

/// RFC 7636: 43 to 128 unreserved characters.
fn valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

fn pkce_matches(challenge: Option<&str>, verifier: Option<&str>) -> bool {
    match (challenge, verifier) {
        (None, None) => true,
        (Some(challenge), Some(verifier)) if valid_verifier(verifier) => {
            let derived = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            bool::from(derived.as_bytes().ct_eq(challenge.as_bytes()))
        }
        // A verifier with no challenge is a downgrade attempt (RFC 9700).
        _ => false,
    }
}

/// The client the request authenticates as.
async fn authenticate(provider: &Provider, req: &TokenRequest<'_>) -> Result<Client, OidcError> {
    let row = store::oidc::client(&provider.app.db, req.client_id).await?;
    let client = row.map(Client::from).ok_or(OidcError::InvalidClient)?;
    if !client.authenticates(req.presented) {
        return Err(OidcError::InvalidClient);
    }
    Ok(client)
}

pub async fn exchange(
    provider: &Provider,
    ctx: &Ctx,
    req: TokenRequest<'_>,
) -> Result<Tokens, OidcError> {
    let refreshing = match req.grant_type {
        Some("authorization_code") => false,
        Some("refresh_token") => true,
        None => return Err(OidcError::InvalidRequest("grant_type is missing")),
        Some(_) => return Err(OidcError::UnsupportedGrantType),
    };
    let client = authenticate(provider, &req).await?;
    if refreshing {
        return refresh(provider, ctx, &client, req.refresh_token).await;
    }
    let code = req
        .code
        .ok_or(OidcError::InvalidRequest("code is missing"))?;
    let app = &provider.app;
    let now = app.now();
    let code_hash = tokens::digest(code);
    let row = match store::oidc::redeem_code(&app.db, &code_hash, now).await? {
        Redemption::Fresh(row) => row,
        Redemption::Again(row) => {
            if row.client_id == client.id {
                let revoked = match &row.grant_session {
                    Some(session) => store::sessions::delete(app.writes(), session).await?,
                    None => false,
                };
                let event = Event::OidcCodeReplayed {
                    client: client.id.clone(),
                    revoked,
                };
                audit(app, ctx, event, Some(row.user_id)).await?;
                tracing::warn!(client = %client.id, "authorization code presented again; its tokens are revoked");
            }
            return Err(OidcError::InvalidGrant("the code was already used"));
        }
        Redemption::Expired | Redemption::Unknown => {
            return Err(OidcError::InvalidGrant(
                "the code is unknown or has expired",
            ));
        }
    };
    if row.client_id != client.id {
        return Err(OidcError::InvalidGrant(
            "the code was issued to another client",
        ));
    }
    if req.redirect_uri != Some(row.redirect_uri.as_str()) {
        return Err(OidcError::InvalidGrant(
            "redirect_uri is not the one the code was issued for",
        ));
    }
    if !pkce_matches(row.code_challenge.as_deref(), req.code_verifier) {
        return Err(OidcError::InvalidGrant("code_verifier does not match"));
    }
    let user = cached_user(app, row.user_id).await?;
    let Some(user) = user.filter(|u| can_sign_in(u, now) && client.allows_role(&u.user_role))
    else {
        return Err(OidcError::InvalidGrant(
            "the account may not sign in to this client",
        ));
    };
    // The tokens live as a session of their own: the code's second
    // redemption, a lock or a sign-out everywhere ends them. With
    // `offline_access` it lasts as long as a refresh token may.
    let scopes: Vec<String> = row.scope.split_whitespace().map(str::to_owned).collect();
    let offline = scopes.iter().any(|s| s == "offline_access");
    let lifetime = if offline {
        chrono::Duration::try_days(
            i64::try_from(app.config.tokens.refresh_token_ttl_days).unwrap_or(0),
        )
        .unwrap_or(chrono::Duration::MAX)
    } else {
        seconds(app.config.tokens.access_token_ttl)
    };
    let session = tokens::new_token().map_err(Fault::from)?;
    let session_hash = tokens::digest(&session);
    let inserted = store::sessions::insert(
        &app.db,
        NewSession {
            token_hash: session_hash.clone(),
            ip_address: ctx.client_ipaddr.clone().unwrap_or_default(),
            user_agent: format!("openid-connect {}", client.id),
            user_id: user.user_id,
            created: now,
            expires: now.checked_add_signed(lifetime).unwrap_or(now),
            extra_info_json: None,
            amr: row.amr.clone(),
            auth_time: Some(row.auth_time),
        },
    )
    .await?;
    if inserted == Inserted::NoSuchUser {
        return Err(OidcError::InvalidGrant("the account is gone"));
    }
    store::oidc::set_grant_session(&app.db, &code_hash, &session_hash).await?;
    store::oidc::insert_grant(
        &app.db,
        oidc_grants::Model {
            session_hash: session_hash.clone(),
            client_id: client.id.clone(),
            scope: row.scope.clone(),
            created: now,
        },
    )
    .await?;
    let refresh_token = if offline {
        Some(first_refresh_token(app, &user, &session_hash, now).await?)
    } else {
        None
    };
    let issued = Issued {
        client: &client,
        user: &user,
        session_hash,
        scope: &row.scope,
        amr: &row.amr,
        auth_time: row.auth_time,
        nonce: row.nonce.clone(),
    };
    let (access_token, id_token) = issued.sign(provider, now)?;
    let event = Event::OidcToken {
        client: client.id.clone(),
    };
    audit(app, ctx, event, Some(user.user_id)).await?;
    Ok(Tokens {
        access_token,
        expires_in: app.config.tokens.access_token_ttl,
        id_token,
        refresh_token,
        scope: row.scope,
    })
}

/// A new refresh family on the grant's session.
async fn first_refresh_token(
    app: &crate::app::App,
    user: &users::Model,
    session_hash: &str,
    now: NaiveDateTime,
) -> Result<String, OidcError> {
    let token = tokens::new_token().map_err(Fault::from)?;
    let days = chrono::Duration::try_days(
        i64::try_from(app.config.tokens.refresh_token_ttl_days).unwrap_or(0),
    )
    .unwrap_or(chrono::Duration::MAX);
    store::refresh::insert(
        &app.db,
        refresh_tokens::Model {
            token_hash: tokens::digest(&token),
            family: uuid::Uuid::new_v4().simple().to_string(),
            session_hash: session_hash.to_owned(),
            user_id: user.user_id,
            user_role: user.user_role.clone(),
            created: now,
            expires: now.checked_add_signed(days).unwrap_or(now),
            spent: None,
            successor_hash: None,
        },
    )
    .await?;
    Ok(token)
}

/// `grant_type=refresh_token`: the family's rotation and reuse detection,
/// for the client the grant was made to only, while the user may still
/// sign in and use that client; new tokens, the same scopes.
async fn refresh(
    provider: &Provider,
    ctx: &Ctx,
    client: &Client,
    presented: Option<&str>,
) -> Result<Tokens, OidcError> {
    let presented = presented.ok_or(OidcError::InvalidRequest("refresh_token is missing"))?;
    let app = &provider.app;
    let bound = store::refresh::find(&app.db, &tokens::digest(presented)).await?;
    let grant = match bound {
        Some(row) => store::oidc::grant(&app.db, &row.session_hash).await?,
        None => None,
    };
    let Some(grant) = grant.filter(|g| g.client_id == client.id) else {
        return Err(OidcError::InvalidGrant(
            "the refresh token is unknown or was issued to another client",
        ));
    };
    let allowed = |f: &CachedSession| client.allows_role(&f.user.user_role);
    let (found, token, family) = match rotate(app, ctx, presented, allowed).await? {
        Refreshed::Done {
            found,
            token,
            family,
            ..
        } => (found, token, family),
        Refreshed::Refused(_, message) => return Err(OidcError::InvalidGrant(message)),
    };
    let event = Event::OidcRefresh {
        client: client.id.clone(),
        family,
    };
    audit(app, ctx, event, Some(found.user.user_id)).await?;
    let now = app.now();
    let issued = Issued {
        client,
        user: &found.user,
        session_hash: grant.session_hash.clone(),
        scope: &grant.scope,
        amr: found.session.amr(),
        auth_time: found.session.auth_time.unwrap_or(now),
        nonce: None,
    };
    let (access_token, id_token) = issued.sign(provider, now)?;
    Ok(Tokens {
        access_token,
        expires_in: app.config.tokens.access_token_ttl,
        id_token,
        refresh_token: Some(token),
        scope: grant.scope,
    })
}

/// What a pair of tokens says.
struct Issued<'a> {
    client: &'a Client,
    user: &'a users::Model,
    session_hash: String,
    scope: &'a str,
    amr: &'a str,
    auth_time: NaiveDateTime,
    nonce: Option<String>,
}

impl Issued<'_> {
    /// The access token (EdDSA, for `userinfo`) and the id token (RS256).
    fn sign(self, provider: &Provider, now: NaiveDateTime) -> Result<(String, String), OidcError> {
        let app = &provider.app;
        let scopes: Vec<String> = self.scope.split_whitespace().map(str::to_owned).collect();
        let amr: Vec<String> = self.amr.split_whitespace().map(str::to_owned).collect();
        let access = AccessClaims {
            iss: provider.issuer.clone(),
            aud: self.client.id.clone(),
            sub: self.user.system_id.clone(),
            sid: self.session_hash,
            role: self.user.user_role.clone(),
            iat: now.and_utc().timestamp(),
            exp: expiry(now, app.config.tokens.access_token_ttl),
            jti: uuid::Uuid::new_v4().simple().to_string(),
            amr: amr.clone(),
            auth_time: Some(self.auth_time.and_utc().timestamp()),
            scope: Some(self.scope.to_owned()),
        };
        let access_token = app
            .access_keys()
            .sign(&access)
            .map_err(|e| Fault::Internal(e.to_string()))?;
        let id = IdClaims {
            iss: provider.issuer.clone(),
            sub: self.user.system_id.clone(),
            aud: self.client.id.clone(),
            azp: self.client.id.clone(),
            exp: expiry(now, app.config.oidc.oidc_id_token_ttl),
            iat: now.and_utc().timestamp(),
            auth_time: self.auth_time.and_utc().timestamp(),
            nonce: self.nonce,
            amr,
            user: claims::of_user(self.user, &scopes),
        };
        let id_token = provider
            .key
            .sign(&id)
            .map_err(|e| Fault::Internal(e.to_string()))?;
        Ok((access_token, id_token))
    }
}

fn expiry(now: NaiveDateTime, ttl: u64) -> i64 {
    now.checked_add_signed(seconds(ttl))
        .unwrap_or(now)
        .and_utc()
        .timestamp()
}

/// `userinfo`: the claims an access token of ours gives, while its session
/// lives and its user may sign in to the client.
pub async fn userinfo(provider: &Provider, bearer: &str) -> Result<Value, OidcError> {
    let app = &provider.app;
    let now = app.clock.now().timestamp();
    let claims = app
        .access_keys()
        .verify_issued(bearer, &provider.issuer, now)
        .map_err(|_| OidcError::InvalidToken)?;
    let scope = claims.scope.as_deref().ok_or(OidcError::InvalidToken)?;
    let found = live_session_by_digest(app, claims.sid.clone()).await?;
    let client = store::oidc::client(&app.db, &claims.aud)
        .await?
        .map(Client::from);
    let (Some(found), Some(client)) = (found, client) else {
        return Err(OidcError::InvalidToken);
    };
    let user = &found.user;
    if user.system_id != claims.sub
        || !can_sign_in(user, app.now())
        || !client.allows_role(&user.user_role)
    {
        return Err(OidcError::InvalidToken);
    }
    let scopes: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    Ok(claims::userinfo(user, &scopes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_needs_the_verifier_of_the_challenge() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(pkce_matches(Some(challenge), Some(verifier)));
        assert!(!pkce_matches(
            Some(challenge),
            Some(&verifier.replace('d', "e"))
        ));
        assert!(!pkce_matches(Some(challenge), None));
        assert!(!pkce_matches(None, Some(verifier)));
        assert!(pkce_matches(None, None));
        assert!(!pkce_matches(Some(challenge), Some("short")));
    }
}
