//! Permission questions: `user-check-access`, `user-check-limit`. Both
//! answer `Ok(bool)`: "no" is an answer, not a failure.

use authnzd_proto::*;

use crate::{Client, Error};

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
        self.decide(p, "action not permitted").await
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
        self.decide(p, "user is over limit").await
    }
}
