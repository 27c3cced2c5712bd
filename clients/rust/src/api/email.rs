//! Email verification and password-reset mail: `user-sendemail-signup`,
//! `user-sendemail-forgotpass`, `user-set-emailverified`,
//! `user-set-emailsent`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Client, Error};

/// Parameters of `user-sendemail-signup`. The `email*` fields override the
/// server's mail settings for this message.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSendemailSignup {
    pub email_address: String,
    pub session_token: String,
    /// What [`user_new`](Client::user_new) answered, as an object.
    pub created_info: Map<String, Value>,
    pub server_name: String,
    pub server_baseurl: String,
    /// The verification page (authnzerver's schema name);
    /// `account_verify_url` is accepted too.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_verify_url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_verify_url: Option<String>,
    /// The token the frontend generated and will check on that page.
    pub verification_token: String,
    /// Seconds the token stays valid.
    pub verification_expiry: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailuser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailpass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailserver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailport: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailsender: Option<String>,
}

/// Parameters of `user-sendemail-forgotpass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSendemailForgotpass {
    pub email_address: String,
    pub session_token: String,
    pub server_name: String,
    pub server_baseurl: String,
    pub password_forgot_url: String,
    pub verification_token: String,
    /// Seconds the token stays valid.
    pub verification_expiry: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailuser: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailpass: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailserver: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailport: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub emailsender: Option<String>,
}

/// Parameters of `user-set-emailverified`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSetEmailverified {
    pub email: String,
}

/// Parameters of `user-set-emailsent`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserSetEmailsent {
    pub email: String,
    /// `signup` or `forgotpass`.
    pub email_type: String,
}

/// Answer of `user-sendemail-signup`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignupMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailverify_sent_datetime: String,
}

/// Answer of `user-sendemail-forgotpass`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ForgotMailSent {
    pub user_id: i64,
    pub email_address: String,
    pub emailforgotpass_sent_datetime: String,
}

/// Answer of `user-set-emailverified`: the account, now active.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailVerified {
    pub user_id: i64,
    pub is_active: bool,
    pub user_role: String,
}

/// Answer of `user-set-emailsent`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailSent {
    pub user_id: i64,
    pub email: String,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailforgotpass_sent_datetime: Option<String>,
}

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
        self.call("user-sendemail-signup", p).await
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
        self.call("user-sendemail-forgotpass", p).await
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
        self.call("user-set-emailverified", p).await
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
        self.call("user-set-emailsent", p).await
    }
}
