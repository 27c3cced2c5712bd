//! A typed method per request type: parameters from [`params`], answers as
//! [`responses`] structs, failures as [`Error`].

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{Client, Error, params, responses};

impl Client {
    /// Sends `name` with `params` and reads a successful answer as `R`.
    async fn call<P: Serialize, R: DeserializeOwned>(
        &self,
        name: &str,
        params: &P,
    ) -> Result<R, Error> {
        let answer = self.answer(name, params).await?;
        serde_json::from_value(answer)
            .map_err(|e| Error::Protocol(format!("`{name}` answered an unexpected shape: {e}")))
    }

    /// A yes/no question: `reason` is the refusal that means "no".
    async fn decide<P: Serialize>(&self, name: &str, params: &P, no: &str) -> Result<bool, Error> {
        match self.answer(name, params).await {
            Ok(_) => Ok(true),
            Err(Error::Refused { failure_reason, .. }) if failure_reason == no => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The `response` fields of a successful answer.
    async fn answer<P: Serialize>(&self, name: &str, params: &P) -> Result<Value, Error> {
        let body = serde_json::to_value(params).map_err(|e| Error::Protocol(e.to_string()))?;
        let reply = self.request(name, body).await?;
        if reply.status != 200 {
            return Err(Error::Status {
                status: reply.status,
                message: reply.failure_reason.unwrap_or_default(),
                retry_after: reply.retry_after,
            });
        }
        if !reply.success {
            return Err(Error::Refused {
                failure_reason: reply.failure_reason.unwrap_or_default(),
                messages: reply.messages,
                response: reply.response,
            });
        }
        Ok(reply.response)
    }

    /// `session-new`.
    pub async fn session_new(
        &self,
        p: &params::SessionNew,
    ) -> Result<responses::NewSession, Error> {
        self.call("session-new", p).await
    }

    /// `session-exists`.
    pub async fn session_exists(
        &self,
        p: &params::SessionExists,
    ) -> Result<responses::SessionInfo, Error> {
        self.call::<_, responses::SessionInfoField>("session-exists", p)
            .await
            .map(|r| r.session_info)
    }

    /// `session-delete`.
    pub async fn session_delete(&self, p: &params::SessionDelete) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("session-delete", p)
            .await
            .map(|_| ())
    }

    /// `session-delete-userid`.
    pub async fn session_delete_userid(
        &self,
        p: &params::SessionDeleteUserid,
    ) -> Result<u64, Error> {
        self.call::<_, responses::Deleted>("session-delete-userid", p)
            .await
            .map(|r| r.deleted)
    }

    /// `user-login`.
    pub async fn user_login(&self, p: &params::UserLogin) -> Result<responses::LoggedIn, Error> {
        self.call("user-login", p).await
    }

    /// `user-logout`.
    pub async fn user_logout(&self, p: &params::UserLogout) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-logout", p)
            .await
            .map(|_| ())
    }

    /// `user-passcheck`.
    pub async fn user_passcheck(
        &self,
        p: &params::UserPasscheck,
    ) -> Result<responses::LoggedIn, Error> {
        self.call("user-passcheck", p).await
    }

    /// `user-passcheck-nosession`.
    pub async fn user_passcheck_nosession(
        &self,
        p: &params::UserPasscheckNosession,
    ) -> Result<responses::LoggedIn, Error> {
        self.call("user-passcheck-nosession", p).await
    }

    /// `user-new`.
    pub async fn user_new(&self, p: &params::UserNew) -> Result<responses::NewUser, Error> {
        self.call("user-new", p).await
    }

