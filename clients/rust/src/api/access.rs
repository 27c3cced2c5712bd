//! Permission questions: `user-check-access`, `user-check-limit`. Both
//! answer `Ok(bool)`: "no" is an answer, not a failure.

use serde::Serialize;
use serde_json::Value;

use crate::{Client, Error};

/// Parameters of `user-check-access`: may this user do `action` to this
/// item?
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserCheckAccess {
    pub user_id: i64,
    pub user_role: String,
    /// `create`, `view`, `list`, `edit`, `delete`, `change_owner`… as the
    /// policy names them.
    pub action: String,
    /// The item type, as the policy names it.
    pub target_name: String,
    pub target_owner: i64,
    /// `private`, `shared` or `public`.
    pub target_visibility: String,
    /// Comma-separated user ids the item is shared with (may be empty).
    pub target_sharedwith: String,
}

/// Parameters of `user-check-limit`: is the user within the role's
/// limit?
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct UserCheckLimit {
    pub user_id: i64,
    pub user_role: String,
    pub limit_name: String,
    pub value_to_check: Value,
}

impl Client {
    /// `user-check-access`: `Ok(true)` when the policy grants it,
    /// `Ok(false)` when it does not (`action not permitted`), `Err` when
    /// the question could not be answered (an unknown caller, owner or
    /// shared-with user…).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserCheckAccess;
    /// let may = client
    ///     .user_check_access(&UserCheckAccess {
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         action: "edit".into(),
    ///         target_name: "dataset".into(),
    ///         target_owner: 4,
    ///         target_visibility: "private".into(),
    ///         target_sharedwith: String::new(),
    ///     })
    ///     .await?;
    /// if !may {
    ///     println!("403");
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn user_check_access(&self, p: &UserCheckAccess) -> Result<bool, Error> {
        self.decide("user-check-access", p, "action not permitted")
            .await
    }

    /// `user-check-limit`: `Ok(false)` when the user is over the limit
    /// (`user is over limit`), `Err` when the question could not be
    /// answered (an unknown caller…).
    ///
    /// ```no_run
    /// # async fn demo(client: &authnzd_client::Client) -> Result<(), authnzd_client::Error> {
    /// use authnzd_client::params::UserCheckLimit;
    /// let within = client
    ///     .user_check_limit(&UserCheckLimit {
    ///         user_id: 4,
    ///         user_role: "authenticated".into(),
    ///         limit_name: "max_requests".into(),
    ///         value_to_check: 120.into(),
    ///     })
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn user_check_limit(&self, p: &UserCheckLimit) -> Result<bool, Error> {
        self.decide("user-check-limit", p, "user is over limit")
            .await
    }
}
