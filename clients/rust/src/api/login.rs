//! Logging in and out, and password checks: `user-login`, `user-logout`,
//! `user-passcheck`, `user-passcheck-nosession`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

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
    ///         code: None,
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
        self.send(p).await
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
        self.send(p).await.map(drop)
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
    ///         code: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_passcheck(&self, p: &UserPasscheck) -> Result<LoggedIn, Error> {
        self.send(p).await
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
    ///         code: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_passcheck_nosession(
        &self,
        p: &UserPasscheckNosession,
    ) -> Result<LoggedIn, Error> {
        self.send(p).await
    }
}
