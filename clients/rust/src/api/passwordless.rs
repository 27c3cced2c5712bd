//! authnzd's passwordless sign-in by email or SMS: `passwordless-start`,
//! `passwordless-finish`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

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
        self.send(p).await
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
        self.send(p).await
    }
}
