//! Email verification and password-reset mail: `user-sendemail-signup`,
//! `user-sendemail-forgotpass`, `user-set-emailverified`,
//! `user-set-emailsent`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

impl Client {
    /// `user-sendemail-signup`: mails the verification link for a new
    /// account.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserSendemailSignup;
    /// let sent = client
    ///     .user_sendemail_signup(&UserSendemailSignup {
    ///         email_address: "ada@example.com".into(),
    ///         session_token: "…".into(),
    ///         created_info: serde_json::Map::new(),
    ///         server_name: "Example".into(),
    ///         server_baseurl: "https://example.com".into(),
    ///         account_verify_url: Some("/users/verify".into()),
    ///         verification_token: "token the frontend will check".into(),
    ///         verification_expiry: 900,
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_sendemail_signup(
        &self,
        p: &UserSendemailSignup,
    ) -> Result<SignupMailSent, Error> {
        self.send(p).await
    }

    /// `user-sendemail-forgotpass`: mails the password-reset link.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserSendemailForgotpass;
    /// let sent = client
    ///     .user_sendemail_forgotpass(&UserSendemailForgotpass {
    ///         email_address: "ada@example.com".into(),
    ///         session_token: "…".into(),
    ///         server_name: "Example".into(),
    ///         server_baseurl: "https://example.com".into(),
    ///         password_forgot_url: "/users/forgot-password-step2".into(),
    ///         verification_token: "token the frontend will check".into(),
    ///         verification_expiry: 900,
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_sendemail_forgotpass(
        &self,
        p: &UserSendemailForgotpass,
    ) -> Result<ForgotMailSent, Error> {
        self.send(p).await
    }

    /// `user-set-emailverified`: the address is verified; the account
    /// becomes active with role `authenticated`.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserSetEmailverified;
    /// let user = client
    ///     .user_set_emailverified(&UserSetEmailverified { email: "ada@example.com".into() })
    ///     .await?;
    /// assert!(user.is_active);
    /// # Ok(()) }
    /// ```
    pub async fn user_set_emailverified(
        &self,
        p: &UserSetEmailverified,
    ) -> Result<EmailVerified, Error> {
        self.send(p).await
    }

    /// `user-set-emailsent`: records that the frontend sent a mail itself.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserSetEmailsent;
    /// client
    ///     .user_set_emailsent(&UserSetEmailsent {
    ///         email: "ada@example.com".into(),
    ///         email_type: "signup".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_set_emailsent(&self, p: &UserSetEmailsent) -> Result<EmailSent, Error> {
        self.send(p).await
    }
}
