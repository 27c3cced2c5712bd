//! Sessions, looked up by the SHA-256 digest of their token.

use chrono::NaiveDateTime;
use entity::sessions;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, Set, SqlErr};
use serde_json::Value;

use sea_orm::DbErr;

use super::Writes;

pub struct NewSession {
    pub token_hash: String,
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: i64,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub extra_info_json: Option<Value>,
    /// How it was signed in (`Amr::stored`), and when.
    pub amr: String,
    pub auth_time: Option<NaiveDateTime>,
}

fn active(s: &NewSession) -> sessions::ActiveModel {
    sessions::ActiveModel {
        token_hash: Set(s.token_hash.clone()),
        ip_address: Set(s.ip_address.clone()),
        user_agent: Set(s.user_agent.clone()),
        user_id: Set(s.user_id),
        created: Set(s.created),
        expires: Set(s.expires),
        extra_info_json: Set(s.extra_info_json.clone()),
        amr: Set(s.amr.clone()),
        auth_time: Set(s.auth_time),
    }
}

/// What an insert found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    Done,
    /// The user is gone (deleted since it was looked up).
    NoSuchUser,
}

/// One statement, nothing read back (sea-orm's `insert` reads the row
/// again: `RETURNING`, or a second query on MariaDB).
pub async fn insert(db: &impl ConnectionTrait, s: NewSession) -> Result<Inserted, DbErr> {
    match sessions::Entity::insert(active(&s))
        .exec_without_returning(db)
        .await
    {
        Ok(_) => Ok(Inserted::Done),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
            Ok(Inserted::NoSuchUser)
        }
        Err(e) => Err(e),
    }
}

/// Inserts the rows as one statement (one transaction); each row's
/// outcome, in order.
pub async fn insert_all(
    db: &impl ConnectionTrait,
    rows: Vec<NewSession>,
) -> Vec<Result<Inserted, DbErr>> {
    let n = rows.len();
    if n == 1 {
        let mut rows = rows;
        return match rows.pop() {
            Some(row) => vec![insert(db, row).await],
            None => Vec::new(),
        };
    }
    match sessions::Entity::insert_many(rows.iter().map(active))
        .exec_without_returning(db)
        .await
    {
        Ok(_) => (0..n).map(|_| Ok(Inserted::Done)).collect(),
        // A user deleted meanwhile fails the whole statement: each row
        // again on its own, so only that user's caller hears of it.
        Err(e) if matches!(e.sql_err(), Some(SqlErr::ForeignKeyConstraintViolation(_))) => {
            let mut each = Vec::with_capacity(n);
            for row in rows {
                each.push(insert(db, row).await);
            }
            each
        }
        Err(e) => {
            let why = e.to_string();
            (0..n).map(|_| Err(DbErr::Custom(why.clone()))).collect()
        }
    }
}

/// For each (digest, now): the session with that digest, unexpired at that
/// `now`; one query for all.
pub async fn find_live_all(
    db: &impl ConnectionTrait,
    asked: Vec<(String, NaiveDateTime)>,
) -> Vec<Result<Option<sessions::Model>, DbErr>> {
    let found = with_digests(asked.iter().map(|(h, _)| h.as_str()))
        .all(db)
        .await;
    match found {
        Ok(rows) => {
            let by_hash: std::collections::HashMap<&str, &sessions::Model> =
                rows.iter().map(|r| (r.token_hash.as_str(), r)).collect();
            asked
                .iter()
                .map(|(h, now)| {
                    Ok(by_hash
                        .get(h.as_str())
                        .filter(|r| r.expires > *now)
                        .map(|r| (*r).clone()))
                })
                .collect()
        }
        Err(e) => {
            let why = e.to_string();
            asked
                .iter()
                .map(|_| Err(DbErr::Custom(why.clone())))
                .collect()
        }
    }
}

/// The sessions with any of these digests: a primary key lookup each
/// (`tests/lookup_plans.rs`). Expiry is checked by the caller: with an
/// `expires >` term PostgreSQL and MariaDB chose the `expires` index on a
/// small table, which would scan every live session.
pub fn with_digests<'a>(
    digests: impl IntoIterator<Item = &'a str>,
) -> sea_orm::Select<sessions::Entity> {
    sessions::Entity::find().filter(sessions::Column::TokenHash.is_in(digests))
}

/// Deletes one session; true if it existed.
pub async fn delete(w: Writes<'_>, token_hash: &str) -> Result<bool, DbErr> {
    let res = sessions::Entity::delete_many()
        .filter(sessions::Column::TokenHash.eq(token_hash))
        .exec(w.db)
        .await?;
    w.cache.invalidate_session(token_hash).await;
    Ok(res.rows_affected > 0)
}

/// The user's sessions alive at `now`, newest first.
pub async fn live_for_user(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<Vec<sessions::Model>, DbErr> {
    use sea_orm::QueryOrder;
    sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(user_id))
        .filter(sessions::Column::Expires.gt(now))
        .order_by_desc(sessions::Column::Created)
        .all(db)
        .await
}

/// Deletes sessions that expired before `cutoff`; how many.
pub async fn delete_expired_before(
    db: &impl ConnectionTrait,
    cutoff: NaiveDateTime,
) -> Result<u64, DbErr> {
    Ok(sessions::Entity::delete_many()
        .filter(sessions::Column::Expires.lt(cutoff))
        .exec(db)
        .await?
        .rows_affected)
}

/// Deletes every session of `user_id` except `keep` (a token digest);
/// returns how many went.
pub async fn delete_for_user(
    w: Writes<'_>,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    let deleted = delete_for_user_in(w.db, user_id, keep).await?;
    w.cache.revoke_user_sessions(user_id).await;
    Ok(deleted)
}

/// As `delete_for_user`, inside a transaction whose caller invalidates.
pub(super) async fn delete_for_user_in(
    db: &impl ConnectionTrait,
    user_id: i64,
    keep: Option<&str>,
) -> Result<u64, DbErr> {
    let mut q = sessions::Entity::delete_many().filter(sessions::Column::UserId.eq(user_id));
    if let Some(keep) = keep {
        q = q.filter(sessions::Column::TokenHash.ne(keep));
    }
    Ok(q.exec(db).await?.rows_affected)
}

/// Replaces a live session's `extra_info_json`; false if there is none.
pub async fn set_extra_info(
    w: Writes<'_>,
    token_hash: &str,
    extra: Option<Value>,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    use sea_orm::sea_query::Expr;
    let res = sessions::Entity::update_many()
        .col_expr(sessions::Column::ExtraInfoJson, Expr::value(extra))
        .filter(sessions::Column::TokenHash.eq(token_hash))
        .filter(sessions::Column::Expires.gt(now))
        .exec(w.db)
        .await?;
    w.cache.invalidate_session(token_hash).await;
    Ok(res.rows_affected > 0)
}
