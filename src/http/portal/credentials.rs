//! The account page's credentials: device keys (rename, remove), the email
//! address (changed once a mailed link is opened), recovery codes and
//! turning two-factor off. Every change asks for a fresh sign-in, as
//! two-factor set-up does; the domain decides and audits.

use authnzd_proto as proto;
use warp::http::StatusCode;
use warp::reply::Response;

use super::account::Checked;
use super::{Form, Portal, Visit};
use crate::actions::user::email_change;
use crate::actions::{Fault, Refusal, Refused, mfa, pubkey, totp};
use crate::views::{self, text};

impl Portal {
    /// A signed-in request with a valid form token and a fresh sign-in, or
    /// the answer to give instead (sign in again, with the reason).
    pub(super) async fn fresh(
        &self,
        v: &Visit,
        form: &Form,
    ) -> Result<Result<Checked, Response>, Fault> {
        let c = match self.checked(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(Err(res)),
        };
        if !mfa::freshly_signed_in(&self.app, &c.found).await? {
            return Ok(Err(
                self.to_login("account", Some(text::Notice::SignInAgain))
            ));
        }
        Ok(Ok(c))
    }

    /// The account page again, saying what went wrong.
    async fn refused(
        &self,
        v: &Visit,
        c: &Checked,
        status: StatusCode,
        error: &str,
    ) -> Result<Response, Fault> {
        self.account(v, status, (&c.token, &c.found), None, Some(error))
            .await
    }

    /// The account page with the wait, when `request` is over its limit.
    pub(super) async fn limited(
        &self,
        v: &Visit,
        c: &Checked,
        request: &str,
        address: Option<&str>,
    ) -> Result<Option<Response>, Fault> {
        let Some(wait) = self.over_limit(request, v, address).await? else {
            return Ok(None);
        };
        let error = text::too_many(wait);
        let status = StatusCode::TOO_MANY_REQUESTS;
        self.refused(v, c, status, &error).await.map(Some)
    }

    pub(super) fn to_account(&self, notice: text::Notice) -> Response {
        self.redirect(&self.to_page("account", Some(notice)), Vec::new())
    }

    /// A device key's refusal: not the user's (or gone), or a bad label.
    async fn key_refused(
        &self,
        v: &Visit,
        c: &Checked,
        reason: &Refusal,
    ) -> Result<Response, Fault> {
        if *reason == Refusal::PubkeyNotFound {
            self.refused(v, c, StatusCode::NOT_FOUND, text::NO_SUCH_KEY)
                .await
        } else {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            self.refused(v, c, status, text::KEY_LABEL_INVALID).await
        }
    }

    /// Renames one of the signed-in user's own keys (the domain finds the
    /// key by the user and its id, so another's key is "no such key").
    pub(super) async fn key_rename(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "pubkey-rename", None).await? {
            return Ok(res);
        }
        let p = proto::PubkeyRename {
            user_id: c.found.user.user_id,
            key_id: form.get("key_id").into(),
            label: Some(form.get("label").into()),
        };
        match pubkey::rename(self.app.clone(), v.ctx(), p).await {
            Ok(_) => Ok(self.to_account(text::Notice::KeyRenamed)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.key_refused(v, &c, &no.reason).await,
        }
    }

    pub(super) async fn key_delete(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "pubkey-delete", None).await? {
            return Ok(res);
        }
        let p = proto::PubkeyDelete {
            user_id: c.found.user.user_id,
            key_id: form.get("key_id").into(),
        };
        match pubkey::delete(self.app.clone(), v.ctx(), p).await {
            Ok(_) => Ok(self.to_account(text::Notice::KeyRemoved)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.key_refused(v, &c, &no.reason).await,
        }
    }

