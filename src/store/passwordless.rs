//! Passwordless sign-in attempts. The send windows count these rows, so
//! they hold across restarts and across instances sharing the database.

use chrono::NaiveDateTime;
use entity::passwordless_attempts as attempts;
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter,
};

pub async fn insert(db: &impl ConnectionTrait, a: attempts::Model) -> Result<(), DbErr> {
    a.into_active_model().reset_all().insert(db).await?;
    Ok(())
}

/// Removes an attempt refused by a send window (it was never sent).
pub async fn delete(db: &impl ConnectionTrait, id: &str) -> Result<(), DbErr> {
    attempts::Entity::delete_by_id(id.to_owned())
        .exec(db)
        .await?;
    Ok(())
}

/// Attempts for `address` created after `since`.
pub async fn sent_to(
    db: &impl ConnectionTrait,
    address: &str,
    since: NaiveDateTime,
) -> Result<u64, DbErr> {
    attempts::Entity::find()
        .filter(attempts::Column::Address.eq(address))
        .filter(attempts::Column::Created.gt(since))
        .count(db)
        .await
}

/// Attempts started from a client whose digest is one of `ip_hashes`
/// (one client's, under each ring key) after `since`.
pub async fn sent_from(
    db: &impl ConnectionTrait,
    ip_hashes: &[String],
    since: NaiveDateTime,
) -> Result<u64, DbErr> {
    attempts::Entity::find()
        .filter(attempts::Column::IpHash.is_in(ip_hashes.iter().map(String::as_str)))
        .filter(attempts::Column::Created.gt(since))
        .count(db)
        .await
}

pub async fn by_id(db: &impl ConnectionTrait, id: &str) -> Result<Option<attempts::Model>, DbErr> {
    super::by_key(attempts::Entity::find_by_id(id.to_owned()), db).await
}

pub async fn by_link(
    db: &impl ConnectionTrait,
    link_hash: &str,
) -> Result<Option<attempts::Model>, DbErr> {
    attempts::Entity::find()
        .filter(attempts::Column::LinkHash.eq(link_hash))
        .one(db)
        .await
}

/// Takes one of the attempt's `limit` tries at a code, before the code is
/// compared, in one conditional update: however many guesses arrive at
/// once, at most `limit` are ever compared. False when the attempt is
/// finished or has no tries left.
pub async fn take_try(db: &impl ConnectionTrait, id: &str, limit: i32) -> Result<bool, DbErr> {
    let res = attempts::Entity::update_many()
        .col_expr(
            attempts::Column::WrongCodes,
            Expr::col(attempts::Column::WrongCodes).add(1),
        )
        .filter(attempts::Column::AttemptId.eq(id))
        .filter(attempts::Column::Finished.is_null())
        .filter(attempts::Column::WrongCodes.lt(limit))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// After a wrong code (its try already taken): the `limit`-th ends the
/// attempt. Returns the tries taken so far.
pub async fn wrong_code(
    db: &impl ConnectionTrait,
    id: &str,
    limit: i32,
    now: NaiveDateTime,
) -> Result<i32, DbErr> {
    let wrong = by_id(db, id).await?.map_or(limit, |a| a.wrong_codes);
    if wrong >= limit {
        finish(db, id, now).await?;
    }
    Ok(wrong)
}

/// Marks the attempt used; false if it already was (single use, also under
/// concurrent finishes).
pub async fn finish(
    db: &impl ConnectionTrait,
    id: &str,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let res = attempts::Entity::update_many()
        .col_expr(attempts::Column::Finished, Expr::value(now))
        .filter(attempts::Column::AttemptId.eq(id))
        .filter(attempts::Column::Finished.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes attempts that expired and were created before `created_before`
/// (no send window reaches back that far any more). Returns how many.
pub async fn delete_before(
    db: &impl ConnectionTrait,
    created_before: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<u64, DbErr> {
    let res = attempts::Entity::delete_many()
        .filter(attempts::Column::Created.lt(created_before))
        .filter(attempts::Column::Expires.lt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
