//! The OpenID Connect provider's rows: clients, authorization codes and
//! consents (`oidc_*`).

use chrono::NaiveDateTime;
use entity::{oidc_clients, oidc_codes, oidc_consents, oidc_grants};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, Set, SqlErr,
};

pub async fn client(
    db: &impl ConnectionTrait,
    client_id: &str,
) -> Result<Option<oidc_clients::Model>, DbErr> {
    oidc_clients::Entity::find_by_id(client_id.to_owned())
        .one(db)
        .await
}

/// Every client, by id.
pub async fn clients(db: &impl ConnectionTrait) -> Result<Vec<oidc_clients::Model>, DbErr> {
    oidc_clients::Entity::find()
        .order_by_asc(oidc_clients::Column::ClientId)
        .all(db)
        .await
}

/// Adds a client; false when its id is taken.
pub async fn add_client(
    db: &impl ConnectionTrait,
    row: oidc_clients::Model,
) -> Result<bool, DbErr> {
    match oidc_clients::Entity::insert(oidc_clients::ActiveModel::from(row))
        .exec_without_returning(db)
        .await
    {
        Ok(_) => Ok(true),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Replaces a confidential client's secret digest; false when there is no
/// such client or it is public.
pub async fn set_secret(
    db: &impl ConnectionTrait,
    client_id: &str,
    secret_hash: String,
) -> Result<bool, DbErr> {
    let done = oidc_clients::Entity::update_many()
        .col_expr(oidc_clients::Column::SecretHash, Expr::value(secret_hash))
        .filter(oidc_clients::Column::ClientId.eq(client_id))
        .filter(oidc_clients::Column::SecretHash.is_not_null())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

/// Deletes a client with its codes and consents; false when there was none.
pub async fn delete_client(db: &impl ConnectionTrait, client_id: &str) -> Result<bool, DbErr> {
    oidc_codes::Entity::delete_many()
        .filter(oidc_codes::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    oidc_consents::Entity::delete_many()
        .filter(oidc_consents::Column::ClientId.eq(client_id))
        .exec(db)
        .await?;
    let done = oidc_clients::Entity::delete_by_id(client_id.to_owned())
        .exec(db)
        .await?;
    Ok(done.rows_affected == 1)
}

pub async fn insert_code(db: &impl ConnectionTrait, row: oidc_codes::Model) -> Result<(), DbErr> {
    oidc_codes::Entity::insert(oidc_codes::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// What presenting a code found.
#[derive(Debug)]
pub enum Redemption {
    /// Taken now, by this caller only.
    Fresh(oidc_codes::Model),
    /// Redeemed before: a replay.
    Again(oidc_codes::Model),
    Expired,
    Unknown,
}

/// Takes a code in one conditional write, so of two racing redemptions one
/// wins and the other is a replay.
pub async fn redeem_code(
    db: &impl ConnectionTrait,
    code_hash: &str,
    now: NaiveDateTime,
) -> Result<Redemption, DbErr> {
    let taken = oidc_codes::Entity::update_many()
        .col_expr(oidc_codes::Column::Redeemed, Expr::value(now))
        .filter(oidc_codes::Column::CodeHash.eq(code_hash))
        .filter(oidc_codes::Column::Redeemed.is_null())
        .filter(oidc_codes::Column::Expires.gt(now))
        .exec(db)
        .await?
        .rows_affected;
    let row = oidc_codes::Entity::find_by_id(code_hash.to_owned())
        .one(db)
        .await?;
    Ok(match row {
        None => Redemption::Unknown,
        Some(row) if taken == 1 => Redemption::Fresh(row),
        Some(row) if row.redeemed.is_some() => Redemption::Again(row),
        Some(_) => Redemption::Expired,
    })
}

/// Records the session a redemption made (revoked if the code comes back).
pub async fn set_grant_session(
    db: &impl ConnectionTrait,
    code_hash: &str,
    session_hash: &str,
) -> Result<(), DbErr> {
    oidc_codes::Entity::update_many()
        .col_expr(
            oidc_codes::Column::GrantSession,
            Expr::value(session_hash.to_owned()),
        )
        .filter(oidc_codes::Column::CodeHash.eq(code_hash))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes codes that expired before `cutoff`.
pub async fn prune_codes(db: &impl ConnectionTrait, cutoff: NaiveDateTime) -> Result<u64, DbErr> {
    Ok(oidc_codes::Entity::delete_many()
        .filter(oidc_codes::Column::Expires.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// The scopes the user agreed to give the client, space-separated.
pub async fn consent(
    db: &impl ConnectionTrait,
    user_id: i64,
    client_id: &str,
) -> Result<Option<String>, DbErr> {
    Ok(
        oidc_consents::Entity::find_by_id((user_id, client_id.to_owned()))
            .one(db)
            .await?
            .map(|c| c.scope),
    )
}

pub async fn record_consent(
    db: &impl ConnectionTrait,
    user_id: i64,
    client_id: &str,
    scope: String,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    oidc_consents::Entity::insert(oidc_consents::ActiveModel {
        user_id: Set(user_id),
        client_id: Set(client_id.to_owned()),
        scope: Set(scope),
        created: Set(now),
    })
    .on_conflict(
        OnConflict::columns([
            oidc_consents::Column::UserId,
            oidc_consents::Column::ClientId,
        ])
        .update_columns([oidc_consents::Column::Scope, oidc_consents::Column::Created])
        .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    Ok(())
}

pub async fn insert_grant(db: &impl ConnectionTrait, row: oidc_grants::Model) -> Result<(), DbErr> {
    oidc_grants::Entity::insert(oidc_grants::ActiveModel::from(row))
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The grant a session serves, if it was made by a redemption.
pub async fn grant(
    db: &impl ConnectionTrait,
    session_hash: &str,
) -> Result<Option<oidc_grants::Model>, DbErr> {
    oidc_grants::Entity::find_by_id(session_hash.to_owned())
        .one(db)
        .await
}
