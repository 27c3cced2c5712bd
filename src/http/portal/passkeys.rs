//! Passkeys in the portal: signing in with one (discoverable, one click),
//! one as the second step of a password sign-in, and adding, renaming and
//! removing them on the account page. The page's script (`passkey.js`)
//! asks these JSON endpoints for the options, runs the browser's ceremony
//! and posts its result back; the ceremony id stays in a short cookie, and
//! the session is set here, as the other sign-ins set it. Every endpoint
//! checks the form token (in the JSON body) and the site the request came
//! from, and takes only `application/json`, which no cross-site form can
//! send without a preflight.

use authnzd_proto as proto;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::cookies::Which;
use super::{Form, Portal, Visit};
use crate::actions::{Fault, Refusal, Refused, mfa, passkeys};
use crate::views::{self, text};

/// The script's endpoints (POST, JSON).
pub(super) const JSON_PATHS: [&str; 6] = [
    "login/passkey/start",
    "login/passkey/finish",
    "login/code/passkey/start",
    "login/code/passkey/finish",
    "account/passkeys/add/start",
    "account/passkeys/add/finish",
];

/// What the script posts: the page's form token, and for a finish the
/// browser's credential (and `rd`, or the new passkey's name).
#[derive(Deserialize, Default)]
struct Asked {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    rd: String,
    #[serde(default)]
    credential: Option<Map<String, Value>>,
    #[serde(default)]
    label: Option<String>,
}

impl Portal {
    /// Whether passkeys are set up (an RP ID, given or from `portal_url`).
    pub(super) fn passkeys_on(&self) -> bool {
        self.app.webauthn.is_some()
    }

    /// The script's sentences, for a page that offers passkeys.
    pub(super) fn passkey_text(&self) -> Option<views::PasskeyText> {
        self.passkeys_on().then_some(views::PASSKEY_TEXT)
    }

