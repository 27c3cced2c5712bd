//! Signing in by email — a link and a code sent to the address — or by a
//! code sent by SMS. The link signs in only the browser that asked (its
//! attempt is kept in a cookie there, and the domain checks the link
//! against it); anywhere else it says to type the code where the sign-in
//! began. A code, too, is typed where its attempt's cookie is.

use authnzd_proto as proto;
use warp::http::StatusCode;
use warp::reply::Response;

use super::cookies::{SIGN_IN_SECS, Which};
use super::{Form, Portal, Visit, csrf};
use crate::actions::{Fault, Refusal, Refused, passwordless};
use crate::views::{self, text};

impl Portal {
    /// `POST login/email` (`sms` false, the field `email`) or `login/sms`
    /// (the field `phone`).
    pub(super) async fn code_sent_submit(
        &self,
        v: &Visit,
        form: &Form,
        sms: bool,
    ) -> Result<Response, Fault> {
        let field = if sms { "phone" } else { "email" };
        let (rd, email) = (form.get("rd"), form.get(field).trim());
        let Some(pre_login) = self.checked_pre_login(v, form).await? else {
            let expired = Some(text::FORM_EXPIRED);
            return self
                .login_form(v, StatusCode::BAD_REQUEST, rd, "", None, expired)
                .await;
        };
        if let Some(wait) = self
            .over_limit("passwordless-start", v, Some(email))
            .await?
        {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.login_form(v, status, rd, "", None, Some(&error)).await;
        }
        let p = proto::PasswordlessStart {
            channel: if sms { "sms" } else { "email" }.into(),
            address: email.to_owned(),
            create_user: None,
            redirect_url: None,
        };
        // The same answer whether or not the address has an account; a
        // refusal is the address's shape or a window's limit, said as such.
        let started = match passwordless::start(self.app.clone(), v.ctx(), p).await {
            Ok(said) => said.answer,
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(no)) => {
                let error = no
                    .messages
                    .first()
                    .map_or(text::UNAVAILABLE, String::as_str);
                let status = StatusCode::BAD_REQUEST;
                return self.login_form(v, status, rd, "", None, Some(error)).await;
            }
        };
        let cookie = self
            .cookies
            .set(Which::EmailAttempt, &started.attempt_id, SIGN_IN_SECS);
        self.email_sent(
            StatusCode::OK,
            (&pre_login, sms),
            rd,
            None,
            cookie.into_iter().collect(),
        )
    }

    fn email_sent(
        &self,
        status: StatusCode,
        (pre_login, sms): (&str, bool),
        rd: &str,
        error: Option<&str>,
        cookies: Vec<warp::http::HeaderValue>,
    ) -> Result<Response, Fault> {
        let csrf = csrf::token(&self.app, pre_login);
        let page = views::EmailSent {
            chrome: self.chrome(None, error),
            csrf: &csrf,
            rd,
            sms,
        };
        Ok(self.page(status, &page, cookies))
    }

    /// `POST login/email/code` or `login/sms/code`: the code typed where
    /// the attempt began.
    pub(super) async fn email_code_submit(
        &self,
        v: &Visit,
        form: &Form,
        sms: bool,
    ) -> Result<Response, Fault> {
        let rd = form.get("rd");
        let (Some(pre_login), Some(attempt)) = (
            self.checked_pre_login(v, form).await?,
            self.cookies.read(&v.headers, Which::EmailAttempt),
        ) else {
            let to = self.to_page("login", Some(text::Notice::Expired));
            return Ok(self.redirect(&to, Vec::new()));
        };
        if let Some(wait) = self.over_limit("passwordless-finish", v, None).await? {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.email_sent(status, (&pre_login, sms), rd, Some(&error), Vec::new());
        }
        let p = proto::PasswordlessFinish {
            attempt_id: Some(attempt),
            code: Some(form.get("code").trim().into()),
            link_token: None,
            session_token: Some(pre_login.clone().into()),
        };
        match passwordless::finish(self.app.clone(), v.ctx(), p).await {
            Err(Refused::No(no)) if no.reason == Refusal::WrongCode => {
                let status = StatusCode::UNAUTHORIZED;
                let error = if sms {
                    text::WRONG_SMS_CODE
                } else {
                    text::WRONG_EMAIL_CODE
                };
                self.email_sent(status, (&pre_login, sms), rd, Some(error), Vec::new())
            }
            other => self.email_signed_in(v, other, rd).await,
        }
    }

    /// `GET login/link?token=…`: signs in the browser that asked, only.
    pub(super) async fn link(&self, v: &Visit) -> Result<Response, Fault> {
        let token = v.query_value("token").unwrap_or_default();
        let attempt = self.cookies.read(&v.headers, Which::EmailAttempt);
        let pre_login = self.cookies.read(&v.headers, Which::PreLogin);
        let (Some(attempt), Some(pre_login), false) = (attempt, pre_login, token.is_empty()) else {
            return Ok(self.link_elsewhere());
        };
        let p = proto::PasswordlessFinish {
            attempt_id: Some(attempt),
            code: None,
            link_token: Some(token.into()),
            session_token: Some(pre_login.into()),
        };
        match passwordless::finish(self.app.clone(), v.ctx(), p).await {
            // Not this browser's attempt (or spent, or expired).
            Err(Refused::No(no)) if no.reason == Refusal::CodeOrLinkInvalid => {
                Ok(self.link_elsewhere())
            }
            other => self.email_signed_in(v, other, "").await,
        }
    }

    fn link_elsewhere(&self) -> Response {
        let page = views::Message {
            chrome: self.chrome(None, None),
            title: text::LINK_ELSEWHERE_TITLE,
            text: text::LINK_ELSEWHERE,
        };
        self.page(StatusCode::FORBIDDEN, &page, Vec::new())
    }

    /// A finished email sign-in: a session, or the second factor, or back
    /// to the start.
    async fn email_signed_in(
        &self,
        v: &Visit,
        finished: Result<crate::actions::Said<proto::answers::SignedIn>, Refused>,
        rd: &str,
    ) -> Result<Response, Fault> {
        let clear = self.cookies.clear(Which::EmailAttempt);
        let mut res = match finished {
            Ok(said) => self.start_session(v, said.answer.user_id, rd).await?,
            Err(Refused::No(no)) if no.reason == Refusal::SecondFactorRequired => {
                self.second_step(&no, rd)?
            }
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(_)) => {
                let to = self.to_page("login", Some(text::Notice::Expired));
                self.redirect(&to, Vec::new())
            }
        };
        if let Some(c) = clear {
            res.headers_mut().append(warp::http::header::SET_COOKIE, c);
        }
        Ok(res)
    }
}
