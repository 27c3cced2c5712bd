//! Public-key login: device keys, the challenges they sign, and the server's
//! own sealed signing keys.

use chrono::NaiveDateTime;
use entity::{pubkey_challenges as challenges, pubkey_keys as keys, server_keys};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel, NotSet,
    QueryFilter, QueryOrder, Set,
};

pub async fn insert_challenge(
    db: &impl ConnectionTrait,
    c: challenges::Model,
) -> Result<(), DbErr> {
    c.into_active_model().reset_all().insert(db).await?;
    Ok(())
}

pub async fn challenge(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<challenges::Model>, DbErr> {
    super::by_key(challenges::Entity::find_by_id(id.to_owned()), db).await
}

/// Spends the challenge for `user_id`'s key in one conditional update
/// (unused, unexpired, of this purpose): of any number of concurrent
/// attempts exactly one gets true.
pub async fn consume_challenge(
    db: &impl ConnectionTrait,
    id: &str,
    purpose: &str,
    now: NaiveDateTime,
    user_id: i64,
    key_id: &str,
) -> Result<bool, DbErr> {
    let res = challenges::Entity::update_many()
        .col_expr(challenges::Column::Used, Expr::value(now))
        .col_expr(challenges::Column::CompletedUserId, Expr::value(user_id))
        .col_expr(challenges::Column::KeyId, Expr::value(key_id))
        .filter(challenges::Column::ChallengeId.eq(id))
        .filter(challenges::Column::Purpose.eq(purpose))
        .filter(challenges::Column::Used.is_null())
        .filter(challenges::Column::Expires.gt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes challenges that expired before `cutoff`.
pub async fn delete_challenges_before(
    db: &impl ConnectionTrait,
    cutoff: NaiveDateTime,
) -> Result<u64, DbErr> {
    let res = challenges::Entity::delete_many()
        .filter(challenges::Column::Expires.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Adds a device key; false if its public key is already registered.
pub async fn insert_key(db: &impl ConnectionTrait, k: keys::Model) -> Result<bool, DbErr> {
    match k.into_active_model().reset_all().insert(db).await {
        Ok(_) => Ok(true),
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

pub async fn key(db: &impl ConnectionTrait, key_id: &str) -> Result<Option<keys::Model>, DbErr> {
    super::by_key(keys::Entity::find_by_id(key_id.to_owned()), db).await
}

pub async fn key_by_public(
    db: &impl ConnectionTrait,
    public_key: &str,
) -> Result<Option<keys::Model>, DbErr> {
    keys::Entity::find()
        .filter(keys::Column::PublicKey.eq(public_key))
        .one(db)
        .await
}

/// The user's keys, oldest first.
pub async fn keys_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<keys::Model>, DbErr> {
    keys::Entity::find()
        .filter(keys::Column::UserId.eq(user_id))
        .order_by_asc(keys::Column::Created)
        .order_by_asc(keys::Column::KeyId)
        .all(db)
        .await
}

pub async fn touch_key(
    db: &impl ConnectionTrait,
    key_id: &str,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    keys::Entity::update_many()
        .col_expr(keys::Column::LastUsed, Expr::value(now))
        .filter(keys::Column::KeyId.eq(key_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the user's key; false if the user has no such key.
pub async fn delete_key(
    db: &impl ConnectionTrait,
    user_id: i64,
    key_id: &str,
) -> Result<bool, DbErr> {
    let res = keys::Entity::delete_many()
        .filter(keys::Column::KeyId.eq(key_id))
        .filter(keys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// The server key in use for `purpose`: the oldest unretired one.
pub async fn server_key(
    db: &impl ConnectionTrait,
    purpose: &str,
) -> Result<Option<server_keys::Model>, DbErr> {
    server_keys::Entity::find()
        .filter(server_keys::Column::Purpose.eq(purpose))
        .filter(server_keys::Column::Retired.is_null())
        .order_by_asc(server_keys::Column::Id)
        .one(db)
        .await
}

pub async fn insert_server_key(
    db: &impl ConnectionTrait,
    purpose: &str,
    public_key: String,
    sealed_secret: String,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    server_keys::ActiveModel {
        id: NotSet,
        purpose: Set(purpose.to_owned()),
        public_key: Set(public_key),
        sealed_secret: Set(sealed_secret),
        created: Set(now),
        retired: Set(None),
    }
    .insert(db)
    .await?;
    Ok(())
}

/// Seals a server key's secret anew (after a key-ring rotation).
pub async fn reseal_server_key(
    db: &impl ConnectionTrait,
    id: i64,
    sealed_secret: String,
) -> Result<(), DbErr> {
    server_keys::Entity::update_many()
        .col_expr(
            server_keys::Column::SealedSecret,
            Expr::value(sealed_secret),
        )
        .filter(server_keys::Column::Id.eq(id))
        .exec(db)
        .await?;
    Ok(())
}

/// Every server key, of every purpose, retired ones too.
pub async fn all_server_keys(db: &impl ConnectionTrait) -> Result<Vec<server_keys::Model>, DbErr> {
    server_keys::Entity::find()
        .order_by_asc(server_keys::Column::Id)
        .all(db)
        .await
}
