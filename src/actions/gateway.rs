//! Forward-auth: whom a request's credential names, for `GET /auth/verify`.
//! The transport extracts the credential; this decides on it.

use crate::actions::session::{live_session, live_session_by_digest};
use crate::actions::{Fault, can_sign_in, token};
use crate::app::App;
use crate::cache::CachedSession;
use crate::security::jwt::JwtRefused;
use crate::store::seed::ANONYMOUS_ID;

/// How often an access token with an unknown `kid` may make this server
/// reload its keys (another server may have rotated a moment ago).
const RELOAD_AT_MOST_EVERY: std::time::Duration = std::time::Duration::from_secs(10);
/// Longer than any token we hand out: not worth hashing or looking up.
const MAX_CREDENTIAL_LEN: usize = 4096;

/// What a request presented.
#[derive(Clone)]
pub enum Credential {
    /// From the session cookie.
    Cookie(String),
    /// From `Authorization: Bearer`: a session token or an access JWT.
    Bearer(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Cookie(_) => f.write_str("Cookie([REDACTED])"),
            Credential::Bearer(_) => f.write_str("Bearer([REDACTED])"),
        }
    }
}

/// The signed-in user a credential names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user_id: i64,
    pub email: String,
    /// Whether `email` was verified: only then is it asserted to others.
    pub email_verified: bool,
    pub role: String,
    pub full_name: Option<String>,
    /// How the session was signed in (`pwd otp`; empty when unknown), and
    /// when.
    pub amr: String,
    pub auth_time: Option<chrono::NaiveDateTime>,
}

fn identity(found: &CachedSession, now: chrono::NaiveDateTime) -> Option<Identity> {
    let u = &found.user;
    (u.user_id != ANONYMOUS_ID && can_sign_in(u, now)).then(|| Identity {
        user_id: u.user_id,
        email: u.email.clone(),
        email_verified: u.email_verified,
        role: u.user_role.clone(),
        full_name: u.full_name.clone(),
        amr: found.session.amr().to_owned(),
        auth_time: found.session.auth_time,
    })
}

/// The user, or `None` for anything not a live signed-in session or a valid
/// access token of one.
pub async fn identify(app: &App, credential: &Credential) -> Result<Option<Identity>, Fault> {
    let (Credential::Cookie(c) | Credential::Bearer(c)) = credential;
    if c.is_empty() || c.len() > MAX_CREDENTIAL_LEN {
        return Ok(None);
    }
    let now = app.now();
    let looks_like_jwt = c.bytes().filter(|b| *b == b'.').count() == 2;
    if let (Credential::Bearer(jwt), true) = (credential, looks_like_jwt) {
        return by_access_token(app, jwt).await;
    }
    Ok(live_session(app, c).await?.and_then(|f| identity(&f, now)))
}

async fn by_access_token(app: &App, jwt: &str) -> Result<Option<Identity>, Fault> {
    let (iss, aud) = (
        &app.config.tokens.jwt_issuer,
        &app.config.tokens.jwt_audience,
    );
    let now = app.now();
    let unix = app.clock.now().timestamp();
    let mut verified = app.access_keys().verify(jwt, iss, aud, unix);
    if verified == Err(JwtRefused::UnknownKey) {
        let stale = app.keys.access_loaded.lock().elapsed() >= RELOAD_AT_MOST_EVERY;
        if stale {
            token::reload_keys(app).await?;
            verified = app.access_keys().verify(jwt, iss, aud, unix);
        }
    }
    let claims = match verified {
        Ok(c) => c,
        Err(why) => {
            tracing::debug!(%why, "access token refused");
            return Ok(None);
        }
    };
    // Stateless for others; here the session is one cache lookup away, so a
    // logout ends its access tokens at once.
    let Some(found) = live_session_by_digest(app, claims.sid.clone()).await? else {
        return Ok(None);
    };
    let same_user = found.user.user_id.to_string() == claims.sub;
    let same_role = found.user.user_role == claims.role;
    Ok(identity(&found, now).filter(|_| same_user && same_role))
}
