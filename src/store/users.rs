//! Users: lookups, creation, edits, lockout bookkeeping, deletion.

use chrono::NaiveDateTime;
use entity::{sessions, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, PaginatorTrait, QueryFilter, QueryOrder, Set, TransactionTrait,
};
use serde_json::Value;

use crate::security::lockout::FailureState;

pub async fn exists(db: &impl ConnectionTrait, user_id: i64) -> Result<bool, DbErr> {
    Ok(users::Entity::find_by_id(user_id).count(db).await? > 0)
}

pub async fn by_id(db: &impl ConnectionTrait, user_id: i64) -> Result<Option<users::Model>, DbErr> {
    super::by_key(users::Entity::find_by_id(user_id), db).await
}

/// By the normalised address.
pub async fn by_email(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Option<users::Model>, DbErr> {
    // `email` is unique.
    super::by_key(
        users::Entity::find().filter(users::Column::Email.eq(email)),
        db,
    )
    .await
}

/// All users, or one, in id order.
/// The user with this E.164 phone number.
pub async fn by_phone(
    db: &impl ConnectionTrait,
    phone: &str,
) -> Result<Option<users::Model>, DbErr> {
    users::Entity::find()
        .filter(users::Column::Phone.eq(phone))
        .one(db)
        .await
}

pub async fn list(
    db: &impl ConnectionTrait,
    user_id: Option<i64>,
) -> Result<Vec<users::Model>, DbErr> {
    let mut q = users::Entity::find().order_by_asc(users::Column::UserId);
    if let Some(id) = user_id {
        q = q.filter(users::Column::UserId.eq(id));
    }
    q.all(db).await
}

/// Users whose `column` equals `value` (columns the caller has whitelisted).
pub async fn matching(
    db: &impl ConnectionTrait,
    column: users::Column,
    value: sea_orm::Value,
) -> Result<Vec<users::Model>, DbErr> {
    users::Entity::find()
        .filter(column.eq(value))
        .order_by_asc(users::Column::UserId)
        .all(db)
        .await
}

pub struct NewUser {
    pub system_id: String,
    pub full_name: String,
    pub password_hash: String,
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub user_role: String,
    pub extra_info: Value,
    pub now: NaiveDateTime,
}

pub async fn insert(db: &impl ConnectionTrait, u: NewUser) -> Result<users::Model, DbErr> {
    users::ActiveModel {
        system_id: Set(u.system_id),
        full_name: Set(Some(u.full_name)),
        password: Set(u.password_hash),
        email: Set(u.email),
        email_verified: Set(u.email_verified),
        is_active: Set(u.is_active),
        // A sign-up's verification email goes out as it is created.
        emailverify_sent_datetime: Set((!u.email_verified).then_some(u.now)),
        emailforgotpass_sent_datetime: Set(None),
        emailchangepass_sent_datetime: Set(None),
        last_login_success: Set(None),
        last_login_try: Set(None),
        failed_login_tries: Set(0),
        lock_expires: Set(None),
        extra_info: Set(Some(u.extra_info)),
        created_on: Set(u.now),
        last_updated: Set(u.now),
        user_role: Set(u.user_role),
        ..Default::default()
    }
    .insert(db)
    .await
}

/// Inserts a sign-up; `Ok(None)` when the address is taken.
pub async fn insert_unless_taken(
    db: &impl ConnectionTrait,
    u: NewUser,
) -> Result<Option<users::Model>, DbErr> {
    match insert(db, u).await {
        Ok(m) => Ok(Some(m)),
        Err(e) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces a stale unverified sign-up in place (authnzerver's
/// `verify_retry_wait` rule), keeping its id and system id.
pub async fn replace_unverified(
    db: &impl ConnectionTrait,
    existing: users::Model,
    full_name: String,
    password_hash: String,
    extra_info: Value,
    now: NaiveDateTime,
) -> Result<users::Model, DbErr> {
    let mut m = existing.into_active_model();
    m.full_name = Set(Some(full_name));
    m.password = Set(password_hash);
    m.extra_info = Set(Some(extra_info));
    m.emailverify_sent_datetime = Set(Some(now));
    m.last_updated = Set(now);
    m.update(db).await
}

fn is_unique_violation(e: &DbErr) -> bool {
    matches!(
        e.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

/// The fields an edit may change; `None` leaves a field alone.
#[derive(Debug, Default, Clone)]
pub struct UserChanges {
    pub full_name: Option<Option<String>>,
    pub email: Option<String>,
    pub is_active: Option<bool>,
    pub email_verified: Option<bool>,
    pub user_role: Option<String>,
    pub extra_info: Option<Option<Value>>,
    pub password_hash: Option<String>,
    pub emailverify_sent_datetime: Option<NaiveDateTime>,
    pub emailforgotpass_sent_datetime: Option<NaiveDateTime>,
    pub emailchangepass_sent_datetime: Option<NaiveDateTime>,
    /// E.164, or `Some(None)` to remove it.
    pub phone: Option<Option<String>>,
}

/// Applies `changes`; `Ok(None)` if the user is gone, `Err` with a unique
/// violation if a new email is taken (see `is_taken`).
pub async fn update(
    db: &impl ConnectionTrait,
    user_id: i64,
    changes: UserChanges,
    now: NaiveDateTime,
) -> Result<Option<users::Model>, DbErr> {
    let Some(existing) = by_id(db, user_id).await? else {
        return Ok(None);
    };
    let mut m = existing.into_active_model();
    if let Some(v) = changes.full_name {
        m.full_name = Set(v);
    }
    if let Some(v) = changes.email {
        m.email = Set(v);
    }
    if let Some(v) = changes.is_active {
        m.is_active = Set(v);
    }
    if let Some(v) = changes.email_verified {
        m.email_verified = Set(v);
    }
    if let Some(v) = changes.user_role {
        m.user_role = Set(v);
    }
    if let Some(v) = changes.extra_info {
        m.extra_info = Set(v);
    }
    if let Some(v) = changes.password_hash {
        m.password = Set(v);
    }
    if let Some(v) = changes.emailverify_sent_datetime {
        m.emailverify_sent_datetime = Set(Some(v));
    }
    if let Some(v) = changes.emailforgotpass_sent_datetime {
        m.emailforgotpass_sent_datetime = Set(Some(v));
    }
    if let Some(v) = changes.emailchangepass_sent_datetime {
        m.emailchangepass_sent_datetime = Set(Some(v));
    }
    if let Some(v) = changes.phone {
        m.phone = Set(v);
    }
    m.last_updated = Set(now);
    m.update(db).await.map(Some)
}

/// As `update`, and deletes the user's sessions but `keep` (a token digest)
/// in the same transaction: a lock or a new password never lands without
/// the logout that goes with it.
pub async fn update_ending_sessions(
    db: &DatabaseConnection,
    user_id: i64,
    changes: UserChanges,
    now: NaiveDateTime,
    keep: Option<&str>,
) -> Result<Option<users::Model>, DbErr> {
    let txn = db.begin().await?;
    let Some(user) = update(&txn, user_id, changes, now).await? else {
        return Ok(None);
    };
    super::sessions::delete_for_user(&txn, user_id, keep).await?;
    txn.commit().await?;
    Ok(Some(user))
}

/// Whether `e` is the unique violation of an email already in use.
pub fn is_taken(e: &DbErr) -> bool {
    is_unique_violation(e)
}

/// What one failure left in the row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub state: FailureState,
    /// This very failure set the lock (its sessions were deleted with it).
    pub locked_now: bool,
}

/// Counts one failed password check, in one transaction: an ended lock
/// restarts the count (looked for only when the row had a lock when it was
/// read; a lock set since then and already over, which takes a lock time of
/// about a second, only makes this one failure wait longer, the next one
/// restarts the count); `failed_login_tries` goes up by one in the database
/// (never written from a value read earlier, so concurrent failures count
/// each); the failure past `limit` sets `lock_expires = lock_until` in the
/// same statement and deletes the user's sessions. `None` if the user is
/// gone.
pub async fn record_failure(
    db: &DatabaseConnection,
    user_id: i64,
    had_lock: bool,
    now: NaiveDateTime,
    limit: u32,
    lock_until: Option<NaiveDateTime>,
) -> Result<Option<Failure>, DbErr> {
    let txn = db.begin().await?;
    if had_lock {
        users::Entity::update_many()
            .col_expr(users::Column::FailedLoginTries, Expr::value(0))
            .col_expr(
                users::Column::LockExpires,
                Expr::value(Option::<NaiveDateTime>::None),
            )
            .filter(users::Column::UserId.eq(user_id))
            .filter(users::Column::LockExpires.lte(now))
            .exec(&txn)
            .await?;
    }
    let tries = Expr::col(users::Column::FailedLoginTries);
    let past_limit = Expr::col(users::Column::LockExpires)
        .is_null()
        .and(tries.clone().add(1).gt(i64::from(limit)));
    // `lock_expires` first: MySQL evaluates SET left to right with the new
    // values, PostgreSQL and SQLite with the old ones; this order reads the
    // old count on all three.
    users::Entity::update_many()
        .col_expr(
            users::Column::LockExpires,
            Expr::case(past_limit, Expr::value(lock_until))
                .finally(Expr::col(users::Column::LockExpires))
                .into(),
        )
        .col_expr(users::Column::FailedLoginTries, tries.add(1))
        .col_expr(users::Column::LastLoginTry, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let Some(row) = by_id(&txn, user_id).await? else {
        return Ok(None);
    };
    let state = FailureState {
        tries: i64::from(row.failed_login_tries),
        lock_expires: row.lock_expires,
    };
    // The count passes the limit once per lock; the stored time is not
    // compared with `lock_until` (databases round it to microseconds).
    let locked_now =
        lock_until.is_some() && row.lock_expires.is_some() && state.tries == i64::from(limit) + 1;
    if locked_now {
        sessions::Entity::delete_many()
            .filter(sessions::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    Ok(Some(Failure { state, locked_now }))
}

/// Records a successful password check: clears failures and any lock.
pub async fn record_success(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::FailedLoginTries, Expr::value(0))
        .col_expr(users::Column::LastLoginTry, Expr::value(now))
        .col_expr(users::Column::LastLoginSuccess, Expr::value(now))
        .col_expr(
            users::Column::LockExpires,
            Expr::value(Option::<NaiveDateTime>::None),
        )
        .filter(users::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

pub async fn set_password(
    db: &impl ConnectionTrait,
    user_id: i64,
    hash: String,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::Password, Expr::value(hash))
        .col_expr(users::Column::LastUpdated, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

/// Deletes the user and their sessions in one transaction; true if the
/// user existed.
pub async fn delete(db: &DatabaseConnection, user_id: i64) -> Result<bool, DbErr> {
    let txn = db.begin().await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let res = users::Entity::delete_by_id(user_id).exec(&txn).await?;
    txn.commit().await?;
    Ok(res.rows_affected > 0)
}

/// Takes the user's forgot-password mail slot: sets
/// `emailforgotpass_sent_datetime` to `now` unless a mail was sent after
/// `not_since`, in one conditional update, so that concurrent requests get
/// one mail between them. False when the slot was taken.
pub async fn claim_forgotpass_mail(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: NaiveDateTime,
    not_since: NaiveDateTime,
) -> Result<bool, DbErr> {
    use sea_orm::Condition;
    let res = users::Entity::update_many()
        .col_expr(users::Column::EmailforgotpassSentDatetime, Expr::value(now))
        .col_expr(users::Column::LastUpdated, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .filter(
            Condition::any()
                .add(users::Column::EmailforgotpassSentDatetime.is_null())
                .add(users::Column::EmailforgotpassSentDatetime.lt(not_since)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Gives the slot back after a mail that could not be sent.
pub async fn release_forgotpass_mail(
    db: &impl ConnectionTrait,
    user_id: i64,
    previous: Option<NaiveDateTime>,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(
            users::Column::EmailforgotpassSentDatetime,
            Expr::value(previous),
        )
        .filter(users::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}
