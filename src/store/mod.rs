//! The only place that builds queries. Each file holds one aggregate.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr, SqliteTransactionMode,
    TransactionOptions, TransactionTrait,
};

use crate::config::Config;

pub mod apikeys;
pub mod audit;
pub mod authnzerver;
pub mod batch;
pub mod grants;
pub mod invalidation;
pub mod lockout;
pub mod oidc;
pub mod passkeys;
pub mod passwordless;
pub mod pubkey;
pub mod refresh;
pub mod seed;
pub mod sessions;
pub mod signing_keys;
pub mod totp;
pub mod users;

/// The database and the session cache its writes must keep true. A write
/// that changes a row the cache holds (a user, a session) takes this rather
/// than a bare connection, and drops what the cache holds of the row once
/// it is committed — here, and through the cache's outbox in every other
/// process — so no caller can forget to.
#[derive(Clone, Copy)]
pub struct Writes<'a> {
    pub db: &'a DatabaseConnection,
    cache: &'a crate::cache::SessionCache,
}

impl<'a> Writes<'a> {
    pub fn new(db: &'a DatabaseConnection, cache: &'a crate::cache::SessionCache) -> Writes<'a> {
        Writes { db, cache }
    }
}

/// The row a primary or unique key selects (at most one). Not
/// `Select::one`: its `LIMIT ?` is a bound integer SQLite's planner reads,
/// so every execution, which binds it anew, re-prepared the statement; that
/// was most of the cost of a session lookup missing the cache.
pub(crate) async fn by_key<E: sea_orm::EntityTrait>(
    select: sea_orm::Select<E>,
    db: &impl ConnectionTrait,
) -> Result<Option<E::Model>, DbErr> {
    Ok(select.all(db).await?.into_iter().next())
}

/// Starts a transaction that will write. SQLite begins it IMMEDIATE: a
/// deferred one that reads and then writes fails at once with SQLITE_BUSY,
/// busy timeout or not, when another connection committed in between (a
/// lock toggled while start-up chores wrote answered 503 in CI); IMMEDIATE
/// takes the write lock first and waits for it within the busy timeout.
/// Other backends: a plain BEGIN.
pub async fn begin_write<C: TransactionTrait>(db: &C) -> Result<C::Transaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..TransactionOptions::default()
    })
    .await
}

/// Opens the pool. SQLite files get WAL, `synchronous=NORMAL`, a busy timeout
/// and foreign keys; every backend gets a short acquire timeout so a stuck
/// database surfaces as 503 instead of a hung request.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = crate::config::sqlite_path(&config.database.database_url) {
        create_private(&path).map_err(|e| {
            let url = &config.database.database_url;
            let why = (e.kind() == std::io::ErrorKind::NotFound)
                .then(|| crate::config::sqlite_directory_missing(url))
                .flatten();
            DbErr::Custom(why.unwrap_or_else(|| format!("cannot create {}: {e}", path.display())))
        })?;
    }
    let mut opts = ConnectOptions::new(config.database.database_url.clone());
    opts.max_connections(config.database.db_max_connections)
        .min_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .connect_timeout(Duration::from_secs(5))
        .sqlx_logging(false)
        .map_sqlx_sqlite_opts(|o| {
            o.journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // After each checkpoint restart the WAL file is cut back to this.
                .pragma("journal_size_limit", WAL_SIZE_LIMIT.to_string())
                .pragma("cache_size", SQLITE_CACHE_SIZE)
        });
    Database::connect(opts).await
}

/// Each pooled SQLite connection's page cache (negative: KiB). SQLite's
/// default is 2 MiB, which with 8 connections was 12 MiB of the hot RSS
/// over a million sessions; pages it drops are still in the kernel's page
/// cache, a `pread` away.
const SQLITE_CACHE_SIZE: &str = "-1024";

/// Bytes the SQLite WAL file is cut back to once checkpointed.
const WAL_SIZE_LIMIT: u64 = 64 * 1024 * 1024;

/// SQLite: copies the WAL into the database and starts it over (waiting up
/// to the busy timeout for readers). SQLite's own checkpoints never restart
/// the WAL while readers keep arriving, so under steady load it would grow
/// without bound (3 GB a minute of `session-new` was seen). Other backends:
/// nothing.
pub async fn checkpoint(db: &DatabaseConnection) -> Result<(), DbErr> {
    if db.get_database_backend() != sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    db.execute_unprepared("PRAGMA wal_checkpoint(RESTART)")
        .await?;
    Ok(())
}

/// Creates a missing SQLite file readable by its owner only (0600, as
/// authnzerver insists); SQLite gives its `-wal` and `-shm` files the same
/// mode. An existing file is left as it is.
fn create_private(path: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Applies pending migrations.
pub async fn migrate(db: &DatabaseConnection) -> Result<(), DbErr> {
    Migrator::up(db, None).await
}

/// The pool's open connections and how many of them are idle.
pub fn pool_stats(db: &DatabaseConnection) -> (u64, u64) {
    let (size, idle) = match db.get_database_backend() {
        sea_orm::DbBackend::Postgres => {
            let p = db.get_postgres_connection_pool();
            (p.size(), p.num_idle())
        }
        sea_orm::DbBackend::MySql => {
            let p = db.get_mysql_connection_pool();
            (p.size(), p.num_idle())
        }
        sea_orm::DbBackend::Sqlite => {
            let p = db.get_sqlite_connection_pool();
            (p.size(), p.num_idle())
        }
        _ => (0, 0),
    };
    (u64::from(size), u64::try_from(idle).unwrap_or(0))
}

/// Whether the database answers and holds a users table authnzd can read
/// (a wrong schema is as unusable as a database that is down).
pub async fn ping(db: &DatabaseConnection) -> bool {
    use sea_orm::EntityTrait;
    by_key(entity::users::Entity::find_by_id(seed::ANONYMOUS_ID), db)
        .await
        .is_ok()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use sea_orm::ConnectionTrait;

    use super::{begin_write, connect};
    use crate::config::Config;

    /// A transaction that reads and then writes while another connection
    /// commits a write in between: begun deferred, its write fails at once
    /// with SQLITE_BUSY; begun by `begin_write`, the other write waits and
    /// both land.
    #[tokio::test]
    async fn a_read_then_write_transaction_outlasts_a_write_in_between() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = Config::default();
        config.database.database_url = format!("sqlite://{}/t.sqlite", dir.path().display());
        let db = connect(&config).await.unwrap();
        db.execute_unprepared("CREATE TABLE t (n INTEGER NOT NULL)")
            .await
            .unwrap();
        db.execute_unprepared("INSERT INTO t (n) VALUES (0)")
            .await
            .unwrap();

        let txn = begin_write(&db).await.unwrap();
        txn.execute_unprepared("SELECT n FROM t").await.unwrap();
        let other = tokio::spawn({
            let db = db.clone();
            async move { db.execute_unprepared("UPDATE t SET n = n + 10").await }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
        txn.execute_unprepared("UPDATE t SET n = n + 1")
            .await
            .unwrap();
        txn.commit().await.unwrap();
        other.await.unwrap().unwrap();

        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT n FROM t",
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get::<i64>("", "n").unwrap(), 11);
    }
}