    /// `user-changepass`.
    pub async fn user_changepass(&self, p: &params::UserChangepass) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-changepass", p)
            .await
            .map(|_| ())
    }

    /// `user-changepass-nosession`.
    pub async fn user_changepass_nosession(
        &self,
        p: &params::UserChangepassNosession,
    ) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-changepass-nosession", p)
            .await
            .map(|_| ())
    }

    /// `user-delete`.
    pub async fn user_delete(&self, p: &params::UserDelete) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-delete", p)
            .await
            .map(|_| ())
    }

    /// `user-list`.
    pub async fn user_list(&self, p: &params::UserList) -> Result<Vec<responses::UserInfo>, Error> {
        self.call::<_, responses::UserInfoList>("user-list", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-lookup-email`.
    pub async fn user_lookup_email(
        &self,
        p: &params::UserLookupEmail,
    ) -> Result<responses::UserInfo, Error> {
        self.call::<_, responses::UserInfoField>("user-lookup-email", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-lookup-match`.
    pub async fn user_lookup_match(
        &self,
        p: &params::UserLookupMatch,
    ) -> Result<Vec<responses::UserInfo>, Error> {
        self.call::<_, responses::UserInfoList>("user-lookup-match", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-edit`.
    pub async fn user_edit(&self, p: &params::UserEdit) -> Result<responses::UserInfo, Error> {
        self.call::<_, responses::UserInfoField>("user-edit", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-resetpass`.
    pub async fn user_resetpass(&self, p: &params::UserResetpass) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-resetpass", p)
            .await
            .map(|_| ())
    }

    /// `user-resetpass-nosession`.
    pub async fn user_resetpass_nosession(
        &self,
        p: &params::UserResetpassNosession,
    ) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-resetpass-nosession", p)
            .await
            .map(|_| ())
    }

    /// `user-lock`.
    pub async fn user_lock(&self, p: &params::UserLock) -> Result<responses::UserInfo, Error> {
        self.call::<_, responses::UserInfoField>("user-lock", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-validatepass`.
    pub async fn user_validatepass(&self, p: &params::UserValidatepass) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("user-validatepass", p)
            .await
            .map(|_| ())
    }

    /// `user-sendemail-signup`.
    pub async fn user_sendemail_signup(
        &self,
        p: &params::UserSendemailSignup,
    ) -> Result<responses::SignupMailSent, Error> {
        self.call("user-sendemail-signup", p).await
    }

    /// `user-sendemail-forgotpass`.
    pub async fn user_sendemail_forgotpass(
        &self,
        p: &params::UserSendemailForgotpass,
    ) -> Result<responses::ForgotMailSent, Error> {
        self.call("user-sendemail-forgotpass", p).await
    }

    /// `user-set-emailverified`.
    pub async fn user_set_emailverified(
        &self,
        p: &params::UserSetEmailverified,
    ) -> Result<responses::EmailVerified, Error> {
        self.call("user-set-emailverified", p).await
    }

    /// `user-set-emailsent`.
    pub async fn user_set_emailsent(
        &self,
        p: &params::UserSetEmailsent,
    ) -> Result<responses::EmailSent, Error> {
        self.call("user-set-emailsent", p).await
    }

    /// `apikey-new`.
    pub async fn apikey_new(&self, p: &params::ApikeyNew) -> Result<responses::ApiKey, Error> {
        self.call("apikey-new", p).await
    }

    /// `apikey-verify`.
    pub async fn apikey_verify(&self, p: &params::ApikeyVerify) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("apikey-verify", p)
            .await
            .map(|_| ())
    }

    /// `apikey-revoke`.
    pub async fn apikey_revoke(&self, p: &params::ApikeyRevoke) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("apikey-revoke", p)
            .await
            .map(|_| ())
    }

    /// `apikey-new-nosession`.
    pub async fn apikey_new_nosession(
        &self,
        p: &params::ApikeyNewNosession,
    ) -> Result<responses::ApiKeyWithRefresh, Error> {
        self.call("apikey-new-nosession", p).await
    }

    /// `apikey-verify-nosession`.
    pub async fn apikey_verify_nosession(
        &self,
        p: &params::ApikeyVerifyNosession,
    ) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("apikey-verify-nosession", p)
            .await
            .map(|_| ())
    }

    /// `apikey-revoke-nosession`.
    pub async fn apikey_revoke_nosession(
        &self,
        p: &params::ApikeyRevokeNosession,
    ) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("apikey-revoke-nosession", p)
            .await
            .map(|_| ())
    }

    /// `apikey-revokeall-nosession`.
    pub async fn apikey_revokeall_nosession(
        &self,
        p: &params::ApikeyRevokeallNosession,
    ) -> Result<u64, Error> {
        self.call::<_, responses::Revoked>("apikey-revokeall-nosession", p)
            .await
            .map(|r| r.revoked_keys)
    }

    /// `apikey-refresh-nosession`.
    pub async fn apikey_refresh_nosession(
        &self,
        p: &params::ApikeyRefreshNosession,
    ) -> Result<responses::ApiKeyWithRefresh, Error> {
        self.call("apikey-refresh-nosession", p).await
    }

    /// `user-check-access`.
    /// `Ok(false)` when the answer is no (`action not permitted`); `Err` when the
    /// question could not be answered (unknown or inactive users…).
    pub async fn user_check_access(&self, p: &params::UserCheckAccess) -> Result<bool, Error> {
        self.decide("user-check-access", p, "action not permitted")
            .await
    }

    /// `user-check-limit`.
    /// `Ok(false)` when the answer is no (`user is over limit`); `Err` when the
    /// question could not be answered (unknown or inactive users…).
    pub async fn user_check_limit(&self, p: &params::UserCheckLimit) -> Result<bool, Error> {
        self.decide("user-check-limit", p, "user is over limit")
            .await
    }

    /// `internal-user-lock`.
    pub async fn internal_user_lock(
        &self,
        p: &params::InternalUserLock,
    ) -> Result<responses::UserInfo, Error> {
        self.call::<_, responses::UserInfoField>("internal-user-lock", p)
            .await
            .map(|r| r.user_info)
    }

    /// `internal-user-delete`.
    pub async fn internal_user_delete(&self, p: &params::InternalUserDelete) -> Result<(), Error> {
        self.call::<_, responses::Nothing>("internal-user-delete", p)
            .await
            .map(|_| ())
    }

    /// `internal-user-edit`.
    pub async fn internal_user_edit(
        &self,
        p: &params::InternalUserEdit,
    ) -> Result<responses::UserInfo, Error> {
        self.call::<_, responses::UserInfoField>("internal-user-edit", p)
            .await
            .map(|r| r.user_info)
    }

    /// `internal-session-edit`.
    pub async fn internal_session_edit(
        &self,
        p: &params::InternalSessionEdit,
    ) -> Result<responses::SessionRecord, Error> {
        self.call::<_, responses::SessionRecordField>("internal-session-edit", p)
            .await
            .map(|r| r.session_info)
    }

    /// `passwordless-start`.
    pub async fn passwordless_start(
        &self,
        p: &params::PasswordlessStart,
    ) -> Result<responses::PasswordlessStarted, Error> {
        self.call("passwordless-start", p).await
    }

    /// `passwordless-finish`.
    pub async fn passwordless_finish(
        &self,
        p: &params::PasswordlessFinish,
    ) -> Result<responses::SignedIn, Error> {
        self.call("passwordless-finish", p).await
    }
}
