//! Sessions: `session-new`, `session-exists`, `session-delete`,
//! `session-delete-userid`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Client, Error};

/// Parameters of `session-new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionNew {
    /// The end user's address, as the frontend sees it.
    pub ip_address: String,
    pub user_agent: String,
    /// `None` for an anonymous session.
    pub user_id: Option<i64>,
    /// ISO 8601, e.g. `2030-01-01T00:00:00Z`.
    pub expires: String,
    pub extra_info_json: Option<Map<String, Value>>,
}

/// Parameters of `session-exists`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionExists {
    pub session_token: String,
}

/// Parameters of `session-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionDelete {
    pub session_token: String,
}

/// Parameters of `session-delete-userid`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SessionDeleteUserid {
    pub session_token: String,
    pub user_id: i64,
    /// Spare the session `session_token` names (log out everywhere else).
    pub keep_current_session: bool,
}

/// Answer of `session-new`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewSession {
    pub session_token: String,
    /// ISO 8601 UTC.
    pub expires: String,
}

/// Answer of `session-exists`: the session and its user.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SessionInfo {
    pub user_id: i64,
    pub user_role: String,
    pub email: String,
    pub full_name: Option<String>,
    pub email_verified: bool,
    pub is_active: bool,
    #[serde(default)]
    pub system_id: Option<String>,
    #[serde(default)]
    pub extra_info: Option<Value>,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub last_login_try: Option<String>,
    #[serde(default)]
    pub last_login_success: Option<String>,
    #[serde(default)]
    pub created_on: Option<String>,
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub created: String,
    pub expires: String,
    #[serde(default)]
    pub extra_info_json: Option<Value>,
}

#[derive(Deserialize)]
struct SessionInfoField {
    session_info: SessionInfo,
}

#[derive(Deserialize)]
struct Deleted {
    deleted: u64,
}

impl Client {
    /// `session-new`: starts a session, anonymous unless `user_id` is set.
    /// A frontend makes one for every visitor, and a fresh one for the user
    /// after [`user_login`](Client::user_login).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::SessionNew;
    /// let session = client
    ///     .session_new(&SessionNew {
    ///         ip_address: "203.0.113.7".into(),
    ///         user_agent: "Mozilla/5.0".into(),
    ///         user_id: None,
    ///         expires: "2030-01-01T00:00:00Z".into(),
    ///         extra_info_json: None,
    ///     })
    ///     .await?;
    /// println!("cookie: {} until {}", session.session_token, session.expires);
    /// # Ok(()) }
    /// ```
    pub async fn session_new(&self, p: &SessionNew) -> Result<NewSession, Error> {
        self.call("session-new", p).await
    }

    /// `session-exists`: the live session and its user. An unknown or
    /// expired token is [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::SessionExists;
    /// let token = "from the session cookie".to_owned();
    /// let info = client.session_exists(&SessionExists { session_token: token }).await?;
    /// println!("{} is {}", info.email, info.user_role);
    /// # Ok(()) }
    /// ```
    pub async fn session_exists(&self, p: &SessionExists) -> Result<SessionInfo, Error> {
        self.call::<_, SessionInfoField>("session-exists", p)
            .await
            .map(|r| r.session_info)
    }

    /// `session-delete`: ends one session.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::SessionDelete;
    /// client
    ///     .session_delete(&SessionDelete { session_token: "…".into() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn session_delete(&self, p: &SessionDelete) -> Result<(), Error> {
        self.call_unit("session-delete", p).await
    }

    /// `session-delete-userid`: ends the user's sessions; answers how many.
    /// None to delete is [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::SessionDeleteUserid;
    /// let ended = client
    ///     .session_delete_userid(&SessionDeleteUserid {
    ///         session_token: "the current session".into(),
    ///         user_id: 4,
    ///         keep_current_session: true,
    ///     })
    ///     .await?;
    /// println!("{ended} other sessions ended");
    /// # Ok(()) }
    /// ```
    pub async fn session_delete_userid(&self, p: &SessionDeleteUserid) -> Result<u64, Error> {
        self.call::<_, Deleted>("session-delete-userid", p)
            .await
            .map(|r| r.deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // authnzerver's `auth_session_exists` columns, for an anonymous session.
    #[test]
    fn authnzerver_session_info_deserializes() {
        let found: SessionInfoField = serde_json::from_value(json!({"session_info": {
            "user_id": 2, "system_id": "d1c2…", "full_name": "Anonymous User",
            "email": "anonuser@localhost", "extra_info": null, "email_verified": true,
            "emailverify_sent_datetime": null, "is_active": true,
            "last_login_try": null, "last_login_success": null,
            "created_on": "2026-01-01T00:00:00", "user_role": "anonymous",
            "session_token": "tkn", "ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0",
            "created": "2026-01-01T00:00:00", "expires": "2026-01-08T00:00:00",
            "extra_info_json": null,
        }}))
        .unwrap();
        assert_eq!(found.session_info.user_role, "anonymous");
        assert_eq!(found.session_info.extra_info_json, None);
    }
}
