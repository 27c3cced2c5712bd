//! authnzerver's schema (its `authdb.py`): telling it apart from ours,
//! reading its rows, and — for a conversion in place — dropping its tables
//! and writing the converted rows into ours. What to convert and how lives
//! in `crate::import`; this file only builds the SQL.

use entity::{apikeys, apikeys_nosession, roles, users};
use migration::{Migrator, MigratorTrait};
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DbBackend, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, Statement,
};

/// What a database holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Found {
    /// No `users` table: authnzd's migrations make the schema.
    Empty,
    /// authnzd's own schema.
    Ours,
    /// authnzerver's schema, complete enough to convert.
    Authnzerver,
    /// Something else; the text says what is wrong.
    Other(String),
}

/// Columns authnzerver's tables must have for a conversion.
const OLD_COLUMNS: &[(&str, &[&str])] = &[
    ("roles", &["name", "desc"]),
    (
        "users",
        &[
            "user_id",
            "system_id",
            "full_name",
            "password",
            "email",
            "email_verified",
            "is_active",
            "emailverify_sent_datetime",
            "emailforgotpass_sent_datetime",
            "emailchangepass_sent_datetime",
            "last_login_success",
            "last_login_try",
            "failed_login_tries",
            "extra_info",
            "created_on",
            "last_updated",
            "user_role",
        ],
    ),
    (
        "sessions",
        &[
            "session_token",
            "ip_address",
            "user_agent",
            "user_id",
            "created",
            "expires",
            "extra_info_json",
        ],
    ),
    (
        "apikeys",
        &[
            "apikey",
            "issued",
            "expires",
            "not_valid_before",
            "user_id",
            "user_role",
            "session_token",
        ],
    ),
    (
        "apikeys_nosession",
        &[
            "apikey",
            "issued",
            "expires",
            "not_valid_before",
            "refresh_token",
            "refresh_issued",
            "refresh_expires",
            "refresh_nbf",
            "user_id",
            "user_role",
        ],
    ),
];

/// authnzerver's tables authnzd has no use for: converted only while empty.
pub const UNUSED_TABLES: &[&str] = &["user_groups", "preferences", "groups"];

mod read;

pub use read::{OldFreeKey, OldKey, OldSession, OldUser, Snapshot, read};

/// `name` quoted as the backend quotes identifiers.
fn quoted(db: &impl ConnectionTrait, name: &str) -> String {
    match db.get_database_backend() {
        DbBackend::MySql => format!("`{name}`"),
        _ => format!("\"{name}\""),
    }
}

fn stmt(db: &impl ConnectionTrait, sql: String) -> Statement {
    Statement::from_string(db.get_database_backend(), sql)
}

async fn strings(db: &impl ConnectionTrait, sql: String) -> Result<Vec<String>, DbErr> {
    let rows = db.query_all_raw(stmt(db, sql)).await?;
    rows.iter()
        .map(|r| r.try_get_by_index::<String>(0))
        .collect::<Result<Vec<_>, _>>()
}

/// The tables of the connection's database (its current schema).
pub async fn tables(db: &impl ConnectionTrait) -> Result<Vec<String>, DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table'",
        DbBackend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
             WHERE table_schema = current_schema()"
        }
        _ => {
            "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
             WHERE table_schema = DATABASE()"
        }
    };
    strings(db, sql.into()).await
}

async fn columns(db: &impl ConnectionTrait, table: &str) -> Result<Vec<String>, DbErr> {
    let sql = match db.get_database_backend() {
        DbBackend::Sqlite => format!("SELECT name FROM pragma_table_info('{table}')"),
        DbBackend::Postgres => format!(
            "SELECT CAST(column_name AS TEXT) FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        _ => format!(
            "SELECT CAST(column_name AS CHAR) FROM information_schema.columns \
             WHERE table_schema = DATABASE() AND table_name = '{table}'"
        ),
    };
    let mut cols = strings(db, sql).await?;
    cols.iter_mut().for_each(|c| *c = c.to_ascii_lowercase());
    Ok(cols)
}

