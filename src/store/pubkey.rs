//! Public-key login: device keys, the challenges they sign, and the server's
//! own sealed signing keys.

use chrono::NaiveDateTime;
use entity::{pubkey_challenges as challenges, pubkey_keys as keys, server_keys};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, NotSet, QueryFilter, QueryOrder, Set,
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

/// What `register_pending` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// The challenge was spent and the key stored, pending.
    Pending,
    /// The challenge was spent already (or expired) meanwhile.
    NotSpent,
    /// That public key is registered already; nothing changed.
    Exists,
}

/// Spends a register challenge for `key`'s user and stores the key,
/// unconfirmed, in one transaction: a key whose insert fails leaves the
/// challenge as it was.
pub async fn register_pending(
    db: &DatabaseConnection,
    challenge_id: &str,
    now: NaiveDateTime,
    key: keys::Model,
) -> Result<Registered, DbErr> {
    let txn = super::begin_write(db).await?;
    let spent = consume_challenge(
        &txn,
        challenge_id,
        "register",
        now,
        key.user_id,
        &key.key_id,
    )
    .await?;
    if !spent {
        txn.rollback().await?;
        return Ok(Registered::NotSpent);
    }
    if !insert_key(&txn, key).await? {
        txn.rollback().await?;
        return Ok(Registered::Exists);
    }
    txn.commit().await?;
    Ok(Registered::Pending)
}

/// The browser's confirmation of the key its registration made: marks the
/// challenge delivered (once, before it expires) and the key confirmed, in
/// one transaction. The key, or `None` when there is nothing to confirm.
pub async fn confirm_key(
    db: &DatabaseConnection,
    challenge_id: &str,
    now: NaiveDateTime,
) -> Result<Option<keys::Model>, DbErr> {
    let txn = super::begin_write(db).await?;
    let delivered = challenges::Entity::update_many()
        .col_expr(challenges::Column::Delivered, Expr::value(now))
        .filter(challenges::Column::ChallengeId.eq(challenge_id))
        .filter(challenges::Column::Purpose.eq("register"))
        .filter(challenges::Column::Used.is_not_null())
        .filter(challenges::Column::Delivered.is_null())
        .filter(challenges::Column::Expires.gt(now))
        .exec(&txn)
        .await?
        .rows_affected;
    let key_id = match challenge(&txn, challenge_id).await? {
        Some(c) if delivered == 1 => c.key_id,
        _ => None,
    };
    let Some(key_id) = key_id else {
        txn.rollback().await?;
        return Ok(None);
    };
    let confirmed = keys::Entity::update_many()
        .col_expr(keys::Column::Confirmed, Expr::value(true))
        .col_expr(
            keys::Column::PendingUntil,
            Expr::value(Option::<NaiveDateTime>::None),
        )
        .filter(keys::Column::KeyId.eq(key_id.clone()))
        .filter(keys::Column::Confirmed.eq(false))
        .exec(&txn)
        .await?
        .rows_affected;
    if confirmed != 1 {
        // Deleted meanwhile.
        txn.rollback().await?;
        return Ok(None);
    }
    let found = key(&txn, &key_id).await?;
    txn.commit().await?;
    Ok(found)
}

/// Hands an approved login's session to its waiter: marks the challenge
/// delivered, once, no later than `approved_since` after its approval.
pub async fn deliver_login(
    db: &impl ConnectionTrait,
    challenge_id: &str,
    now: NaiveDateTime,
    approved_since: NaiveDateTime,
) -> Result<bool, DbErr> {
    let res = challenges::Entity::update_many()
        .col_expr(challenges::Column::Delivered, Expr::value(now))
        .filter(challenges::Column::ChallengeId.eq(challenge_id))
        .filter(challenges::Column::Purpose.eq("login"))
        .filter(challenges::Column::Used.gt(approved_since))
        .filter(challenges::Column::Delivered.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes keys never confirmed whose time ran out; returns how many.
pub async fn delete_unconfirmed_before(
    db: &impl ConnectionTrait,
    now: NaiveDateTime,
) -> Result<u64, DbErr> {
    Ok(keys::Entity::delete_many()
        .filter(keys::Column::Confirmed.eq(false))
        .filter(keys::Column::PendingUntil.lt(now))
        .exec(db)
        .await?
        .rows_affected)
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

/// The user's confirmed keys, oldest first.
pub async fn keys_of(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<keys::Model>, DbErr> {
    keys::Entity::find()
        .filter(keys::Column::UserId.eq(user_id))
        .filter(keys::Column::Confirmed.eq(true))
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

/// Sets the label of the user's confirmed key; false if the user has no
/// such key.
pub async fn set_label(
    db: &impl ConnectionTrait,
    user_id: i64,
    key_id: &str,
    label: Option<&str>,
) -> Result<bool, DbErr> {
    let res = keys::Entity::update_many()
        .col_expr(keys::Column::Label, Expr::value(label.map(str::to_owned)))
        .filter(keys::Column::KeyId.eq(key_id))
        .filter(keys::Column::UserId.eq(user_id))
        .filter(keys::Column::Confirmed.eq(true))
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
