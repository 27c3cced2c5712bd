//! Accounts: `user-new`, `user-changepass`, `user-changepass-nosession`,
//! `user-delete`, `user-list`, `user-lookup-email`, `user-lookup-match`,
//! `user-edit`, `user-resetpass`, `user-resetpass-nosession`, `user-lock`,
//! `user-validatepass`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Client, Error};

/// Parameters of `user-new`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserNew {
    pub full_name: String,
    pub email: String,
    pub password: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extra_info: Option<Map<String, Value>>,
    /// Hours after which an unverified sign-up of the same address may be
    /// replaced.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify_retry_wait: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_id: Option<String>,
}

/// Parameters of `user-changepass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserChangepass {
    pub user_id: i64,
    /// A session of `user_id`.
    pub session_token: String,
    pub full_name: String,
    pub email: String,
    pub current_password: String,
    pub new_password: String,
}

/// Parameters of `user-changepass-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserChangepassNosession {
    pub user_id: i64,
    pub full_name: String,
    pub email: String,
    pub current_password: String,
    pub new_password: String,
}

/// Parameters of `user-delete`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserDelete {
    pub email: String,
    pub user_id: i64,
    pub password: String,
}

/// Parameters of `user-list`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserList {
    /// `None` lists every user.
    pub user_id: Option<i64>,
}

/// Parameters of `user-lookup-email`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLookupEmail {
    pub email: String,
}

/// Parameters of `user-lookup-match`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLookupMatch {
    /// A column: `user_id`, `system_id`, `full_name`, `email`,
    /// `user_role`, `email_verified`, `is_active`, or `extra_info` (then
    /// `match` is an object of keys that must all be equal).
    pub by: String,
    /// The value to match, of the column's type.
    pub r#match: Value,
}

/// Parameters of `user-edit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserEdit {
    /// Who edits, with their role and session.
    pub user_id: i64,
    pub user_role: String,
    pub session_token: String,
    /// Whose account. Users may edit their own `full_name` and `email`;
    /// superusers also `is_active`, `user_role`, `email_verified`.
    pub target_userid: i64,
    pub update_dict: Map<String, Value>,
}

/// Parameters of `user-resetpass`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserResetpass {
    pub email_address: String,
    pub new_password: String,
    pub session_token: String,
}

/// Parameters of `user-resetpass-nosession`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserResetpassNosession {
    pub email_address: String,
    pub new_password: String,
    /// Reset only an account whose `is_active` is this.
    pub required_active: bool,
}

/// Parameters of `user-lock`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserLock {
    /// The superuser who locks, with role and session.
    pub user_id: i64,
    pub user_role: String,
    pub session_token: String,
    pub target_userid: i64,
    /// `lock` or `unlock`.
    pub action: String,
}

/// Parameters of `user-validatepass`; the limits default to the server's
/// policy.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserValidatepass {
    pub password: String,
    pub email: String,
    pub full_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pass_length: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_unsafe_similarity: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_character_frequency: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_pwned_matches: Option<i64>,
}

/// Answer of `user-new`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct NewUser {
    pub user_id: i64,
    pub user_email: String,
    pub system_id: String,
    /// True when the frontend should send the verification email.
    pub send_verification: bool,
}

/// A user's account as `user-list`, `user-lookup-*`, `user-edit`,
/// `user-lock` and `internal-user-*` describe it (never the password).
/// Datetimes are ISO 8601 UTC.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct UserInfo {
    pub user_id: i64,
    pub system_id: String,
    pub full_name: Option<String>,
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub user_role: String,
    #[serde(default)]
    pub extra_info: Option<Value>,
    pub created_on: String,
    #[serde(default)]
    pub last_updated: Option<String>,
    #[serde(default)]
    pub last_login_try: Option<String>,
    #[serde(default)]
    pub last_login_success: Option<String>,
    #[serde(default)]
    pub failed_login_tries: Option<i64>,
    #[serde(default)]
    pub emailverify_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailforgotpass_sent_datetime: Option<String>,
    #[serde(default)]
    pub emailchangepass_sent_datetime: Option<String>,
    /// E.164, for SMS sign-in (authnzd only).
    #[serde(default)]
    pub phone: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct UserInfoField {
    pub user_info: UserInfo,
}

