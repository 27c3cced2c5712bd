//! Signing in: the password form, the second-factor form, signing out.

use authnzd_proto as proto;
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use super::cookies::{SIGN_IN_SECS, Which};
use super::{Form, Portal, Visit, csrf};
use crate::actions::{Fault, No, Refusal, Refused, login, mfa, session};
use crate::cache::CachedSession;
use crate::views::{self, text};

impl Portal {
    /// The live pre-login session named by the cookie, or a new one (and
    /// the cookie that names it).
    /// A new pre-login session counts as `session-new` over RPC does, so a
    /// flood of form loads is limited like a flood of sessions: `Err` is
    /// the wait.
    pub(super) async fn pre_login(
        &self,
        v: &Visit,
    ) -> Result<Result<(String, Option<HeaderValue>), u64>, Fault> {
        if let Some(token) = self.cookies.read(&v.headers, Which::PreLogin)
            && let Some(found) = session::live_session(&self.app, &token).await?
            && session::is_anonymous(&found)
        {
            return Ok(Ok((token, None)));
        }
        if let Some(wait) = self.over_limit("session-new", v, None).await? {
            return Ok(Err(wait));
        }
        let expires = self.app.now() + chrono::Duration::seconds(SIGN_IN_SECS);
        let p = proto::SessionNew {
            ip_address: v.client.to_string(),
            user_agent: v.user_agent(),
            user_id: None,
            expires: crate::timefmt::format(expires),
            extra_info_json: None,
        };
        let made = session::new(self.app.clone(), v.ctx(), p).await;
        let token = refusal_is_fault(made)?.answer.session_token;
        let cookie = self.cookies.set(Which::PreLogin, &token, SIGN_IN_SECS);
        Ok(Ok((token, cookie)))
    }

    /// Whether codes go by SMS: a sender other than the log is configured.
    pub(super) fn sms_on(&self) -> bool {
        self.app.config.sms.sms_sender != crate::config::SmsSender::Log
    }

    /// The signed-in session the cookie names, if any.
    pub(super) async fn signed_in(
        &self,
        v: &Visit,
    ) -> Result<Option<(String, CachedSession)>, Fault> {
        let Some(token) = self.cookies.read(&v.headers, Which::Session) else {
            return Ok(None);
        };
        Ok(session::live_session(&self.app, &token)
            .await?
            .filter(|found| !session::is_anonymous(found))
            .map(|found| (token, found)))
    }

    pub(super) async fn login_page(&self, v: &Visit) -> Result<Response, Fault> {
        let rd = v
            .query_value("rd")
            .or_else(|| v.query_value("url"))
            .unwrap_or_default();
        let notice = v.query_value("m").and_then(|m| text::Notice::parse(&m));
        // Signed in, the form is shown only to sign in again (a credential
        // change wants a fresh sign-in); else it would send the change's
        // page straight back here.
        if notice != Some(text::Notice::SignInAgain) && self.signed_in(v).await?.is_some() {
            return Ok(self.redirect(&self.after_sign_in(&rd), Vec::new()));
        }
        self.login_form(v, StatusCode::OK, &rd, "", notice, None)
            .await
    }

    pub(super) async fn login_form(
        &self,
        v: &Visit,
        status: StatusCode,
        rd: &str,
        email: &str,
        notice: Option<text::Notice>,
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let (token, cookie) = match self.pre_login(v).await? {
            Ok(made) => made,
            // No form that could work: the wait, said.
            Err(wait) => {
                let error = text::too_many(wait);
                let status = StatusCode::TOO_MANY_REQUESTS;
                return Ok(self.error_page(status, &error));
            }
        };
        let csrf = csrf::token(&self.app, &token);
        let page = views::Login {
            chrome: self.chrome(notice.map(text::Notice::text), error),
            csrf: &csrf,
            rd,
            email,
            signup: self.signup_on(),
            sms: self.sms_on(),
            pk: self.passkey_text(),
        };
        let mut res = self.page(status, &page, cookie.into_iter().collect());
        if page.pk.is_some() {
            Portal::allow_own_script(&mut res);
        }
        Ok(res)
    }

