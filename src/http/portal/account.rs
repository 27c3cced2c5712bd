//! The signed-in person's own page: sessions, password, two-factor set-up
//! (device keys, address and recovery codes in `credentials`).

use authnzd_proto as proto;
use warp::http::StatusCode;
use warp::reply::Response;

use super::{Form, Portal, Visit, csrf};
use crate::actions::{Fault, Refused, mfa, passkeys, password, pubkey, session, totp};
use crate::cache::CachedSession;
use crate::views::{self, text};

/// A signed-in request whose form came from a page shown to it.
pub(super) struct Checked {
    pub(super) token: String,
    pub(super) found: CachedSession,
    pub(super) csrf: String,
}

impl Portal {
    /// To the login page, coming back to `path` afterwards.
    pub(super) fn to_login(&self, path: &str, notice: Option<text::Notice>) -> Response {
        let mut to = self.to_page("login", notice);
        to.push(if notice.is_some() { '&' } else { '?' });
        to.push_str("rd=");
        let back = format!("{}{path}", self.base.path());
        to.extend(url::form_urlencoded::byte_serialize(back.as_bytes()));
        self.redirect(&to, Vec::new())
    }

    /// The session and a valid form token, or the answer to give instead.
    pub(super) async fn checked(
        &self,
        v: &Visit,
        form: &Form,
    ) -> Result<Result<Checked, Response>, Fault> {
        let Some((token, found)) = self.signed_in(v).await? else {
            return Ok(Err(self.to_login("account", None)));
        };
        if !csrf::valid(&self.app, &token, form.get("csrf")) {
            return Ok(Err(
                self.error_page(StatusCode::FORBIDDEN, text::FORM_EXPIRED)
            ));
        }
        let csrf = csrf::token(&self.app, &token);
        Ok(Ok(Checked { token, found, csrf }))
    }

    pub(super) async fn account_page(&self, v: &Visit) -> Result<Response, Fault> {
        let Some((token, found)) = self.signed_in(v).await? else {
            return Ok(self.to_login("account", None));
        };
        let notice = v.query_value("m").and_then(|m| text::Notice::parse(&m));
        let shown = notice.map(text::Notice::text);
        self.account(v, StatusCode::OK, (&token, &found), shown, None)
            .await
    }

    /// The account page of the session `token` names, with a notice or an
    /// error.
    pub(super) async fn account(
        &self,
        v: &Visit,
        status: StatusCode,
        (token, found): (&str, &CachedSession),
        notice: Option<&str>,
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let user_id = found.user.user_id;
        let p = proto::SessionList {
            user_id,
            session_token: Some(token.into()),
        };
        let sessions = match session::list(self.app.clone(), v.ctx(), p).await {
            Ok(said) => said.answer.sessions,
            Err(Refused::Fault(f)) => return Err(f),
            Err(Refused::No(_)) => Vec::new(),
        };
        let rows = sessions
            .into_iter()
            .map(|s| views::SessionRow {
                auth_time: s.auth_time.unwrap_or(s.created),
                ip_address: s.ip_address,
                user_agent: s.user_agent,
                amr: s
                    .amr
                    .methods()
                    .iter()
                    .map(|m| m.as_str())
                    .collect::<Vec<_>>()
                    .join(" + "),
                current: s.current,
            })
            .collect();
        let keys =
            match pubkey::list(self.app.clone(), v.ctx(), proto::PubkeyList { user_id }).await {
                Ok(said) => said.answer.keys,
                Err(Refused::Fault(f)) => return Err(f),
                Err(Refused::No(_)) => Vec::new(),
            };
        let keys = keys
            .into_iter()
            .map(|k| views::KeyRow {
                key_id: k.key_id,
                label: k.label.unwrap_or_default(),
                created: k.created,
                last_used: k.last_used.unwrap_or_default(),
            })
            .collect();
        let passkeys = if self.passkeys_on() {
            let p = proto::PasskeyList { user_id };
            match passkeys::list(self.app.clone(), v.ctx(), p).await {
                Ok(said) => said.answer.passkeys,
                Err(Refused::Fault(f)) => return Err(f),
                Err(Refused::No(_)) => Vec::new(),
            }
        } else {
            Vec::new()
        };
        let passkeys = passkeys
            .into_iter()
            .map(|k| views::KeyRow {
                key_id: k.passkey_id,
                label: k.label.unwrap_or_default(),
                created: k.created,
                last_used: k.last_used.unwrap_or_default(),
            })
            .collect();
        let totp_on = mfa::required(&self.app, user_id).await?;
        let csrf = csrf::token(&self.app, token);
        let page = views::Account {
            chrome: self.chrome(notice, error),
            csrf: &csrf,
            email: &found.user.email,
            sessions: rows,
            keys,
            totp_on,
            passkeys,
            pk: self.passkey_text(),
        };
        let mut res = self.page(status, &page, Vec::new());
        if page.pk.is_some() {
            Portal::allow_own_script(&mut res);
        }
        Ok(res)
    }

