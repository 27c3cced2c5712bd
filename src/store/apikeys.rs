//! Both API-key families, looked up by the SHA-256 digest of their token.

use entity::{apikeys, apikeys_nosession};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter,
};

/// The claims digest of a key imported from authnzerver: none was
/// recorded (authnzerver kept only the token, owner, role and times).
pub const UNRECORDED_CLAIMS: &str = "";

pub async fn insert_session_key(
    db: &impl ConnectionTrait,
    key: apikeys::Model,
) -> Result<(), DbErr> {
    // `reset_all` marks every column as set, so the whole row is inserted.
    key.into_active_model().reset_all().insert(db).await?;
    Ok(())
}

pub async fn insert_free_key(
    db: &impl ConnectionTrait,
    key: apikeys_nosession::Model,
) -> Result<(), DbErr> {
    key.into_active_model().reset_all().insert(db).await?;
    Ok(())
}

pub async fn session_key(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<apikeys::Model>, DbErr> {
    super::by_key(apikeys::Entity::find_by_id(hash.to_owned()), db).await
}

pub async fn free_key(
    db: &impl ConnectionTrait,
    hash: &str,
) -> Result<Option<apikeys_nosession::Model>, DbErr> {
    super::by_key(apikeys_nosession::Entity::find_by_id(hash.to_owned()), db).await
}

/// Deletes the session-bound key if it belongs to `user_id`; true if it did.
pub async fn delete_session_key(
    db: &impl ConnectionTrait,
    hash: &str,
    user_id: i64,
) -> Result<bool, DbErr> {
    let res = apikeys::Entity::delete_many()
        .filter(apikeys::Column::ApikeyHash.eq(hash))
        .filter(apikeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Deletes the session-less key if it belongs to `user_id`; true if it did.
pub async fn delete_free_key(
    db: &impl ConnectionTrait,
    hash: &str,
    user_id: i64,
) -> Result<bool, DbErr> {
    let res = apikeys_nosession::Entity::delete_many()
        .filter(apikeys_nosession::Column::ApikeyHash.eq(hash))
        .filter(apikeys_nosession::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected > 0)
}

/// Deletes every session-less key of `user_id`; returns how many went.
pub async fn delete_free_keys_of(db: &impl ConnectionTrait, user_id: i64) -> Result<u64, DbErr> {
    let res = apikeys_nosession::Entity::delete_many()
        .filter(apikeys_nosession::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Replaces a session-less key by `new` in one transaction, provided the old
/// key still has the refresh token `refresh_hash`. False (and nothing
/// changed) when a concurrent refresh spent it first.
pub async fn rotate_free_key(
    db: &DatabaseConnection,
    old_hash: &str,
    refresh_hash: &str,
    new: apikeys_nosession::Model,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let gone = apikeys_nosession::Entity::delete_many()
        .filter(apikeys_nosession::Column::ApikeyHash.eq(old_hash))
        .filter(apikeys_nosession::Column::RefreshTokenHash.eq(refresh_hash))
        .exec(&txn)
        .await?
        .rows_affected;
    if gone != 1 {
        txn.rollback().await?;
        return Ok(false);
    }
    insert_free_key(&txn, new).await?;
    txn.commit().await?;
    Ok(true)
}