    pub(super) async fn login_submit(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let (rd, email) = (form.get("rd"), form.get("email").trim());
        let Some(token) = self.checked_pre_login(v, form).await? else {
            let expired = Some(text::FORM_EXPIRED);
            return self
                .login_form(v, StatusCode::BAD_REQUEST, rd, email, None, expired)
                .await;
        };
        if let Some(wait) = self.over_limit("user-login", v, Some(email)).await? {
            let error = text::too_many(wait);
            return self
                .login_form(
                    v,
                    StatusCode::TOO_MANY_REQUESTS,
                    rd,
                    email,
                    None,
                    Some(&error),
                )
                .await;
        }
        let p = proto::UserLogin {
            session_token: token.clone().into(),
            email: email.to_owned(),
            password: form.get("password").into(),
            code: None,
        };
        match login::login(self.app.clone(), v.ctx(), p).await {
            Ok(said) => self.start_session(v, said.answer.user_id, rd).await,
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::SecondFactorRequired => {
                self.second_step(&no, rd)
            }
            // The domain's own words: the same for a wrong password and an
            // unknown address, and a lock says so without saying more.
            Err(Refused::No(no)) => {
                let error = no
                    .messages
                    .first()
                    .map_or(text::UNAVAILABLE, String::as_str);
                let status = StatusCode::UNAUTHORIZED;
                self.login_form(v, status, rd, email, None, Some(error))
                    .await
            }
        }
    }

    /// A first factor passed and the account has a second: its token kept
    /// in this browser, and on to the code form.
    pub(super) fn second_step(&self, no: &No, rd: &str) -> Result<Response, Fault> {
        let mfa_token = no.fields.get("mfa_token").and_then(|t| t.as_str());
        let Some(mfa_token) = mfa_token else {
            return Err(Fault::Internal(
                "second factor asked without a token".into(),
            ));
        };
        // The code form offers the user's passkey when the domain says
        // one may be the second step.
        let passkey = no
            .fields
            .get("methods")
            .and_then(|m| m.as_array())
            .is_some_and(|m| m.iter().any(|m| m == "passkey"));
        Ok(self.to_second_step(mfa_token, rd, passkey))
    }

    /// The second-factor token kept in this browser, and on to the code
    /// form (offering a passkey when `passkey`).
    pub(super) fn to_second_step(&self, mfa_token: &str, rd: &str, passkey: bool) -> Response {
        let cookie = self
            .cookies
            .set(Which::SecondFactor, mfa_token, SIGN_IN_SECS);
        let mut to = self.to_page("login/code", None);
        let mut sep = '?';
        if !rd.is_empty() {
            to.push_str("?rd=");
            to.extend(url::form_urlencoded::byte_serialize(rd.as_bytes()));
            sep = '&';
        }
        if passkey {
            to.push(sep);
            to.push_str("passkey=1");
        }
        self.redirect(&to, cookie.into_iter().collect())
    }

    /// The pre-login session of a posted form, when its CSRF token is its.
    pub(super) async fn checked_pre_login(
        &self,
        v: &Visit,
        form: &Form,
    ) -> Result<Option<String>, Fault> {
        self.checked_pre_login_token(v, form.get("csrf")).await
    }

    /// The pre-login session, when `csrf` is its form token.
    pub(super) async fn checked_pre_login_token(
        &self,
        v: &Visit,
        csrf: &str,
    ) -> Result<Option<String>, Fault> {
        let Some(token) = self.cookies.read(&v.headers, Which::PreLogin) else {
            return Ok(None);
        };
        if !csrf::valid(&self.app, &token, csrf) {
            return Ok(None);
        }
        let live = session::live_session(&self.app, &token).await?;
        Ok(live.filter(session::is_anonymous).map(|_| token))
    }

    pub(super) async fn code_page(&self, v: &Visit) -> Result<Response, Fault> {
        let rd = v.query_value("rd").unwrap_or_default();
        let waiting = self.cookies.read(&v.headers, Which::SecondFactor).is_some();
        let pre = self.cookies.read(&v.headers, Which::PreLogin);
        let live = match &pre {
            Some(t) => session::live_session(&self.app, t).await?,
            None => None,
        };
        let (Some(token), Some(_), true) = (pre, live, waiting) else {
            let to = self.to_page("login", Some(text::Notice::Expired));
            return Ok(self.redirect(&to, Vec::new()));
        };
        let passkey = v.query_value("passkey").is_some();
        self.code_form(StatusCode::OK, &token, &rd, None, passkey)
    }

    fn code_form(
        &self,
        status: StatusCode,
        pre_login: &str,
        rd: &str,
        error: Option<&str>,
        passkey: bool,
    ) -> Result<Response, Fault> {
        let csrf = csrf::token(&self.app, pre_login);
        let page = views::Code {
            chrome: self.chrome(None, error),
            csrf: &csrf,
            rd,
            pk: self.passkey_text().filter(|_| passkey),
        };
        let mut res = self.page(status, &page, Vec::new());
        if page.pk.is_some() {
            Portal::allow_own_script(&mut res);
        }
        Ok(res)
    }

