//! Requests for a trusted frontend only, with no caller checks:
//! `internal-user-lock`, `internal-user-delete`, `internal-user-edit`,
//! `internal-session-edit`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::users::{UserInfo, UserInfoField};
use crate::{Client, Error};

/// Parameters of `internal-user-lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserLock {
    pub target_userid: i64,
    /// `lock` or `unlock`.
    pub action: String,
}

/// Parameters of `internal-user-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserDelete {
    pub target_userid: i64,
}

/// Parameters of `internal-user-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalUserEdit {
    pub target_userid: i64,
    /// Columns to set; `extra_info` is merged, a value `"__delete__"`
    /// removing its key.
    pub update_dict: Map<String, Value>,
}

/// Parameters of `internal-session-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct InternalSessionEdit {
    pub target_session_token: String,
    /// `extra_info_json` is merged as for `internal-user-edit`.
    pub update_dict: Map<String, Value>,
}

/// Answer of `internal-session-edit`: the session without its user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionRecord {
    pub user_id: i64,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
}

#[derive(Deserialize)]
struct SessionRecordField {
    session_info: SessionRecord,
}

impl Client {
    /// `internal-user-lock`: locks or unlocks an account.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::InternalUserLock;
    /// let user = client
    ///     .internal_user_lock(&InternalUserLock { target_userid: 4, action: "unlock".into() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn internal_user_lock(&self, p: &InternalUserLock) -> Result<UserInfo, Error> {
        self.call::<_, UserInfoField>("internal-user-lock", p)
            .await
            .map(|r| r.user_info)
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
        self.call_unit("internal-user-delete", p).await
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
        self.call::<_, UserInfoField>("internal-user-edit", p)
            .await
            .map(|r| r.user_info)
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
        self.call::<_, SessionRecordField>("internal-session-edit", p)
            .await
            .map(|r| r.session_info)
    }
}