    /// The current password (and code, with TOTP on) prove the change
    /// themselves; the domain signs out the user's other sessions.
    pub(super) async fn password_change(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.checked(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        let session = (c.token.as_str(), &c.found);
        if let Some(wait) = self.over_limit("user-changepass", v, None).await? {
            let error = text::too_many(wait);
            let status = StatusCode::TOO_MANY_REQUESTS;
            return self.account(v, status, session, None, Some(&error)).await;
        }
        let user = &c.found.user;
        let code = Some(form.get("code").trim()).filter(|c| !c.is_empty());
        let p = proto::UserChangepass {
            user_id: user.user_id,
            session_token: c.token.clone().into(),
            full_name: user.full_name.clone().unwrap_or_default(),
            email: user.email.clone(),
            current_password: form.get("current_password").into(),
            new_password: form.get("new_password").into(),
            code: code.map(Into::into),
        };
        match password::changepass(self.app.clone(), v.ctx(), p).await {
            Ok(_) => {
                let to = self.to_page("account", Some(text::Notice::PasswordChanged));
                Ok(self.redirect(&to, Vec::new()))
            }
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => {
                let said = no.messages.join(" ");
                let error = if said.is_empty() {
                    text::UNAVAILABLE
                } else {
                    &said
                };
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                self.account(v, status, session, None, Some(error)).await
            }
        }
    }

    pub(super) async fn sign_out_others(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.checked(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        let p = proto::SessionDeleteOthers {
            session_token: c.token.into(),
            user_id: c.found.user.user_id,
        };
        match session::delete_others(self.app.clone(), v.ctx(), p).await {
            Ok(_) | Err(Refused::No(_)) => {}
            Err(Refused::Fault(f)) => return Err(f),
        }
        let to = self.to_page("account", Some(text::Notice::OthersSignedOut));
        Ok(self.redirect(&to, Vec::new()))
    }

    /// Two-factor set-up asks for a fresh sign-in first, as every
    /// credential change does.
    pub(super) async fn totp_start(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.checked(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if !mfa::freshly_signed_in(&self.app, &c.found).await? {
            return Ok(self.to_login("account", Some(text::Notice::SignInAgain)));
        }
        self.totp_page(v, &c, StatusCode::OK, None).await
    }

    /// A new secret and its QR code, with the form for the first code.
    async fn totp_page(
        &self,
        v: &Visit,
        c: &Checked,
        status: StatusCode,
        error: Option<&str>,
    ) -> Result<Response, Fault> {
        let p = proto::TotpEnrollStart {
            user_id: c.found.user.user_id,
        };
        let started = match totp::enroll_start(self.app.clone(), v.ctx(), p).await {
            Ok(said) => said.answer,
            Err(Refused::Fault(f)) => return Err(f),
            // Already on (another tab): the account page says so.
            Err(Refused::No(_)) => {
                return Ok(self.redirect(&self.to_page("account", None), Vec::new()));
            }
        };
        let page = views::Totp {
            chrome: self.chrome(None, error),
            csrf: &c.csrf,
            qr_svg: views::inline_svg(&started.qr_svg),
            secret: &started.secret,
        };
        Ok(self.page(status, &page, Vec::new()))
    }

    pub(super) async fn totp_confirm(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.checked(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if !mfa::freshly_signed_in(&self.app, &c.found).await? {
            return Ok(self.to_login("account", Some(text::Notice::SignInAgain)));
        }
        let p = proto::TotpEnrollFinish {
            user_id: c.found.user.user_id,
            code: form.get("code").trim().into(),
        };
        match totp::enroll_finish(self.app.clone(), v.ctx(), p).await {
            Ok(said) => {
                let codes = said.answer.recovery_codes;
                Ok(self.recovery_page(text::Notice::TotpOn, &codes))
            }
            Err(Refused::Fault(f)) => Err(f),
            // A wrong first code: the enrolment starts over with a new QR.
            Err(Refused::No(_)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                self.totp_page(v, &c, status, Some(text::WRONG_CONFIRM_CODE))
                    .await
            }
        }
    }
}

impl Portal {
    /// Recovery codes, shown once: the page's download link carries them
    /// in a `data:` URL, so the server keeps no copy to serve later.
    pub(super) fn recovery_page(&self, notice: text::Notice, codes: &[String]) -> Response {
        let file = codes.join("\n") + "\n";
        let page = views::Recovery {
            chrome: self.chrome(Some(notice.text()), None),
            codes,
            download: percent(&file),
        };
        self.page(StatusCode::OK, &page, Vec::new())
    }
}

/// Text as a `data:` URL's payload.
fn percent(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes())
        .collect::<String>()
        .replace('+', "%20")
}
