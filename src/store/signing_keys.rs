//! The server's signing keys of one purpose as a set: the one in use and
//! the retired ones still published (access-token keys). Rows are in
//! `server_keys`, sealed; see `security::server_key`.

use chrono::NaiveDateTime;
use entity::server_keys;
use sea_orm::DatabaseConnection;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder};

/// Every key of `purpose`, oldest first.
pub async fn all(
    db: &impl ConnectionTrait,
    purpose: &str,
) -> Result<Vec<server_keys::Model>, DbErr> {
    server_keys::Entity::find()
        .filter(server_keys::Column::Purpose.eq(purpose))
        .order_by_asc(server_keys::Column::Id)
        .all(db)
        .await
}

/// Which key a rotation replaces.
#[derive(Debug, Clone, Copy)]
pub enum Replace {
    /// Whatever is in use (an operator's rotation).
    Any,
    /// Only key `id`, and only if it was created before `cutoff` (the
    /// schedule: of several servers, one rotates).
    IfOlder { id: i64, cutoff: NaiveDateTime },
}

/// Retires the key in use and adds the new one, in one transaction. False
/// when `Replace::IfOlder` found nothing to replace.
pub async fn rotate(
    db: &DatabaseConnection,
    purpose: &str,
    replace: Replace,
    public_key: String,
    sealed_secret: String,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let mut retire = server_keys::Entity::update_many()
        .col_expr(server_keys::Column::Retired, Expr::value(now))
        .filter(server_keys::Column::Purpose.eq(purpose))
        .filter(server_keys::Column::Retired.is_null());
    if let Replace::IfOlder { id, cutoff } = replace {
        retire = retire
            .filter(server_keys::Column::Id.eq(id))
            .filter(server_keys::Column::Created.lt(cutoff));
    }
    let retired = retire.exec(&txn).await?.rows_affected;
    if matches!(replace, Replace::IfOlder { .. }) && retired == 0 {
        txn.rollback().await?;
        return Ok(false);
    }
    super::pubkey::insert_server_key(&txn, purpose, public_key, sealed_secret, now).await?;
    txn.commit().await?;
    Ok(true)
}

/// Deletes keys of `purpose` retired before `cutoff` (no token they signed
/// is still valid).
pub async fn delete_retired_before(
    db: &impl ConnectionTrait,
    purpose: &str,
    cutoff: NaiveDateTime,
) -> Result<u64, DbErr> {
    Ok(server_keys::Entity::delete_many()
        .filter(server_keys::Column::Purpose.eq(purpose))
        .filter(server_keys::Column::Retired.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}
