//! The user row's mail slots and the address change a mailed link makes:
//! each one conditional update, so concurrent requests settle on one.

use chrono::NaiveDateTime;
use entity::users;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, DbErr, EntityTrait, QueryFilter};

use super::by_id;
use crate::store::Writes;

/// Takes the user's forgot-password mail slot: sets
/// `emailforgotpass_sent_datetime` to `now` unless a mail was sent after
/// `not_since`, in one conditional update, so that concurrent requests get
/// one mail between them. False when the slot was taken.
pub async fn claim_forgotpass_mail(
    w: Writes<'_>,
    user_id: i64,
    now: NaiveDateTime,
    not_since: NaiveDateTime,
) -> Result<bool, DbErr> {
    use sea_orm::Condition;
    let res = users::Entity::update_many()
        .col_expr(users::Column::EmailforgotpassSentDatetime, Expr::value(now))
        .col_expr(users::Column::LastUpdated, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .filter(
            Condition::any()
                .add(users::Column::EmailforgotpassSentDatetime.is_null())
                .add(users::Column::EmailforgotpassSentDatetime.lt(not_since)),
        )
        .exec(w.db)
        .await?;
    w.cache.invalidate_user(user_id).await;
    Ok(res.rows_affected == 1)
}

/// The address of `user_id` changed from `from` to `to`, verified, if it is
/// still `from`: of concurrent uses of one link, one changes it. The
/// verification mail's time is cleared, so no link sent before works again.
/// `Ok(None)` when the address is no longer `from`; `Err` with a unique
/// violation when `to` is taken (see `is_taken`).
pub async fn change_email_if(
    w: Writes<'_>,
    user_id: i64,
    from: &str,
    to: &str,
    now: NaiveDateTime,
) -> Result<Option<users::Model>, DbErr> {
    let res = users::Entity::update_many()
        .col_expr(users::Column::Email, Expr::value(to))
        .col_expr(users::Column::EmailVerified, Expr::value(true))
        .col_expr(
            users::Column::EmailverifySentDatetime,
            Expr::value(Option::<NaiveDateTime>::None),
        )
        .col_expr(users::Column::LastUpdated, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .filter(users::Column::Email.eq(from))
        .exec(w.db)
        .await?;
    w.cache.invalidate_user(user_id).await;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    by_id(w.db, user_id).await
}

/// Gives the slot back after a mail that could not be sent.
pub async fn release_forgotpass_mail(
    w: Writes<'_>,
    user_id: i64,
    previous: Option<NaiveDateTime>,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(
            users::Column::EmailforgotpassSentDatetime,
            Expr::value(previous),
        )
        .filter(users::Column::UserId.eq(user_id))
        .exec(w.db)
        .await?;
    w.cache.invalidate_user(user_id).await;
    Ok(())
}
