//! Sessions: `session-new`, `session-exists`, `session-delete`,
//! `session-delete-userid`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

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
        self.send(p).await
    }

    /// `session-exists`: the live session and its user. An unknown or
    /// expired token is [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::SessionExists;
    /// let token = "from the session cookie".to_owned();
    /// let info = client.session_exists(&SessionExists { session_token: token.into() }).await?;
    /// println!("{} is {}", info.email, info.user_role);
    /// # Ok(()) }
    /// ```
    pub async fn session_exists(&self, p: &SessionExists) -> Result<SessionInfo, Error> {
        self.send(p).await.map(|r| r.session_info)
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
        self.send(p).await.map(drop)
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
        self.send(p).await.map(|r| r.deleted)
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
