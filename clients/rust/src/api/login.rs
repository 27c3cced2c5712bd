//! Logging in and out, and password checks: `user-login`, `user-logout`,
//! `user-passcheck`, `user-passcheck-nosession`.

use serde::{Deserialize, Serialize};

use crate::{Client, Error};

/// Parameters of `user-login`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLogin {
    /// The visitor's current (anonymous) session; the server deletes it.
    pub session_token: String,
    pub email: String,
    pub password: String,
}

/// Parameters of `user-logout`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLogout {
    pub session_token: String,
    pub user_id: i64,
}

/// Parameters of `user-passcheck`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserPasscheck {
    pub session_token: String,
    pub password: String,
}

/// Parameters of `user-passcheck-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserPasscheckNosession {
    pub email: String,
    pub password: String,
}

/// Answer of `user-login`, `user-passcheck` and
/// `user-passcheck-nosession`: whose password it was.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct LoggedIn {
    pub user_id: i64,
    pub user_role: String,
}

impl Client {
    /// `user-login`: checks the password of a verified, active account.
    /// The server deletes the session it was called with whatever the
    /// outcome; on success make a new one for the user with
    /// [`session_new`](Client::session_new). A wrong password, an unknown
    /// address, an inactive or locked account are all [`Error::Refused`]
    /// (tell them apart by `failure_reason`, never to the end user).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::{SessionNew, UserLogin};
    /// let me = client
    ///     .user_login(&UserLogin {
    ///         session_token: "the anonymous session".into(),
    ///         email: "ada@example.com".into(),
    ///         password: "correct horse battery staple".into(),
    ///     })
    ///     .await?;
    /// let session = client
    ///     .session_new(&SessionNew {
    ///         ip_address: "203.0.113.7".into(),
    ///         user_agent: "Mozilla/5.0".into(),
    ///         user_id: Some(me.user_id),
    ///         expires: "2030-01-01T00:00:00Z".into(),
    ///         extra_info_json: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_login(&self, p: &UserLogin) -> Result<LoggedIn, Error> {
        self.call("user-login", p).await
    }

    /// `user-logout`: ends the user's session; a session of someone else
    /// is [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserLogout;
    /// client
    ///     .user_logout(&UserLogout { session_token: "…".into(), user_id: 4 })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_logout(&self, p: &UserLogout) -> Result<(), Error> {
        self.call_unit("user-logout", p).await
    }

    /// `user-passcheck`: checks the password of the session's user (before
    /// a sensitive action, say). Failures count toward lockout.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserPasscheck;
    /// let who = client
    ///     .user_passcheck(&UserPasscheck {
    ///         session_token: "…".into(),
    ///         password: "correct horse battery staple".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_passcheck(&self, p: &UserPasscheck) -> Result<LoggedIn, Error> {
        self.call("user-passcheck", p).await
    }

    /// `user-passcheck-nosession`: checks an address and password without
    /// a session (HTTP basic auth in front of an API, say).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserPasscheckNosession;
    /// let who = client
    ///     .user_passcheck_nosession(&UserPasscheckNosession {
    ///         email: "ada@example.com".into(),
    ///         password: "correct horse battery staple".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_passcheck_nosession(
        &self,
        p: &UserPasscheckNosession,
    ) -> Result<LoggedIn, Error> {
        self.call("user-passcheck-nosession", p).await
    }
}