/// Looks at the tables and columns to tell what the database holds.
pub async fn detect(db: &impl ConnectionTrait) -> Result<Found, DbErr> {
    let tables: Vec<String> = tables(db)
        .await?
        .into_iter()
        .map(|t| t.to_ascii_lowercase())
        .collect();
    let has = |t: &str| tables.iter().any(|x| x == t);
    if !has("users") {
        return Ok(Found::Empty);
    }
    let session_cols = if has("sessions") {
        columns(db, "sessions").await?
    } else {
        Vec::new()
    };
    let old_sessions = session_cols.iter().any(|c| c == "session_token");
    if has("seaql_migrations") {
        if old_sessions {
            return Ok(Found::Other(
                "authnzd's migrations were applied over an authnzerver database; restore the \
                 database from before that start and run authnzd on it again"
                    .into(),
            ));
        }
        return Ok(Found::Ours);
    }
    let mut missing = Vec::new();
    for (table, want) in OLD_COLUMNS {
        if !has(table) {
            missing.push(format!("table {table}"));
            continue;
        }
        let got = columns(db, table).await?;
        missing.extend(
            want.iter()
                .filter(|c| !got.iter().any(|g| g == *c))
                .map(|c| format!("{table}.{c}")),
        );
    }
    if missing.is_empty() {
        Ok(Found::Authnzerver)
    } else {
        Ok(Found::Other(format!(
            "a users table that is neither authnzd's nor authnzerver's (missing {})",
            missing.join(", ")
        )))
    }
}

/// Drops authnzerver's tables, those referring to others first.
pub async fn drop_old_tables(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    let q = |name: &str| quoted(db, name);
    for table in [
        "apikeys",
        "apikeys_nosession",
        "sessions",
        "user_groups",
        "preferences",
        "groups",
        "users",
        "roles",
    ] {
        db.execute_unprepared(&format!("DROP TABLE IF EXISTS {}", q(table)))
            .await?;
    }
    Ok(())
}

/// authnzd's schema, made inside the caller's transaction.
pub async fn create_ours(txn: &sea_orm::DatabaseTransaction) -> Result<(), DbErr> {
    Migrator::up(txn, None).await
}

/// Whether authnzd's tables hold anything beyond a first start's seed
/// (the reserved users 1–3 and the roles).
pub async fn holds_data(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    let users = users::Entity::find().count(db).await?;
    let sessions = entity::sessions::Entity::find().count(db).await?;
    let keys = apikeys::Entity::find().count(db).await?
        + apikeys_nosession::Entity::find().count(db).await?;
    Ok(users > 3 || sessions > 0 || keys > 0)
}

/// Clears authnzd's users and roles (a first start's seed) before an import.
pub async fn clear_seed(db: &impl ConnectionTrait) -> Result<(), DbErr> {
    users::Entity::delete_many().exec(db).await?;
    roles::Entity::delete_many().exec(db).await?;
    Ok(())
}

/// The converted rows, written into authnzd's tables.
pub struct Converted {
    pub roles: Vec<roles::Model>,
    pub users: Vec<users::Model>,
    pub sessions: Vec<entity::sessions::Model>,
    pub keys: Vec<apikeys::Model>,
    pub free_keys: Vec<apikeys_nosession::Model>,
}

pub async fn write(db: &impl ConnectionTrait, c: Converted) -> Result<(), DbErr> {
    for r in c.roles {
        r.into_active_model().reset_all().insert(db).await?;
    }
    for u in c.users {
        u.into_active_model().reset_all().insert(db).await?;
    }
    for s in c.sessions {
        s.into_active_model().reset_all().insert(db).await?;
    }
    for k in c.keys {
        k.into_active_model().reset_all().insert(db).await?;
    }
    for k in c.free_keys {
        k.into_active_model().reset_all().insert(db).await?;
    }
    // Explicit ids do not move PostgreSQL's sequence; new users must not
    // collide with imported ones.
    if db.get_database_backend() == DbBackend::Postgres {
        db.execute_unprepared(
            "SELECT setval(pg_get_serial_sequence('users', 'user_id'), \
             COALESCE((SELECT MAX(user_id) FROM users), 1))",
        )
        .await?;
    }
    Ok(())
}

/// An SQLite database copied, consistent, to `target` (which must not exist
/// or be empty): `VACUUM INTO`.
pub async fn sqlite_backup(
    db: &impl ConnectionTrait,
    target: &std::path::Path,
) -> Result<(), DbErr> {
    let path = target.to_string_lossy().replace('\'', "''");
    db.execute_unprepared(&format!("VACUUM INTO '{path}'"))
        .await
        .map(|_| ())
}
