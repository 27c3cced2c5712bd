//! Cache invalidations between processes on one database.
//!
//! - The log (`cache_invalidations`), on every backend: each process
//!   appends its invalidations (`append`, one INSERT per batch) and reads
//!   the others' (`bounds`, `read`); `prune` drops old rows.
//! - On PostgreSQL also `NOTIFY authnzd_cache, '<origin>|<invalidation>'`
//!   and a `LISTEN`ing connection (sqlx's `PgListener` on sea-orm's pool),
//!   so the others hear at once rather than at their next read of the log.

use std::time::Duration;

use chrono::NaiveDateTime;
use entity::cache_invalidations as entry;
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbBackend, DbErr, EntityTrait,
    NotSet, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use tokio::sync::mpsc;

/// The channel every process of one database listens on.
pub const CHANNEL: &str = "authnzd_cache";

/// Whether this database can also carry invalidations as notifications.
pub fn notifies(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Appends `messages` from `origin` to the log, in order, in one statement.
pub async fn append(
    db: &impl ConnectionTrait,
    origin: &str,
    messages: &[String],
    at: NaiveDateTime,
) -> Result<(), DbErr> {
    if messages.is_empty() {
        return Ok(());
    }
    let rows = messages.iter().map(|m| entry::ActiveModel {
        id: NotSet,
        origin: Set(origin.to_owned()),
        message: Set(m.clone()),
        created_at: Set(at),
    });
    entry::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await?;
    Ok(())
}

/// The lowest and highest ids in the log (`None` when it is empty).
pub async fn bounds(db: &impl ConnectionTrait) -> Result<(Option<i64>, Option<i64>), DbErr> {
    let found = entry::Entity::find()
        .select_only()
        .column_as(entry::Column::Id.min(), "lo")
        .column_as(entry::Column::Id.max(), "hi")
        .into_tuple::<(Option<i64>, Option<i64>)>()
        .one(db)
        .await?;
    Ok(found.unwrap_or((None, None)))
}

/// Rows after `after`, and those of `also` (ids read as missing before,
/// which may have committed since), in id order, at most `limit`.
pub async fn read(
    db: &impl ConnectionTrait,
    after: i64,
    also: &[i64],
    limit: u64,
) -> Result<Vec<entry::Model>, DbErr> {
    let mut which = Condition::any().add(entry::Column::Id.gt(after));
    if !also.is_empty() {
        which = which.add(entry::Column::Id.is_in(also.iter().copied()));
    }
    entry::Entity::find()
        .filter(which)
        .order_by_asc(entry::Column::Id)
        .limit(limit)
        .all(db)
        .await
}

/// Deletes rows made before `cutoff`, but never the newest: readers count
/// on the highest id never going back (SQLite reuses a deleted top rowid,
/// older MariaDB restarts its counter at the highest id kept). How many.
pub async fn prune(db: &impl ConnectionTrait, cutoff: NaiveDateTime) -> Result<u64, DbErr> {
    let (_, Some(newest)) = bounds(db).await? else {
        return Ok(0);
    };
    Ok(entry::Entity::delete_many()
        .filter(entry::Column::CreatedAt.lt(cutoff))
        .filter(entry::Column::Id.lt(newest))
        .exec(db)
        .await?
        .rows_affected)
}

/// Notifies the other processes (PostgreSQL only), all `payloads` in one
/// statement (each its own notification, delivered in order).
pub async fn notify_all(db: &DatabaseConnection, payloads: &[String]) -> Result<(), DbErr> {
    if !notifies(db) || payloads.is_empty() {
        return Ok(());
    }
    let calls: Vec<String> = (0..payloads.len())
        .map(|i| format!("pg_notify($1, ${})", i + 2))
        .collect();
    let sql = format!("SELECT {}", calls.join(", "));
    let values = std::iter::once(CHANNEL.into()).chain(payloads.iter().map(|p| p.as_str().into()));
    db.execute_raw(Statement::from_sql_and_values(
        DbBackend::Postgres,
        sql,
        values,
    ))
    .await?;
    Ok(())
}

/// What the listener heard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heard {
    /// A payload from some process (this one's too).
    Message(String),
    /// The listener (re)connected: anything sent meanwhile was lost.
    Connected,
}

/// Listens until the pool closes or `out` is dropped, reconnecting after
/// a second when the connection is lost (each reconnection is `Connected`).
pub async fn listen(db: DatabaseConnection, out: mpsc::Sender<Heard>) {
    if !notifies(&db) {
        return;
    }
    let pool = db.get_postgres_connection_pool().clone();
    loop {
        let listener = async {
            let mut l = PgListener::connect_with(&pool).await?;
            l.listen(CHANNEL).await?;
            Ok::<_, sea_orm::sqlx::Error>(l)
        };
        let mut listener = match listener.await {
            Ok(l) => l,
            Err(sea_orm::sqlx::Error::PoolClosed) => return,
            Err(e) => {
                tracing::warn!(error = %e, "cache invalidation listener cannot connect");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if out.send(Heard::Connected).await.is_err() {
            return;
        }
        loop {
            let heard = match listener.try_recv().await {
                Ok(Some(n)) => Heard::Message(n.payload().to_owned()),
                // Lost and reconnected (eagerly).
                Ok(None) => Heard::Connected,
                Err(sea_orm::sqlx::Error::PoolClosed) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "cache invalidation listener lost");
                    break;
                }
            };
            if out.send(heard).await.is_err() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
