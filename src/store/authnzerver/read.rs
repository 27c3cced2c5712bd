//! Reading authnzerver's rows as its SQLAlchemy models wrote them, on any
//! of the three backends (SQLite keeps datetimes and JSON as text).

use chrono::NaiveDateTime;
use sea_orm::{ConnectionTrait, DbBackend, DbErr, QueryResult};
use serde_json::Value;

use super::{UNUSED_TABLES, quoted, stmt, tables};

/// authnzerver's rows, as they are there.
#[derive(Debug, Default)]
pub struct Snapshot {
    pub roles: Vec<(String, String)>,
    pub users: Vec<OldUser>,
    pub sessions: Vec<OldSession>,
    pub keys: Vec<OldKey>,
    pub free_keys: Vec<OldFreeKey>,
    /// Rows in `UNUSED_TABLES`, per table that has any.
    pub unused: Vec<(String, u64)>,
}

#[derive(Debug, Clone)]
pub struct OldUser {
    pub user_id: i64,
    pub system_id: String,
    pub full_name: Option<String>,
    pub password: String,
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub emailverify_sent_datetime: Option<NaiveDateTime>,
    pub emailforgotpass_sent_datetime: Option<NaiveDateTime>,
    pub emailchangepass_sent_datetime: Option<NaiveDateTime>,
    pub last_login_success: Option<NaiveDateTime>,
    pub last_login_try: Option<NaiveDateTime>,
    pub failed_login_tries: Option<i64>,
    pub extra_info: Option<Value>,
    pub created_on: NaiveDateTime,
    pub last_updated: NaiveDateTime,
    pub user_role: String,
}

