//! A user's latest completed sign-in (`login_grants`), waiting for the
//! `session-new` that an authnzerver frontend sends after a login, so that
//! session records how the user signed in.

use chrono::NaiveDateTime;
use entity::login_grants;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, Set};

/// Records a sign-in with `amr` at `now`, replacing an earlier one.
pub async fn record(
    db: &impl ConnectionTrait,
    user_id: i64,
    amr: String,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> Result<(), DbErr> {
    login_grants::Entity::insert(login_grants::ActiveModel {
        user_id: Set(user_id),
        amr: Set(amr),
        auth_time: Set(now),
        expires: Set(expires),
    })
    .on_conflict(
        OnConflict::column(login_grants::Column::UserId)
            .update_columns([
                login_grants::Column::Amr,
                login_grants::Column::AuthTime,
                login_grants::Column::Expires,
            ])
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

/// Takes the user's unexpired sign-in, once: (amr, auth_time).
pub async fn take(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<Option<(String, NaiveDateTime)>, DbErr> {
    let Some(g) = super::by_key(login_grants::Entity::find_by_id(user_id), db).await? else {
        return Ok(None);
    };
    // Deleted as read: a sign-in recorded meanwhile stays for its session.
    let res = login_grants::Entity::delete_many()
        .filter(login_grants::Column::UserId.eq(user_id))
        .filter(login_grants::Column::AuthTime.eq(g.auth_time))
        .filter(login_grants::Column::Amr.eq(g.amr.clone()))
        .exec(db)
        .await?;
    Ok((res.rows_affected == 1 && g.expires > now).then_some((g.amr, g.auth_time)))
}

/// Deletes grants that expired before `now`; returns how many.
pub async fn prune(db: &impl ConnectionTrait, now: NaiveDateTime) -> Result<u64, DbErr> {
    Ok(login_grants::Entity::delete_many()
        .filter(login_grants::Column::Expires.lte(now))
        .exec(db)
        .await?
        .rows_affected)
}
