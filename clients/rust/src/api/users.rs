//! Accounts: `user-new`, `user-changepass`, `user-changepass-nosession`,
//! `user-delete`, `user-list`, `user-lookup-email`, `user-lookup-match`,
//! `user-edit`, `user-resetpass`, `user-resetpass-nosession`, `user-lock`,
//! `user-validatepass`.

use authnzd_proto::answers::*;
use authnzd_proto::*;

use crate::{Client, Error};

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
        self.send(p).await
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
    ///         code: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_changepass(&self, p: &UserChangepass) -> Result<(), Error> {
        self.send(p).await.map(drop)
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
    ///         code: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_changepass_nosession(
        &self,
        p: &UserChangepassNosession,
    ) -> Result<(), Error> {
        self.send(p).await.map(drop)
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
    ///         code: None,
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_delete(&self, p: &UserDelete) -> Result<(), Error> {
        self.send(p).await.map(drop)
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
        self.send(p).await.map(|r| r.user_info)
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
        self.send(p).await.map(|r| r.user_info)
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
        self.send(p).await.map(|r| r.user_info)
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
        self.send(p).await.map(|r| r.user_info)
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
        self.send(p).await.map(drop)
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
        self.send(p).await.map(drop)
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
    ///         restore_role: None,
    ///     })
    ///     .await?;
    /// assert!(!locked.is_active);
    /// # Ok(()) }
    /// ```
    pub async fn user_lock(&self, p: &UserLock) -> Result<UserInfo, Error> {
        self.send(p).await.map(|r| r.user_info)
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
        self.send(p).await.map(drop)
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