    pub(super) async fn code_submit(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let rd = form.get("rd");
        let expired = || {
            let to = self.to_page("login", Some(text::Notice::Expired));
            self.redirect(
                &to,
                self.cookies
                    .clear(Which::SecondFactor)
                    .into_iter()
                    .collect(),
            )
        };
        let (Some(_), Some(mfa_token)) = (
            self.checked_pre_login(v, form).await?,
            self.cookies.read(&v.headers, Which::SecondFactor),
        ) else {
            return Ok(expired());
        };
        if let Some(wait) = self.over_limit("user-login-mfa", v, None).await? {
            let pre = self
                .cookies
                .read(&v.headers, Which::PreLogin)
                .unwrap_or_default();
            return self.code_form(
                StatusCode::TOO_MANY_REQUESTS,
                &pre,
                rd,
                Some(&text::too_many(wait)),
                false,
            );
        }
        let p = proto::UserLoginMfa {
            mfa_token: mfa_token.into(),
            code: Some(form.get("code").trim().into()),
            ..Default::default()
        };
        match mfa::login_mfa(self.app.clone(), v.ctx(), p).await {
            Ok(said) => self.start_session(v, said.answer.user_id, rd).await,
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::MfaTokenInvalid => Ok(expired()),
            // The token is spent by any answer: a wrong code starts over.
            Err(Refused::No(_)) => {
                let clear = self.cookies.clear(Which::SecondFactor);
                let mut res = self
                    .login_form(
                        v,
                        StatusCode::UNAUTHORIZED,
                        rd,
                        "",
                        None,
                        Some(text::WRONG_CODE),
                    )
                    .await?;
                if let Some(c) = clear {
                    res.headers_mut().append(warp::http::header::SET_COOKIE, c);
                }
                Ok(res)
            }
        }
    }

    /// The user's session after a sign-in: made as a frontend makes it
    /// (taking over how the sign-in went), its cookie set, the sign-in's
    /// cookies cleared, and on to where the user was going.
    pub(super) async fn start_session(
        &self,
        v: &Visit,
        user_id: i64,
        rd: &str,
    ) -> Result<Response, Fault> {
        let days = i64::from(self.app.config.sessions.session_expiry_days);
        let ttl = chrono::Duration::days(days);
        let p = proto::SessionNew {
            ip_address: v.client.to_string(),
            user_agent: v.user_agent(),
            user_id: Some(user_id),
            expires: crate::timefmt::format(self.app.now() + ttl),
            extra_info_json: None,
        };
        let made = session::new(self.app.clone(), v.ctx(), p).await;
        let token = refusal_is_fault(made)?.answer.session_token;
        // Signing in again replaces this browser's session: the old one
        // ends rather than linger unseen.
        if let Some((old, found)) = self.signed_in(v).await? {
            let p = proto::UserLogout {
                session_token: old.into(),
                user_id: found.user.user_id,
            };
            match login::logout(self.app.clone(), v.ctx(), p).await {
                Ok(_) | Err(Refused::No(_)) => {}
                Err(Refused::Fault(f)) => return Err(f),
            }
        }
        let cookies = [
            self.cookies.set(Which::Session, &token, ttl.num_seconds()),
            self.cookies.clear(Which::PreLogin),
            self.cookies.clear(Which::SecondFactor),
        ];
        Ok(self.redirect(
            &self.after_sign_in(rd),
            cookies.into_iter().flatten().collect(),
        ))
    }

    pub(super) async fn logout(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let to = self.to_page("login", Some(text::Notice::SignedOut));
        let clear: Vec<_> = self.cookies.clear(Which::Session).into_iter().collect();
        let Some((token, found)) = self.signed_in(v).await? else {
            return Ok(self.redirect(&to, clear));
        };
        if !csrf::valid(&self.app, &token, form.get("csrf")) {
            return Ok(self.error_page(StatusCode::FORBIDDEN, text::FORM_EXPIRED));
        }
        let p = proto::UserLogout {
            session_token: token.into(),
            user_id: found.user.user_id,
        };
        match login::logout(self.app.clone(), v.ctx(), p).await {
            Ok(_) | Err(Refused::No(_)) => Ok(self.redirect(&to, clear)),
            Err(Refused::Fault(f)) => Err(f),
        }
    }
}

/// The answer of a request the portal made correctly: a refusal would be
/// the server's own fault.
pub(super) fn refusal_is_fault<A>(
    r: Result<crate::actions::Said<A>, Refused>,
) -> Result<crate::actions::Said<A>, Fault> {
    r.map_err(|e| match e {
        Refused::Fault(f) => f,
        Refused::No(no) => Fault::Internal(format!("portal request refused: {}", no.reason)),
    })
}