    /// Mails a link to the new address; nothing changes until it is opened.
    /// Counted as mails to an address are (`user-sendemail-signup`).
    pub(super) async fn email_change(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        let asked = form.get("email").trim();
        let limit = "user-sendemail-signup";
        if let Some(res) = self.limited(v, &c, limit, Some(asked)).await? {
            return Ok(res);
        }
        let link = format!("{}account/email/verify?token=", self.base);
        let user_id = c.found.user.user_id;
        match email_change::request(self.app.clone(), v.ctx(), user_id, asked, &link).await {
            Ok(said) => {
                let text = text::email_change_sent(&said.answer);
                let page = views::Message {
                    chrome: self.chrome(None, None),
                    title: text::EMAIL_SENT_TITLE,
                    text: &text,
                };
                Ok(self.page(StatusCode::OK, &page, Vec::new()))
            }
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::VerificationMailFailed => {
                let status = StatusCode::SERVICE_UNAVAILABLE;
                self.refused(v, &c, status, text::MAIL_FAILED).await
            }
            Err(Refused::No(_)) => {
                let status = StatusCode::UNPROCESSABLE_ENTITY;
                self.refused(v, &c, status, text::EMAIL_UNUSABLE).await
            }
        }
    }

    /// `GET account/email/verify?token=…`: the mailed link. It works for
    /// the account that asked, signed in here (after signing in when not).
    pub(super) async fn email_verify(&self, v: &Visit) -> Result<Response, Fault> {
        let token = v.query_value("token").unwrap_or_default();
        let Some((_, found)) = self.signed_in(v).await? else {
            let back: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
            return Ok(self.to_login(&format!("account/email/verify?token={back}"), None));
        };
        let user_id = found.user.user_id;
        match email_change::confirm(self.app.clone(), v.ctx(), user_id, &token).await {
            Ok(_) => Ok(self.to_account(text::Notice::EmailChanged)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) if no.reason == Refusal::EmailInUse => {
                Ok(self.error_page(StatusCode::CONFLICT, text::EMAIL_TAKEN))
            }
            Err(Refused::No(_)) => {
                Ok(self.error_page(StatusCode::BAD_REQUEST, text::EMAIL_LINK_INVALID))
            }
        }
    }

    /// A code's refusal, said for a person.
    async fn code_refused(
        &self,
        v: &Visit,
        c: &Checked,
        reason: &Refusal,
    ) -> Result<Response, Fault> {
        let error = if *reason == Refusal::TotpCodeReused {
            text::CODE_REUSED
        } else {
            text::WRONG_ACCOUNT_CODE
        };
        self.refused(v, c, StatusCode::UNPROCESSABLE_ENTITY, error)
            .await
    }

    /// New recovery codes for a current code; shown once, as at set-up.
    pub(super) async fn recovery_regenerate(
        &self,
        v: &Visit,
        form: &Form,
    ) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        let limit = "totp-recovery-regenerate";
        if let Some(res) = self.limited(v, &c, limit, None).await? {
            return Ok(res);
        }
        let p = proto::TotpRecoveryRegenerate {
            user_id: c.found.user.user_id,
            code: form.get("code").trim().into(),
        };
        match totp::recovery_regenerate(self.app.clone(), v.ctx(), p).await {
            Ok(said) => {
                let codes = said.answer.recovery_codes;
                Ok(self.recovery_page(text::Notice::RecoveryRenewed, &codes))
            }
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.code_refused(v, &c, &no.reason).await,
        }
    }

    /// Turns two-factor off, for a current code.
    pub(super) async fn totp_off(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "totp-disable", None).await? {
            return Ok(res);
        }
        let p = proto::TotpDisable {
            user_id: c.found.user.user_id,
            code: form.get("code").trim().into(),
        };
        match totp::disable(self.app.clone(), v.ctx(), p).await {
            Ok(_) => Ok(self.to_account(text::Notice::TotpOff)),
            Err(Refused::Fault(f)) => Err(f),
            Err(Refused::No(no)) => self.code_refused(v, &c, &no.reason).await,
        }
    }
}
