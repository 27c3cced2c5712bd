//! Getting back in and getting an account: a password reset by a mailed
//! link (`login/forgot`, `login/reset`), the address-verification landing
//! (`verify`), and sign-up (`signup`, only with `portal_signup`). The
//! links' tokens are the domain's (`actions::links`); the mails are sent by
//! `user-sendemail-forgotpass` / `-signup` after the answer, so an answer
//! never says, by its words or its time, whether an address has an account.

use std::sync::Arc;

use authnzd_proto as proto;
use serde_json::{Map, Value};
use warp::http::{HeaderValue, StatusCode};
use warp::reply::Response;

use super::{Form, Portal, Visit, csrf};
use crate::actions::{Ctx, Fault, Refusal, Refused, email, links, password, user};
use crate::app::App;
use crate::logging::Escaped;
use crate::views::{self, text};

/// A form page's pre-login session: its CSRF token and cookie, or the
/// answer to give instead (the wait for too many new sessions).
struct Shown {
    csrf: String,
    cookies: Vec<HeaderValue>,
}

impl Portal {
    pub(super) fn signup_on(&self) -> bool {
        self.app.config.portal.portal_signup
    }

    async fn shown(&self, v: &Visit) -> Result<Result<Shown, Response>, Fault> {
        match self.pre_login(v).await? {
            Ok((token, cookie)) => Ok(Ok(Shown {
                csrf: csrf::token(&self.app, &token),
                cookies: cookie.into_iter().collect(),
            })),
            Err(wait) => Ok(Err(
                self.error_page(StatusCode::TOO_MANY_REQUESTS, &text::too_many(wait))
            )),
        }
    }

    /// A page that only says something, with a title.
    fn said(&self, status: StatusCode, title: &str, said: &str) -> Response {
        let page = views::Message {
            chrome: self.chrome(None, None),
            title,
            text: said,
        };
        self.page(status, &page, Vec::new())
    }

