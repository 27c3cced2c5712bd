//! authnzd's passwordless sign-in by email or SMS: `passwordless-start`,
//! `passwordless-finish`.

use serde::{Deserialize, Serialize};

use crate::{Client, Error};

/// Parameters of `passwordless-start`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PasswordlessStart {
    /// `email` or `sms`.
    pub channel: String,
    /// An email address, or a phone number.
    pub address: String,
    /// Create the account on first success (email only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_user: Option<bool>,
    /// Handed back by `passwordless-finish`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
}

/// Parameters of `passwordless-finish`: `attempt_id` with `code`, or
/// `link_token` alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PasswordlessFinish {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attempt_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link_token: Option<String>,
    /// The visitor's current (anonymous) session, ended as `user-login`
    /// ends it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_token: Option<String>,
}

/// Answer of `passwordless-start`: the same whether or not the address has
/// an account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct PasswordlessStarted {
    pub attempt_id: String,
    pub expires: String,
    pub channel: String,
}

/// Answer of `passwordless-finish`: proceed as after `user-login`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SignedIn {
    pub user_id: i64,
    pub user_role: String,
    #[serde(default)]
    pub redirect_url: Option<String>,
}

impl Client {
    /// `passwordless-start`: sends a one-time code (and, by email, a
    /// single-use link).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::PasswordlessStart;
    /// let started = client
    ///     .passwordless_start(&PasswordlessStart {
    ///         channel: "email".into(),
    ///         address: "ada@example.com".into(),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// // Ask the user for the code; keep started.attempt_id.
    /// # Ok(()) }
    /// ```
    pub async fn passwordless_start(
        &self,
        p: &PasswordlessStart,
    ) -> Result<PasswordlessStarted, Error> {
        self.call("passwordless-start", p).await
    }

    /// `passwordless-finish`: checks the code or link; on success make a
    /// session for the user as after [`user_login`](Client::user_login).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::PasswordlessFinish;
    /// let me = client
    ///     .passwordless_finish(&PasswordlessFinish {
    ///         attempt_id: Some("from passwordless_start".into()),
    ///         code: Some("123456".into()),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn passwordless_finish(&self, p: &PasswordlessFinish) -> Result<SignedIn, Error> {
        self.call("passwordless-finish", p).await
    }
}