#[derive(Debug, Clone)]
pub struct OldSession {
    /// The token itself: authnzerver keeps it in clear.
    pub session_token: String,
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: i64,
    pub created: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub extra_info_json: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct OldKey {
    /// The key's `tkn`, in clear.
    pub apikey: String,
    pub issued: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub not_valid_before: NaiveDateTime,
    pub user_id: i64,
    pub user_role: String,
    pub session_token: String,
}

#[derive(Debug, Clone)]
pub struct OldFreeKey {
    pub apikey: String,
    pub issued: NaiveDateTime,
    pub expires: NaiveDateTime,
    pub not_valid_before: NaiveDateTime,
    /// argon2 PHC string of the refresh token.
    pub refresh_token: String,
    pub refresh_issued: NaiveDateTime,
    pub refresh_expires: NaiveDateTime,
    pub refresh_nbf: NaiveDateTime,
    pub user_id: i64,
    pub user_role: String,
}

/// A JSON column as text, whatever type the backend gave it.
fn json_text(db: &impl ConnectionTrait, col: &str) -> String {
    match db.get_database_backend() {
        DbBackend::MySql => format!("CAST({col} AS CHAR)"),
        _ => format!("CAST({col} AS TEXT)"),
    }
}

fn int(r: &QueryResult, col: &str) -> Result<i64, DbErr> {
    r.try_get::<i64>("", col)
        .or_else(|_| r.try_get::<i32>("", col).map(i64::from))
}

fn opt_int(r: &QueryResult, col: &str) -> Result<Option<i64>, DbErr> {
    r.try_get::<Option<i64>>("", col)
        .or_else(|_| r.try_get::<Option<i32>>("", col).map(|v| v.map(i64::from)))
}

fn text(r: &QueryResult, col: &str) -> Result<String, DbErr> {
    r.try_get::<String>("", col)
}

fn opt_text(r: &QueryResult, col: &str) -> Result<Option<String>, DbErr> {
    r.try_get::<Option<String>>("", col)
}

fn flag(r: &QueryResult, col: &str) -> Result<bool, DbErr> {
    r.try_get::<bool>("", col)
        .or_else(|_| int(r, col).map(|v| v != 0))
}

fn time(r: &QueryResult, col: &str) -> Result<NaiveDateTime, DbErr> {
    opt_time(r, col)?.ok_or_else(|| DbErr::Custom(format!("{col} is null")))
}

/// SQLAlchemy writes SQLite datetimes as text (`2026-12-01 11:37:03.123456`).
fn opt_time(r: &QueryResult, col: &str) -> Result<Option<NaiveDateTime>, DbErr> {
    if let Ok(v) = r.try_get::<Option<NaiveDateTime>>("", col) {
        return Ok(v);
    }
    match opt_text(r, col)? {
        None => Ok(None),
        Some(s) => crate::timefmt::parse(&s)
            .map(Some)
            .ok_or_else(|| DbErr::Custom(format!("{col}: not a datetime: {s}"))),
    }
}

/// A JSON column read as text; `null` and unparsable text are `None`.
fn json(r: &QueryResult, col: &str) -> Result<Option<Value>, DbErr> {
    Ok(opt_text(r, col)?
        .and_then(|s| serde_json::from_str::<Value>(&s).ok())
        .filter(|v| !v.is_null()))
}

async fn rows(db: &impl ConnectionTrait, sql: String) -> Result<Vec<QueryResult>, DbErr> {
    db.query_all_raw(stmt(db, sql)).await
}

/// Every row of authnzerver's tables that authnzd converts, and the row
/// counts of those it does not.
pub async fn read(db: &impl ConnectionTrait) -> Result<Snapshot, DbErr> {
    let q = |name: &str| quoted(db, name);
    let mut snap = Snapshot::default();
    for r in rows(
        db,
        format!("SELECT name, {} AS descr FROM roles", q("desc")),
    )
    .await?
    {
        snap.roles.push((text(&r, "name")?, text(&r, "descr")?));
    }
    let sql = format!(
        "SELECT user_id, system_id, full_name, password, email, email_verified, is_active, \
         emailverify_sent_datetime, emailforgotpass_sent_datetime, emailchangepass_sent_datetime, \
         last_login_success, last_login_try, failed_login_tries, {} AS extra_info, created_on, \
         last_updated, user_role FROM users ORDER BY user_id",
        json_text(db, "extra_info")
    );
    for r in rows(db, sql).await? {
        snap.users.push(OldUser {
            user_id: int(&r, "user_id")?,
            system_id: text(&r, "system_id")?,
            full_name: opt_text(&r, "full_name")?,
            password: text(&r, "password")?,
            email: text(&r, "email")?,
            email_verified: flag(&r, "email_verified")?,
            is_active: flag(&r, "is_active")?,
            emailverify_sent_datetime: opt_time(&r, "emailverify_sent_datetime")?,
            emailforgotpass_sent_datetime: opt_time(&r, "emailforgotpass_sent_datetime")?,
            emailchangepass_sent_datetime: opt_time(&r, "emailchangepass_sent_datetime")?,
            last_login_success: opt_time(&r, "last_login_success")?,
            last_login_try: opt_time(&r, "last_login_try")?,
            failed_login_tries: opt_int(&r, "failed_login_tries")?,
            extra_info: json(&r, "extra_info")?,
            created_on: time(&r, "created_on")?,
            last_updated: time(&r, "last_updated")?,
            user_role: text(&r, "user_role")?,
        });
    }
    let sql = format!(
        "SELECT session_token, ip_address, user_agent, user_id, created, expires, \
         {} AS extra_info_json FROM sessions",
        json_text(db, "extra_info_json")
    );
    for r in rows(db, sql).await? {
        snap.sessions.push(OldSession {
            session_token: text(&r, "session_token")?,
            ip_address: text(&r, "ip_address")?,
            user_agent: text(&r, "user_agent")?,
            user_id: int(&r, "user_id")?,
            created: time(&r, "created")?,
            expires: time(&r, "expires")?,
            extra_info_json: json(&r, "extra_info_json")?,
        });
    }
    let sql = "SELECT apikey, issued, expires, not_valid_before, user_id, user_role, \
               session_token FROM apikeys";
    for r in rows(db, sql.into()).await? {
        snap.keys.push(OldKey {
            apikey: text(&r, "apikey")?,
            issued: time(&r, "issued")?,
            expires: time(&r, "expires")?,
            not_valid_before: time(&r, "not_valid_before")?,
            user_id: int(&r, "user_id")?,
            user_role: text(&r, "user_role")?,
            session_token: text(&r, "session_token")?,
        });
    }
    let sql = "SELECT apikey, issued, expires, not_valid_before, refresh_token, refresh_issued, \
               refresh_expires, refresh_nbf, user_id, user_role FROM apikeys_nosession";
    for r in rows(db, sql.into()).await? {
        snap.free_keys.push(OldFreeKey {
            apikey: text(&r, "apikey")?,
            issued: time(&r, "issued")?,
            expires: time(&r, "expires")?,
            not_valid_before: time(&r, "not_valid_before")?,
            refresh_token: text(&r, "refresh_token")?,
            refresh_issued: time(&r, "refresh_issued")?,
            refresh_expires: time(&r, "refresh_expires")?,
            refresh_nbf: time(&r, "refresh_nbf")?,
            user_id: int(&r, "user_id")?,
            user_role: text(&r, "user_role")?,
        });
    }
    let present = tables(db).await?;
    for table in UNUSED_TABLES {
        if present.iter().any(|t| t.eq_ignore_ascii_case(table)) {
            let r = rows(db, format!("SELECT COUNT(*) AS n FROM {}", q(table))).await?;
            let n = r.first().map(|r| int(r, "n")).transpose()?.unwrap_or(0);
            if n > 0 {
                snap.unused.push(((*table).to_owned(), n.unsigned_abs()));
            }
        }
    }
    Ok(snap)
}