    /// The portal's origin, as the mail templates write it before a path.
    fn mail_base(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// `path` (under the base) with `?token=` the token, as a mail links it.
    fn link_path(&self, path: &str, token: &str) -> String {
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        format!("{}{path}?token={encoded}", self.base.path())
    }

    // --- Forgot password ---

    pub(super) async fn forgot_page(&self, v: &Visit) -> Result<Response, Fault> {
        self.forgot_form(v, StatusCode::OK, "", None).await
    }

    async fn forgot_form(
        &self,
        v: &Visit,
        status: StatusCode,
        email: &str,
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let shown = match self.shown(v).await? {
            Ok(s) => s,
            Err(res) => return Ok(res),
        };
        let page = views::Forgot {
            chrome: self.chrome(None, error),
            csrf: &shown.csrf,
            email,
        };
        Ok(self.page(status, &page, shown.cookies))
    }

    /// The same answer whether or not the address has an account: the token
    /// is made either way, and the mail (or the domain's refusal of it)
    /// happens after the answer.
    pub(super) async fn forgot_submit(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let email = form.get("email").trim();
        let Some(pre_login) = self.checked_pre_login(v, form).await? else {
            let expired = Some(text::FORM_EXPIRED);
            return self
                .forgot_form(v, StatusCode::BAD_REQUEST, email, expired)
                .await;
        };
        if let Some(wait) = self
            .over_limit("user-sendemail-forgotpass", v, Some(email))
            .await?
        {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.forgot_form(v, status, email, Some(&error)).await;
        }
        let ttl = self.app.config.portal.portal_reset_ttl;
        let token = links::reset_token(&self.app, email, ttl).await?;
        let p = proto::UserSendemailForgotpass {
            email_address: email.to_owned(),
            session_token: pre_login.into(),
            server_name: self.app.config.server.server_name.clone(),
            server_baseurl: self.mail_base(),
            password_forgot_url: self.link_path("login/reset", &token),
            verification_token: token.into(),
            verification_expiry: i64::try_from(ttl).unwrap_or(i64::MAX),
            emailuser: None,
            emailpass: None,
            emailserver: None,
            emailport: None,
            emailsender: None,
        };
        let (app, ctx) = (self.app.clone(), v.ctx());
        tokio::spawn(async move {
            let sent = email::forgotpass(app, ctx, p).await;
            after_send("forgotpass", sent.map(drop));
        });
        Ok(self.said(StatusCode::OK, text::CHECK_EMAIL_TITLE, text::FORGOT_SENT))
    }

    fn reset_link_dead(&self) -> Response {
        self.said(
            StatusCode::BAD_REQUEST,
            text::LINK_DEAD_TITLE,
            text::RESET_LINK_DEAD,
        )
    }

    pub(super) async fn reset_page(&self, v: &Visit) -> Result<Response, Fault> {
        let token = v.query_value("token").unwrap_or_default();
        self.reset_form(v, StatusCode::OK, &token, None).await
    }

    /// The new-password form of a link that still works, else says it
    /// does not.
    async fn reset_form(
        &self,
        v: &Visit,
        status: StatusCode,
        token: &str,
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let Some(target) = links::open_reset(&self.app, token).await? else {
            return Ok(self.reset_link_dead());
        };
        let shown = match self.shown(v).await? {
            Ok(s) => s,
            Err(res) => return Ok(res),
        };
        let page = views::Reset {
            chrome: self.chrome(None, error),
            csrf: &shown.csrf,
            token,
            email: &target.email,
        };
        Ok(self.page(status, &page, shown.cookies))
    }

    /// Sets the new password as `user-resetpass` does (every session ends
    /// and, with `revoke_all_on_password_reset`, every other credential);
    /// the link dies with the old password, once even under a race.
    pub(super) async fn reset_submit(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let token = form.get("token");
        if self.checked_pre_login(v, form).await?.is_none() {
            let expired = Some(text::FORM_EXPIRED);
            return self
                .reset_form(v, StatusCode::BAD_REQUEST, token, expired)
                .await;
        };
        if let Some(wait) = self.over_limit("user-resetpass", v, None).await? {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.reset_form(v, status, token, Some(&error)).await;
        }
        let new_password = form.get("new_password");
        let reset = password::reset_by_link(self.app.clone(), v.ctx(), token, new_password);
        match reset.await {
            // Dead (expired, spent — also by a reset at the same moment).
            Err(Refused::No(no))
                if matches!(
                    no.reason,
                    Refusal::ResetTargetInvalid | Refusal::PasswordChangedMeanwhile
                ) =>
            {
                Ok(self.reset_link_dead())
            }
            Ok(_) => {
                let to = self.to_page("login", Some(text::Notice::PasswordReset));
                Ok(self.redirect(&to, Vec::new()))
            }
            Err(Refused::Fault(f)) => Err(f),
            // The policy's words, or "the same as the old one".
            Err(Refused::No(no)) => {
                let said = no.messages.join(" ");
                let error = if said.trim().is_empty() {
                    text::UNAVAILABLE
                } else {
                    &said
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                self.reset_form(v, status, token, Some(error)).await
            }
        }
    }

    // --- Verifying an address ---

    /// `GET verify?token=…`: the address is verified (a pending sign-up
    /// becomes an account) and on to sign in.
    pub(super) async fn verify_link(&self, v: &Visit) -> Result<Response, Fault> {
        let dead = || {
            self.said(
                StatusCode::BAD_REQUEST,
                text::LINK_DEAD_TITLE,
                text::VERIFY_LINK_DEAD,
            )
        };
        if let Some(wait) = self.over_limit("user-set-emailverified", v, None).await? {
            let error = text::too_many(wait);
            return Ok(self.error_page(StatusCode::TOO_MANY_REQUESTS, &error));
        }
        let token = v.query_value("token").unwrap_or_default();
        let Some(target) = links::open_verify(&self.app, &token).await? else {
            return Ok(dead());
        };
        let p = proto::UserSetEmailverified {
            email: target.email,
        };
        match user::set_email_verified(self.app.clone(), v.ctx(), p).await {
            Ok(_) => {
                let to = self.to_page("login", Some(text::Notice::EmailVerified));
                Ok(self.redirect(&to, Vec::new()))
            }
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(_)) => Ok(dead()),
        }
    }

    // --- Sign-up ---

    pub(super) async fn signup_page(&self, v: &Visit) -> Result<Response, Fault> {
        self.signup_form(v, StatusCode::OK, ("", ""), None).await
    }

    async fn signup_form(
        &self,
        v: &Visit,
        status: StatusCode,
        (email, full_name): (&str, &str),
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let shown = match self.shown(v).await? {
            Ok(s) => s,
            Err(res) => return Ok(res),
        };
        let page = views::Signup {
            chrome: self.chrome(None, error),
            csrf: &shown.csrf,
            email,
            full_name,
        };
        Ok(self.page(status, &page, shown.cookies))
    }

    /// A new account through `user-new` (inactive until its address is
    /// verified; its role is the domain's), and the verification mail after
    /// the answer. An address that has an account gets the same page (and a
    /// mail only when the domain replaced a stale sign-up of it).
    pub(super) async fn signup_submit(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let (email, full_name) = (form.get("email").trim(), form.get("full_name").trim());
        let typed = (email, full_name);
        let Some(pre_login) = self.checked_pre_login(v, form).await? else {
            let expired = Some(text::FORM_EXPIRED);
            return self
                .signup_form(v, StatusCode::BAD_REQUEST, typed, expired)
                .await;
        };
        if let Some(wait) = self.over_limit("user-new", v, Some(email)).await? {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.signup_form(v, status, typed, Some(&error)).await;
        }
        let p = proto::UserNew {
            full_name: full_name.to_owned(),
            email: email.to_owned(),
            password: form.get("password").into(),
            extra_info: None,
            verify_retry_wait: None,
            system_id: None,
        };
        let to_verify = match user::new(self.app.clone(), v.ctx(), p).await {
            Ok(said) => Some((said.answer.user_id, said.answer.user_email)),
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::UserExists => {
                let field = |k: &str| no.fields.get(k).cloned().unwrap_or(Value::Null);
                match (
                    field("send_verification").as_bool(),
                    field("user_id").as_i64(),
                    field("user_email").as_str(),
                ) {
                    (Some(true), Some(id), Some(address)) => Some((id, address.to_owned())),
                    _ => None,
                }
            }
            // The address's shape, the name, the password policy: said, as
            // they say nothing of other accounts.
            Err(Refused::No(no)) => {
                let said = no.messages.join(" ");
                let error = if said.trim().is_empty() {
                    text::UNAVAILABLE
                } else {
                    &said
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                return self.signup_form(v, status, typed, Some(error)).await;
            }
        };
        if let Some((user_id, address)) = to_verify {
            let mail = SignupMail {
                app: self.app.clone(),
                ctx: v.ctx(),
                pre_login,
                server_baseurl: self.mail_base(),
                verify_path: self.base.path().to_owned(),
                user_id,
                address,
            };
            tokio::spawn(mail.send());
        }
        Ok(self.said(StatusCode::OK, text::CHECK_EMAIL_TITLE, text::SIGNUP_SENT))
    }
}

/// A verification mail to send after the sign-up's answer.
struct SignupMail {
    app: Arc<App>,
    ctx: Ctx,
    pre_login: String,
    server_baseurl: String,
    /// The portal's base path (the link goes to its `verify`).
    verify_path: String,
    user_id: i64,
    address: String,
}

impl SignupMail {
    async fn send(self) {
        let ttl = self.app.config.portal.portal_verify_ttl;
        let token = match links::verify_token(&self.app, self.user_id, &self.address, ttl).await {
            Ok(Some(t)) => t,
            // Gone or changed since: nothing to verify.
            Ok(None) => return,
            Err(e) => {
                tracing::error!(error = %Escaped(&e), "no verification link made");
                return;
            }
        };
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        let mut created = Map::new();
        created.insert("user_id".into(), self.user_id.into());
        created.insert("send_verification".into(), true.into());
        let p = proto::UserSendemailSignup {
            email_address: self.address,
            session_token: self.pre_login.into(),
            created_info: created,
            server_name: self.app.config.server.server_name.clone(),
            server_baseurl: self.server_baseurl,
            server_verify_url: Some(format!("{}verify?token={encoded}", self.verify_path)),
            account_verify_url: None,
            verification_token: token.into(),
            verification_expiry: i64::try_from(ttl).unwrap_or(i64::MAX),
            emailuser: None,
            emailpass: None,
            emailserver: None,
            emailport: None,
            emailsender: None,
        };
        let sent = email::signup(self.app.clone(), self.ctx, p).await;
        after_send("signup", sent.map(drop));
    }
}

/// A mail sent after the answer: a fault is logged; a refusal (no such
/// account, one reset mail a day) is the domain's, as it would have been.
fn after_send(kind: &str, sent: Result<(), Refused>) {
    match sent {
        Ok(_) => {}
        Err(Refused::Fault(f)) => {
            tracing::error!(error = %Escaped(&f), kind, "portal mail not sent");
        }
        Err(Refused::No(no)) => {
            tracing::debug!(reason = %no.reason, kind, "portal mail refused");
        }
    }
}
