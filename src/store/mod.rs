//! The only place that builds queries. Each file holds one aggregate.

use std::time::Duration;

use migration::{Migrator, MigratorTrait};
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbErr};

use crate::config::Config;

pub mod apikeys;
pub mod audit;
pub mod authnzerver;
pub mod invalidation;
pub mod passwordless;
pub mod pubkey;
pub mod refresh;
pub mod seed;
pub mod sessions;
pub mod signing_keys;
pub mod totp;
pub mod users;

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

/// Opens the pool. SQLite files get WAL, `synchronous=NORMAL`, a busy timeout
/// and foreign keys; every backend gets a short acquire timeout so a stuck
/// database surfaces as 503 instead of a hung request.
pub async fn connect(config: &Config) -> Result<DatabaseConnection, DbErr> {
    if let Some(path) = crate::config::sqlite_path(&config.database.database_url) {
        create_private(&path)
            .map_err(|e| DbErr::Custom(format!("cannot create {}: {e}", path.display())))?;
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
        });
    Database::connect(opts).await
}

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
