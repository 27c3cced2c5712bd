//! Requests for a trusted frontend only, with no caller checks:
//! `internal-user-lock`, `internal-user-delete`, `internal-user-edit`,
//! `internal-session-edit`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

impl Client {
    /// `internal-user-lock`: locks or unlocks an account.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::InternalUserLock;
    /// let user = client
    ///     .internal_user_lock(&InternalUserLock {
    ///         target_userid: 4,
    ///         action: "unlock".into(),
    ///         restore_role: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn internal_user_lock(&self, p: &InternalUserLock) -> Result<UserInfo, Error> {
        self.send(p).await.map(|r| r.user_info)
    }

    /// `internal-user-delete`: deletes an account and its sessions.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::InternalUserDelete;
    /// client
    ///     .internal_user_delete(&InternalUserDelete { target_userid: 4 })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn internal_user_delete(&self, p: &InternalUserDelete) -> Result<(), Error> {
        self.send(p).await.map(drop)
    }

    /// `internal-user-edit`: edits any account; answers it as it now is.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::InternalUserEdit;
    /// let serde_json::Value::Object(update) = serde_json::json!({
    ///     "extra_info": {"team": "analytics", "old_key": "__delete__"},
    /// }) else { unreachable!() };
    /// let user = client
    ///     .internal_user_edit(&InternalUserEdit { target_userid: 4, update_dict: update })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn internal_user_edit(&self, p: &InternalUserEdit) -> Result<UserInfo, Error> {
        self.send(p).await.map(|r| r.user_info)
    }

    /// `internal-session-edit`: edits a session's `extra_info_json`.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::InternalSessionEdit;
    /// let serde_json::Value::Object(update) = serde_json::json!({
    ///     "extra_info_json": {"cart": 3},
    /// }) else { unreachable!() };
    /// let session = client
    ///     .internal_session_edit(&InternalSessionEdit {
    ///         target_session_token: "…".into(),
    ///         update_dict: update,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn internal_session_edit(
        &self,
        p: &InternalSessionEdit,
    ) -> Result<SessionRecord, Error> {
        self.send(p).await.map(|r| r.session_info)
    }
}
