//! Refresh tokens by the SHA-256 digest of the token. Rotation is one
//! conditional update on the presented digest, so of concurrent refreshes
//! of one token exactly one spends it.

use chrono::NaiveDateTime;
use entity::{refresh_tokens as tokens, sessions};
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter,
};

pub async fn insert(db: &impl ConnectionTrait, row: tokens::Model) -> Result<(), DbErr> {
    row.into_active_model().insert(db).await?;
    Ok(())
}

pub async fn find(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> Result<Option<tokens::Model>, DbErr> {
    super::by_key(tokens::Entity::find_by_id(token_hash.to_owned()), db).await
}

/// Spends `presented` (unspent and unexpired at `now`) and inserts its
/// `successor`, in one transaction. False when the token was not there to
/// spend: unknown, expired, or spent already (perhaps a moment ago, by a
/// concurrent refresh).
pub async fn rotate(
    db: &DatabaseConnection,
    presented: &str,
    successor: tokens::Model,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let spent = tokens::Entity::update_many()
        .col_expr(tokens::Column::Spent, Expr::value(now))
        .col_expr(
            tokens::Column::SuccessorHash,
            Expr::value(successor.token_hash.clone()),
        )
        .filter(tokens::Column::TokenHash.eq(presented))
        .filter(tokens::Column::Spent.is_null())
        .filter(tokens::Column::Expires.gt(now))
        .exec(&txn)
        .await?;
    if spent.rows_affected != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    successor.into_active_model().insert(&txn).await?;
    txn.commit().await?;
    Ok(true)
}

/// Deletes every token of `family`; how many there were.
pub async fn delete_family(db: &impl ConnectionTrait, family: &str) -> Result<u64, DbErr> {
    Ok(tokens::Entity::delete_many()
        .filter(tokens::Column::Family.eq(family))
        .exec(db)
        .await?
        .rows_affected)
}

/// Theft detected: the family and the session it hangs from go together.
pub async fn revoke_family_and_session(
    w: super::Writes<'_>,
    family: &str,
    session_hash: &str,
) -> Result<(), DbErr> {
    let txn = super::begin_write(w.db).await?;
    delete_family(&txn, family).await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::TokenHash.eq(session_hash))
        .exec(&txn)
        .await?;
    txn.commit().await?;
    w.cache.invalidate_session(session_hash).await;
    Ok(())
}

/// Deletes tokens that expired before `cutoff`.
pub async fn delete_expired_before(
    db: &impl ConnectionTrait,
    cutoff: NaiveDateTime,
) -> Result<u64, DbErr> {
    Ok(tokens::Entity::delete_many()
        .filter(tokens::Column::Expires.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
