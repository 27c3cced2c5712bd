//! Cache invalidations between processes on one PostgreSQL database:
//! `NOTIFY authnzd_cache, '<origin>|<invalidation>'` and a `LISTEN`ing
//! connection (sqlx's `PgListener` on sea-orm's pool). MariaDB and SQLite
//! have no such channel: there a cached entry lives at most
//! `session_cache_ttl`.

use std::time::Duration;

use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, Statement};
use tokio::sync::mpsc;

/// The channel every process of one database listens on.
pub const CHANNEL: &str = "authnzd_cache";

/// Whether this database can carry invalidations.
pub fn supported(db: &DatabaseConnection) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// Tells the other processes (PostgreSQL only), all `payloads` in one
/// statement (each its own notification, delivered in order).
pub async fn publish_all(db: &DatabaseConnection, payloads: &[String]) -> Result<(), DbErr> {
    if !supported(db) || payloads.is_empty() {
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
    if !supported(&db) {
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
