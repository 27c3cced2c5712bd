//! `authorize`: a request checked, then answered with a code for the
//! signed-in user (or sent to sign in, or to consent).
//!
//! Until the client and its redirect URI are known good, an error is shown
//! to the user and never redirected (an open redirect otherwise); after,
//! it goes back to the client with `state` and `iss`.

use chrono::NaiveDateTime;
use entity::oidc_codes;

use super::OidcError;
use super::client::Client;
use crate::actions::{Ctx, audit, can_sign_in};
use crate::app::App;
use crate::cache::CachedSession;
use crate::event::Event;
use crate::security::tokens;
use crate::store;

/// Longest `state` and `nonce` kept.
const MAX_ECHO: usize = 512;
/// A PKCE S256 challenge: 43 characters of base64url (RFC 7636 allows up
/// to 128 for other methods; S256 always gives 43).
const CHALLENGE_LEN: usize = 43;

/// How the code goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Query,
    FormPost,
}

#[derive(Debug, Clone)]
pub struct AuthRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub mode: Mode,
    /// `prompt=none`: answer without any page, or fail.
    pub no_prompt: bool,
    /// `prompt=consent`: ask even if agreed before.
    pub ask_consent: bool,
    /// The sign-in must be at or after this (Unix milliseconds): from
    /// `max_age` and `prompt=login`.
    pub signed_in_after: Option<i64>,
}

/// Where an error goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Shown to the user: the client or its redirect URI is not known good.
    Shown(&'static str),
    /// Sent back to the client.
    Back(Back),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Back {
    pub redirect_uri: String,
    pub state: Option<String>,
    pub mode: Mode,
    pub error: OidcError,
}

/// What the request needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// A sign-in, or a fresh one (`prompt=login`, `max_age`): the
    /// sign-in must be at or after `after`.
    SignIn { after: Option<i64> },
    /// The user's consent to these scopes.
    Consent,
    /// Back to the client with this code.
    Code(String),
}

/// The parameters, each at most once.
struct Params<'a>(&'a [(String, String)]);

impl<'a> Params<'a> {
    fn one(&self, name: &str) -> Result<Option<&'a str>, &'static str> {
        let mut found = self.0.iter().filter(|(k, _)| k == name);
        let first = found.next().map(|(_, v)| v.as_str());
        if found.next().is_some() {
            return Err("a parameter is repeated");
        }
        Ok(first.filter(|v| !v.is_empty()))
    }
}

/// Checks an authorization request (its query, or form for POST).
pub async fn check(app: &App, query: &[(String, String)]) -> Result<AuthRequest, Refused> {
    let p = Params(query);
    let client_id = p
        .one("client_id")
        .map_err(Refused::Shown)?
        .ok_or(Refused::Shown("The request names no client."))?;
    let row = store::oidc::client(&app.db, client_id)
        .await
        .map_err(|_| Refused::Shown("The server could not look up the client."))?
        .ok_or(Refused::Shown("The request names an unknown client."))?;
    let client = Client::from(row);
    let redirect_uri = p
        .one("redirect_uri")
        .map_err(Refused::Shown)?
        .filter(|uri| client.allows_redirect(uri))
        .ok_or(Refused::Shown(
            "The request's redirect_uri is not one registered for this client.",
        ))?
        .to_owned();
    let state = p.one("state").ok().flatten().map(str::to_owned);
    let mode = match p.one("response_mode") {
        Ok(None | Some("query")) => Mode::Query,
        Ok(Some("form_post")) => Mode::FormPost,
        _ => Mode::Query,
    };
    let back = |error: OidcError| {
        Refused::Back(Back {
            redirect_uri: redirect_uri.clone(),
            state: state.clone(),
            mode,
            error,
        })
    };
    let invalid = |why: &'static str| back(OidcError::InvalidRequest(why));
    if state.as_ref().is_some_and(|s| s.len() > MAX_ECHO) {
        return Err(invalid("state is too long"));
    }
    if !matches!(
        p.one("response_mode"),
        Ok(None | Some("query" | "form_post"))
    ) {
        return Err(invalid("response_mode must be query or form_post"));
    }
    if p.one("request").ok().flatten().is_some() || p.one("request_uri").ok().flatten().is_some() {
        return Err(back(OidcError::RequestNotSupported));
    }
    match p.one("response_type") {
        Ok(Some("code")) => {}
        Ok(None) => return Err(invalid("response_type is missing")),
        Ok(Some(_)) => return Err(back(OidcError::UnsupportedResponseType)),
        Err(why) => return Err(invalid(why)),
    }
    let asked = p.one("scope").map_err(invalid)?.unwrap_or_default();
    if !asked.split_whitespace().any(|s| s == "openid") {
        return Err(back(OidcError::InvalidScope("scope must include openid")));
    }
    let scopes = client.granted_scopes(asked);
    let nonce = p.one("nonce").map_err(invalid)?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > MAX_ECHO) {
        return Err(invalid("nonce is too long"));
    }
    let challenge = p.one("code_challenge").map_err(invalid)?;
    let method = p.one("code_challenge_method").map_err(invalid)?;
    let code_challenge = match (challenge, method) {
        (None, None) if client.is_public() => {
            return Err(invalid("a public client must use PKCE (S256)"));
        }
        (None, None) => None,
        (Some(c), Some("S256")) if valid_challenge(c) => Some(c.to_owned()),
        (Some(_), Some("S256")) => return Err(invalid("code_challenge is not an S256 challenge")),
        (_, Some("plain")) | (Some(_), None) => {
            return Err(invalid(
                "code_challenge_method must be S256 (plain is refused)",
            ));
        }
        _ => return Err(invalid("code_challenge_method must be S256")),
    };
    let prompts: Vec<&str> = p
        .one("prompt")
        .map_err(invalid)?
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    let no_prompt = prompts.contains(&"none");
    if no_prompt && prompts.len() > 1 {
        return Err(invalid("prompt=none goes alone"));
    }
    let now = app.clock.now().timestamp_millis();
    let max_age = match p.one("max_age").map_err(invalid)? {
        None => None,
        Some(s) => Some(
            s.parse::<u32>()
                .map_err(|_| invalid("max_age must be a number of seconds"))?,
        ),
    };
    let mut signed_in_after =
        max_age.map(|age| now.saturating_sub(i64::from(age).saturating_mul(1000)));
    // Ours, set when the portal sends the browser back after a fresh
    // sign-in: a client adding it only asks for a fresher one.
    if let Some(after) = p
        .one("auth_after")
        .ok()
        .flatten()
        .and_then(|a| a.parse::<i64>().ok())
    {
        signed_in_after = Some(signed_in_after.map_or(after, |s| s.max(after)));
    } else if prompts.contains(&"login") {
        signed_in_after = Some(now);
    }
    Ok(AuthRequest {
        client,
        redirect_uri,
        scopes,
        state,
        nonce,
        code_challenge,
        mode,
        no_prompt,
        ask_consent: prompts.contains(&"consent"),
        signed_in_after,
    })
}