    /// A JSON endpoint of the script; `None` when it is none of them.
    pub(super) async fn passkey_json(
        &self,
        rest: &str,
        v: &Visit,
        body: &[u8],
    ) -> Option<Response> {
        if !JSON_PATHS.contains(&rest) || !self.passkeys_on() {
            return None;
        }
        let is_json = v
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|t| t.to_str().ok())
            .and_then(|t| t.split(';').next())
            .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"));
        if !is_json {
            let status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
            return Some(self.json_error(status, text::FORM_EXPIRED));
        }
        let Ok(asked) = serde_json::from_slice::<Asked>(body) else {
            return Some(self.json_error(StatusCode::BAD_REQUEST, text::PASSKEY_FAILED));
        };
        let res = match rest {
            "login/passkey/start" => self.pk_login_start(v, &asked).await,
            "login/passkey/finish" => self.pk_login_finish(v, asked).await,
            "login/code/passkey/start" => self.pk_code_start(v, &asked).await,
            "login/code/passkey/finish" => self.pk_code_finish(v, asked).await,
            "account/passkeys/add/start" => self.pk_add_start(v, &asked).await,
            _ => self.pk_add_finish(v, asked).await,
        };
        Some(res.unwrap_or_else(|e| {
            tracing::error!(error = %crate::logging::Escaped(&e), "portal passkey request failed");
            self.json_error(StatusCode::SERVICE_UNAVAILABLE, text::UNAVAILABLE)
        }))
    }

    fn json(&self, status: StatusCode, body: &Value, cookies: Vec<HeaderValue>) -> Response {
        let mut res = Response::new(body.to_string().into());
        *res.status_mut() = status;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        self.finish(res, cookies)
    }

    /// A sentence for the page to show.
    fn json_error(&self, status: StatusCode, sentence: &str) -> Response {
        self.json(status, &json!({ "error": sentence }), Vec::new())
    }

    /// A redirect the portal would answer a form with, told to the script
    /// (`{"to": …}`) with the same cookies, so it navigates there itself.
    fn as_json(&self, redirect: Response) -> Response {
        let to = redirect
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let cookies = redirect
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .cloned()
            .collect();
        self.json(StatusCode::OK, &json!({ "to": to }), cookies)
    }

    /// The options for the browser, the ceremony kept in this browser.
    fn options(&self, started: proto::answers::PasskeyCeremony) -> Response {
        let ttl = i64::try_from(self.app.config.webauthn.webauthn_ceremony_ttl).unwrap_or(300);
        let cookie = self.cookies.set(Which::Passkey, &started.ceremony_id, ttl);
        let body = json!({ "options": started.options });
        self.json(StatusCode::OK, &body, cookie.into_iter().collect())
    }

    /// The ceremony this browser started, forgotten as it is finished (the
    /// domain takes it once, whatever the answer).
    fn ceremony(&self, v: &Visit) -> Option<String> {
        self.cookies.read(&v.headers, Which::Passkey)
    }

    fn with_cleared_ceremony(&self, mut res: Response) -> Response {
        if let Some(c) = self.cookies.clear(Which::Passkey) {
            res.headers_mut().append(header::SET_COOKIE, c);
        }
        res
    }

    /// `POST login/passkey/start`: a discoverable sign-in (no address).
    async fn pk_login_start(&self, v: &Visit, asked: &Asked) -> Result<Response, Fault> {
        if self
            .checked_pre_login_token(v, &asked.csrf)
            .await?
            .is_none()
        {
            return Ok(self.json_error(StatusCode::FORBIDDEN, text::FORM_EXPIRED));
        }
        if let Some(res) = self.json_limited("passkey-login-start", v).await? {
            return Ok(res);
        }
        let p = proto::PasskeyLoginStart {
            email: None,
            mfa_token: None,
        };
        match passkeys::login_start(self.app.clone(), v.ctx(), p).await {
            Ok(said) => Ok(self.options(said.answer)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(_)) => {
                Ok(self.json_error(StatusCode::BAD_REQUEST, text::PASSKEY_FAILED))
            }
        }
    }

    /// `POST login/passkey/finish`: the session (or, for a passkey that
    /// did not verify its user on an account with a second factor, on to
    /// the code form).
    async fn pk_login_finish(&self, v: &Visit, asked: Asked) -> Result<Response, Fault> {
        let Some(pre) = self.checked_pre_login_token(v, &asked.csrf).await? else {
            return Ok(self.json_error(StatusCode::FORBIDDEN, text::FORM_EXPIRED));
        };
        let (Some(ceremony_id), Some(credential)) = (self.ceremony(v), asked.credential) else {
            return Ok(self.json_error(StatusCode::BAD_REQUEST, text::PASSKEY_OVER));
        };
        if let Some(res) = self.json_limited("passkey-login-finish", v).await? {
            return Ok(res);
        }
        let p = proto::PasskeyLoginFinish {
            ceremony_id,
            credential,
            session_token: Some(pre.into()),
        };
        let res = match passkeys::login_finish(self.app.clone(), v.ctx(), p).await {
            Ok(said) => {
                let to = self
                    .start_session(v, said.answer.user_id, &asked.rd)
                    .await?;
                self.as_json(to)
            }
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::SecondFactorRequired => {
                self.as_json(self.second_step(&no, &asked.rd)?)
            }
            Err(Refused::No(no)) => {
                self.json_error(StatusCode::UNAUTHORIZED, refusal_text(&no.reason))
            }
        };
        Ok(self.with_cleared_ceremony(res))
    }

    /// The pre-login session and second-factor token of the code form.
    async fn second_factor(&self, v: &Visit, asked: &Asked) -> Result<Option<String>, Fault> {
        if self
            .checked_pre_login_token(v, &asked.csrf)
            .await?
            .is_none()
        {
            return Ok(None);
        }
        Ok(self.cookies.read(&v.headers, Which::SecondFactor))
    }

    /// The sign-in is over: to the login form, saying so.
    fn expired_json(&self) -> Response {
        let to = self.to_page("login", Some(text::Notice::Expired));
        let clear = self.cookies.clear(Which::SecondFactor);
        self.json(
            StatusCode::OK,
            &json!({ "to": to }),
            clear.into_iter().collect(),
        )
    }

    /// `POST login/code/passkey/start`: a passkey as the second step.
    async fn pk_code_start(&self, v: &Visit, asked: &Asked) -> Result<Response, Fault> {
        let Some(mfa_token) = self.second_factor(v, asked).await? else {
            return Ok(self.expired_json());
        };
        if let Some(res) = self.json_limited("passkey-login-start", v).await? {
            return Ok(res);
        }
        let p = proto::PasskeyLoginStart {
            email: None,
            mfa_token: Some(mfa_token.into()),
        };
        match passkeys::login_start(self.app.clone(), v.ctx(), p).await {
            Ok(said) => Ok(self.options(said.answer)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::MfaTokenInvalid => {
                Ok(self.expired_json())
            }
            Err(Refused::No(no)) => {
                Ok(self.json_error(StatusCode::BAD_REQUEST, refusal_text(&no.reason)))
            }
        }
    }

    /// `POST login/code/passkey/finish`: `user-login-mfa` with the passkey.
    /// The token is spent by any answer: a failure starts over.
    async fn pk_code_finish(&self, v: &Visit, asked: Asked) -> Result<Response, Fault> {
        let Some(mfa_token) = self.second_factor(v, &asked).await? else {
            return Ok(self.expired_json());
        };
        let (Some(ceremony_id), Some(credential)) = (self.ceremony(v), asked.credential) else {
            return Ok(self.json_error(StatusCode::BAD_REQUEST, text::PASSKEY_OVER));
        };
        if let Some(res) = self.json_limited("user-login-mfa", v).await? {
            return Ok(res);
        }
        let p = proto::UserLoginMfa {
            mfa_token: mfa_token.into(),
            code: None,
            passkey_ceremony_id: Some(ceremony_id),
            passkey_credential: Some(credential),
        };
        let res = match mfa::login_mfa(self.app.clone(), v.ctx(), p).await {
            Ok(said) => {
                let to = self
                    .start_session(v, said.answer.user_id, &asked.rd)
                    .await?;
                self.as_json(to)
            }
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::MfaTokenInvalid => self.expired_json(),
            Err(Refused::No(no)) => {
                let body = json!({ "error": refusal_text(&no.reason) });
                let clear = self.cookies.clear(Which::SecondFactor);
                self.json(StatusCode::UNAUTHORIZED, &body, clear.into_iter().collect())
            }
        };
        Ok(self.with_cleared_ceremony(res))
    }

    /// The 429 to answer when `request` is over its limit (counted as the
    /// RPC counts it).
    async fn json_limited(&self, request: &str, v: &Visit) -> Result<Option<Response>, Fault> {
        let wait = self.over_limit(request, v, None).await?;
        Ok(wait.map(|w| self.json_error(StatusCode::TOO_MANY_REQUESTS, &text::too_many(w))))
    }

    /// The signed-in session, when the posted token is its.
    async fn checked_json(
        &self,
        v: &Visit,
        asked: &Asked,
    ) -> Result<Option<super::account::Checked>, Fault> {
        let form = Form(vec![("csrf".to_owned(), asked.csrf.clone())]);
        Ok(self.checked(v, &form).await?.ok())
    }

    /// To sign in again, and back to the account page after.
    fn sign_in_again_json(&self) -> Response {
        self.as_json(self.to_login("account", Some(text::Notice::SignInAgain)))
    }

    /// `POST account/passkeys/add/start`: for a fresh sign-in only.
    async fn pk_add_start(&self, v: &Visit, asked: &Asked) -> Result<Response, Fault> {
        let Some(c) = self.checked_json(v, asked).await? else {
            return Ok(self.json_error(StatusCode::FORBIDDEN, text::FORM_EXPIRED));
        };
        if !mfa::freshly_signed_in(&self.app, &c.found).await? {
            return Ok(self.sign_in_again_json());
        }
        if let Some(res) = self.json_limited("passkey-register-start", v).await? {
            return Ok(res);
        }
        let p = proto::PasskeyRegisterStart {
            session_token: c.token.into(),
        };
        match passkeys::register_start(self.app.clone(), v.ctx(), p).await {
            Ok(said) => Ok(self.options(said.answer)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::FreshSignInRequired => {
                Ok(self.sign_in_again_json())
            }
            Err(Refused::No(no)) => {
                Ok(self.json_error(StatusCode::BAD_REQUEST, refusal_text(&no.reason)))
            }
        }
    }

    /// `POST account/passkeys/add/finish`: the new passkey, named as typed.
    async fn pk_add_finish(&self, v: &Visit, asked: Asked) -> Result<Response, Fault> {
        let Some(c) = self.checked_json(v, &asked).await? else {
            return Ok(self.json_error(StatusCode::FORBIDDEN, text::FORM_EXPIRED));
        };
        let (Some(ceremony_id), Some(credential)) = (self.ceremony(v), asked.credential) else {
            return Ok(self.json_error(StatusCode::BAD_REQUEST, text::PASSKEY_OVER));
        };
        if let Some(res) = self.json_limited("passkey-register-finish", v).await? {
            return Ok(res);
        }
        let p = proto::PasskeyRegisterFinish {
            ceremony_id,
            session_token: c.token.into(),
            credential,
            label: asked.label,
        };
        let res = match passkeys::register_finish(self.app.clone(), v.ctx(), p).await {
            Ok(_) => self.as_json(self.to_account(text::Notice::PasskeyAdded)),
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(no)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                self.json_error(status, refusal_text(&no.reason))
            }
        };
        Ok(self.with_cleared_ceremony(res))
    }

    /// `POST account/passkeys/rename`.
    pub(super) async fn passkey_rename(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "passkey-rename", None).await? {
            return Ok(res);
        }
        let p = proto::PasskeyRename {
            user_id: c.found.user.user_id,
            passkey_id: form.get("passkey_id").into(),
            label: Some(form.get("label").into()),
        };
        match passkeys::rename(self.app.clone(), v.ctx(), p).await {
            Ok(_) => Ok(self.to_account(text::Notice::PasskeyRenamed)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.passkey_refused(v, &c, &no.reason).await,
        }
    }

    /// `POST account/passkeys/delete`.
    pub(super) async fn passkey_delete(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "passkey-delete", None).await? {
            return Ok(res);
        }
        let p = proto::PasskeyDelete {
            user_id: c.found.user.user_id,
            passkey_id: form.get("passkey_id").into(),
        };
        match passkeys::delete(self.app.clone(), v.ctx(), p).await {
            Ok(_) => Ok(self.to_account(text::Notice::PasskeyRemoved)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.passkey_refused(v, &c, &no.reason).await,
        }
    }

    /// Not the user's passkey (or gone), or a bad name.
    async fn passkey_refused(
        &self,
        v: &Visit,
        c: &super::account::Checked,
        reason: &Refusal,
    ) -> Result<Response, Fault> {
        let (status, error) = if *reason == Refusal::PasskeyUnknown {
            (StatusCode::NOT_FOUND, text::NO_SUCH_PASSKEY)
        } else {
            (StatusCode::UNPROCESSABLE_ENTITY, text::KEY_LABEL_INVALID)
        };
        self.account(v, status, (&c.token, &c.found), None, Some(error))
            .await
    }
}

/// A passkey refusal, said for a person.
fn refusal_text(reason: &Refusal) -> &'static str {
    match reason {
        Refusal::PasskeyCeremonyUsed
        | Refusal::PasskeyCeremonyExpired
        | Refusal::PasskeyCeremonyMismatch => text::PASSKEY_OVER,
        Refusal::PasskeyUnknown => text::PASSKEY_UNKNOWN,
        Refusal::PasskeyExists => text::PASSKEY_EXISTS,
        Refusal::PasskeyModelNotAllowed => text::PASSKEY_MODEL,
        Refusal::AccountCannotSignIn => text::PASSKEY_ACCOUNT,
        _ => text::PASSKEY_FAILED,
    }
}