#[derive(Deserialize)]
struct UserInfoList {
    user_info: Vec<UserInfo>,
}

impl Client {
    /// `user-new`: signs up an account, inactive (role `locked`) until
    /// [`user_set_emailverified`](Client::user_set_emailverified). An
    /// address already taken, a weak password or an invalid address is
    /// [`Error::Refused`]; for a weak password `messages` says why.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserNew;
    /// let made = client
    ///     .user_new(&UserNew {
    ///         full_name: "Ada Lovelace".into(),
    ///         email: "ada@example.com".into(),
    ///         password: "correct horse battery staple".into(),
    ///         ..Default::default()
    ///     })
    ///     .await?;
    /// if made.send_verification {
    ///     // user_sendemail_signup(…)
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn user_new(&self, p: &UserNew) -> Result<NewUser, Error> {
        self.call("user-new", p).await
    }

    /// `user-changepass`: a new password for the session's user, who
    /// gives the current one. Their other sessions end.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserChangepass;
    /// client
    ///     .user_changepass(&UserChangepass {
    ///         user_id: 4,
    ///         session_token: "…".into(),
    ///         full_name: "Ada Lovelace".into(),
    ///         email: "ada@example.com".into(),
    ///         current_password: "correct horse battery staple".into(),
    ///         new_password: "another long, unusual phrase".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_changepass(&self, p: &UserChangepass) -> Result<(), Error> {
        self.call_unit("user-changepass", p).await
    }

    /// `user-changepass-nosession`: as
    /// [`user_changepass`](Client::user_changepass), without a session.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserChangepassNosession;
    /// client
    ///     .user_changepass_nosession(&UserChangepassNosession {
    ///         user_id: 4,
    ///         full_name: "Ada Lovelace".into(),
    ///         email: "ada@example.com".into(),
    ///         current_password: "correct horse battery staple".into(),
    ///         new_password: "another long, unusual phrase".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_changepass_nosession(
        &self,
        p: &UserChangepassNosession,
    ) -> Result<(), Error> {
        self.call_unit("user-changepass-nosession", p).await
    }

    /// `user-delete`: the user deletes their own account, password
    /// confirmed.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserDelete;
    /// client
    ///     .user_delete(&UserDelete {
    ///         email: "ada@example.com".into(),
    ///         user_id: 4,
    ///         password: "correct horse battery staple".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_delete(&self, p: &UserDelete) -> Result<(), Error> {
        self.call_unit("user-delete", p).await
    }

    /// `user-list`: one user, or all of them.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserList;
    /// for user in client.user_list(&UserList { user_id: None }).await? {
    ///     println!("{} {}", user.user_id, user.email);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn user_list(&self, p: &UserList) -> Result<Vec<UserInfo>, Error> {
        self.call::<_, UserInfoList>("user-list", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-lookup-email`: the account with this address; none is
    /// [`Error::Refused`].
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserLookupEmail;
    /// let user = client
    ///     .user_lookup_email(&UserLookupEmail { email: "ada@example.com".into() })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_lookup_email(&self, p: &UserLookupEmail) -> Result<UserInfo, Error> {
        self.call::<_, UserInfoField>("user-lookup-email", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-lookup-match`: the accounts whose column `by` equals `match`
    /// (possibly none).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserLookupMatch;
    /// let staff = client
    ///     .user_lookup_match(&UserLookupMatch {
    ///         by: "user_role".into(),
    ///         r#match: "staff".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_lookup_match(&self, p: &UserLookupMatch) -> Result<Vec<UserInfo>, Error> {
        self.call::<_, UserInfoList>("user-lookup-match", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-edit`: a user edits their own account, or a superuser anyone's;
    /// answers the account as it now is.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserEdit;
    /// let mut update = serde_json::Map::new();
    /// update.insert("full_name".into(), "Augusta Ada King".into());
    /// let now = client
    ///     .user_edit(&UserEdit {
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         session_token: "…".into(),
    ///         target_userid: 4,
    ///         update_dict: update,
    ///     })
    ///     .await?;
    /// assert_eq!(now.full_name.as_deref(), Some("Augusta Ada King"));
    /// # Ok(()) }
    /// ```
    pub async fn user_edit(&self, p: &UserEdit) -> Result<UserInfo, Error> {
        self.call::<_, UserInfoField>("user-edit", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-resetpass`: sets a new password without the current one, once
    /// the frontend has verified the user by email; every session of the
    /// user ends.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserResetpass;
    /// client
    ///     .user_resetpass(&UserResetpass {
    ///         email_address: "ada@example.com".into(),
    ///         new_password: "another long, unusual phrase".into(),
    ///         session_token: "…".into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_resetpass(&self, p: &UserResetpass) -> Result<(), Error> {
        self.call_unit("user-resetpass", p).await
    }

    /// `user-resetpass-nosession`: as
    /// [`user_resetpass`](Client::user_resetpass), without a session.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserResetpassNosession;
    /// client
    ///     .user_resetpass_nosession(&UserResetpassNosession {
    ///         email_address: "ada@example.com".into(),
    ///         new_password: "another long, unusual phrase".into(),
    ///         required_active: true,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_resetpass_nosession(&self, p: &UserResetpassNosession) -> Result<(), Error> {
        self.call_unit("user-resetpass-nosession", p).await
    }

    /// `user-lock`: a superuser locks or unlocks an account; locking ends
    /// its sessions.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserLock;
    /// let locked = client
    ///     .user_lock(&UserLock {
    ///         user_id: 1,
    ///         user_role: "superuser".into(),
    ///         session_token: "the superuser's session".into(),
    ///         target_userid: 4,
    ///         action: "lock".into(),
    ///     })
    ///     .await?;
    /// assert!(!locked.is_active);
    /// # Ok(()) }
    /// ```
    pub async fn user_lock(&self, p: &UserLock) -> Result<UserInfo, Error> {
        self.call::<_, UserInfoField>("user-lock", p)
            .await
            .map(|r| r.user_info)
    }

    /// `user-validatepass`: checks a candidate password against the policy
    /// without storing it. A password that fails is [`Error::Refused`],
    /// with the reasons in `messages`.
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) {
    /// use authnzd_client::params::UserValidatepass;
    /// let check = client
    ///     .user_validatepass(&UserValidatepass {
    ///         password: "password123".into(),
    ///         email: "ada@example.com".into(),
    ///         full_name: "Ada Lovelace".into(),
    ///         ..Default::default()
    ///     })
    ///     .await;
    /// if let Err(e) = check {
    ///     println!("{}", e.messages().join(" "));
    /// }
    /// # }
    /// ```
    pub async fn user_validatepass(&self, p: &UserValidatepass) -> Result<(), Error> {
        self.call_unit("user-validatepass", p).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // authnzerver's `user_info_columns`: no `phone`, nulls where a user
    // never logged in.
    #[test]
    fn authnzerver_user_info_deserializes() {
        let list: UserInfoList = serde_json::from_value(json!({"user_info": [{
            "user_id": 4, "system_id": "0b5f…", "full_name": null,
            "email": "ada@example.com", "email_verified": true, "is_active": true,
            "last_login_try": null, "last_login_success": null,
            "failed_login_tries": 0, "created_on": "2026-01-01T00:00:00",
            "last_updated": "2026-01-01T00:00:00", "user_role": "authenticated",
            "extra_info": {"provenance": "request-created"},
            "emailverify_sent_datetime": "2026-01-01T00:00:01",
            "emailforgotpass_sent_datetime": null, "emailchangepass_sent_datetime": null,
        }]}))
        .unwrap();
        let u = &list.user_info[0];
        assert_eq!(
            (u.user_id, u.full_name.as_deref(), u.phone.as_deref()),
            (4, None, None)
        );
        assert_eq!(u.failed_login_tries, Some(0));
    }
}