fn valid_challenge(c: &str) -> bool {
    c.len() == CHALLENGE_LEN
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl AuthRequest {
    fn back(&self, error: OidcError) -> Refused {
        Refused::Back(Back {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            mode: self.mode,
            error,
        })
    }

    pub fn scope(&self) -> String {
        self.scopes.join(" ")
    }

    /// What comes next for this signed-in session (`None`: nobody is).
    pub async fn next(
        &self,
        app: &App,
        ctx: &Ctx,
        signed_in: Option<&CachedSession>,
    ) -> Result<Next, Refused> {
        let now = app.now();
        let auth_time = signed_in
            .and_then(|f| f.session.auth_time)
            .map(|t| t.and_utc().timestamp_millis());
        let fresh = match (auth_time, self.signed_in_after) {
            (None, _) => false,
            (Some(at), Some(after)) => at >= after,
            (Some(_), None) => true,
        };
        let Some(found) = signed_in.filter(|_| fresh) else {
            if self.no_prompt {
                return Err(self.back(OidcError::LoginRequired));
            }
            return Ok(Next::SignIn {
                after: self.signed_in_after,
            });
        };
        if !can_sign_in(&found.user, now) {
            return Err(self.back(OidcError::AccessDenied("the account cannot sign in")));
        }
        if !self.client.allows_role(&found.user.user_role) {
            return Err(self.back(OidcError::AccessDenied(
                "the user's role may not use this client",
            )));
        }
        if !self.client.first_party {
            let agreed = store::oidc::consent(&app.db, found.user.user_id, &self.client.id)
                .await
                .map_err(|e| self.back(e.into()))?
                .unwrap_or_default();
            let covered = self
                .scopes
                .iter()
                .all(|s| agreed.split_whitespace().any(|a| a == s));
            if !covered || self.ask_consent {
                if self.no_prompt {
                    return Err(self.back(OidcError::ConsentRequired));
                }
                return Ok(Next::Consent);
            }
        }
        let code = self
            .issue_code(app, ctx, found, now)
            .await
            .map_err(|e| self.back(e))?;
        Ok(Next::Code(code))
    }

    /// The user agreed: remembered, then the code.
    pub async fn consented(
        &self,
        app: &App,
        ctx: &Ctx,
        found: &CachedSession,
    ) -> Result<Next, Refused> {
        let user_id = found.user.user_id;
        let scope = self.scope();
        store::oidc::record_consent(&app.db, user_id, &self.client.id, scope.clone(), app.now())
            .await
            .map_err(|e| self.back(e.into()))?;
        let event = Event::OidcConsent {
            client: self.client.id.clone(),
            scope,
        };
        audit(app, ctx, event, Some(user_id))
            .await
            .map_err(|e| self.back(e.into()))?;
        let consented = AuthRequest {
            ask_consent: false,
            ..self.clone()
        };
        consented.next(app, ctx, Some(found)).await
    }

    async fn issue_code(
        &self,
        app: &App,
        ctx: &Ctx,
        found: &CachedSession,
        now: NaiveDateTime,
    ) -> Result<String, OidcError> {
        let code =
            tokens::new_token().map_err(|e| OidcError::from(crate::actions::Fault::from(e)))?;
        let ttl = chrono::Duration::try_seconds(
            i64::try_from(app.config.oidc.oidc_code_ttl).unwrap_or(60),
        )
        .unwrap_or_default();
        let row = oidc_codes::Model {
            code_hash: tokens::digest(&code),
            client_id: self.client.id.clone(),
            user_id: found.user.user_id,
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            amr: found.session.amr().to_owned(),
            auth_time: found.session.auth_time.unwrap_or(now),
            expires: now.checked_add_signed(ttl).unwrap_or(now),
            redeemed: None,
            grant_session: None,
        };
        store::oidc::insert_code(&app.db, row).await?;
        let event = Event::OidcAuthorize {
            client: self.client.id.clone(),
            scope: self.scope(),
        };
        audit(app, ctx, event, Some(found.user.user_id)).await?;
        Ok(code)
    }
}
