//! Users: lookups, creation, edits, lockout bookkeeping, deletion; the
//! mail slots in `mail`.

use chrono::NaiveDateTime;
use entity::{sessions, users};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    PaginatorTrait, QueryFilter, QueryOrder, Set,
};
use serde_json::Value;

use super::Writes;

mod mail;

pub use mail::{change_email_if, claim_forgotpass_mail, release_forgotpass_mail};

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
    w: Writes<'_>,
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
    let u = m.update(w.db).await?;
    w.cache.invalidate_user(u.user_id).await;
    Ok(u)
}

pub(super) fn is_unique_violation(e: &DbErr) -> bool {
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
    w: Writes<'_>,
    user_id: i64,
    changes: UserChanges,
    now: NaiveDateTime,
) -> Result<Option<users::Model>, DbErr> {
    let updated = update_in(w.db, user_id, changes, now).await?;
    w.cache.invalidate_user(user_id).await;
    Ok(updated)
}

/// As `update`, inside a transaction whose caller invalidates.
async fn update_in(
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
    w: Writes<'_>,
    user_id: i64,
    changes: UserChanges,
    now: NaiveDateTime,
    keep: Option<&str>,
) -> Result<Option<users::Model>, DbErr> {
    let txn = super::begin_write(w.db).await?;
    let Some(user) = update_in(&txn, user_id, changes, now).await? else {
        return Ok(None);
    };
    super::sessions::delete_for_user_in(&txn, user_id, keep).await?;
    txn.commit().await?;
    w.cache.revoke_user_sessions(user_id).await;
    Ok(Some(user))
}

/// As `update_ending_sessions` for a new password, set only over the hash
/// `over` it was checked against (`None` when another request changed it
/// first: of concurrent changes, one lands); with `revoke_all`, every
/// other credential goes in the same transaction: session-less API keys,
/// device keys, passkeys and pending second-factor logins (refresh tokens
/// and session-bound keys go with their sessions).
pub async fn set_password_revoking(
    w: Writes<'_>,
    user_id: i64,
    (over, new): (&str, String),
    now: NaiveDateTime,
    keep: Option<&str>,
    revoke_all: bool,
) -> Result<Option<users::Model>, DbErr> {
    use entity::{apikeys_nosession, mfa_tokens, passkey_ceremonies, passkeys, pubkey_keys};
    let txn = super::begin_write(w.db).await?;
    let swapped = users::Entity::update_many()
        .col_expr(users::Column::Password, Expr::value(new))
        .filter(users::Column::UserId.eq(user_id))
        .filter(users::Column::Password.eq(over))
        .exec(&txn)
        .await?;
    if swapped.rows_affected != 1 {
        return Ok(None);
    }
    let Some(user) = update_in(&txn, user_id, UserChanges::default(), now).await? else {
        return Ok(None);
    };
    super::sessions::delete_for_user_in(&txn, user_id, keep).await?;
    if revoke_all {
        apikeys_nosession::Entity::delete_many()
            .filter(apikeys_nosession::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        pubkey_keys::Entity::delete_many()
            .filter(pubkey_keys::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        mfa_tokens::Entity::delete_many()
            .filter(mfa_tokens::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        passkeys::Entity::delete_many()
            .filter(passkeys::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
        passkey_ceremonies::Entity::delete_many()
            .filter(passkey_ceremonies::Column::UserId.eq(user_id))
            .exec(&txn)
            .await?;
    }
    txn.commit().await?;
    w.cache.revoke_user_sessions(user_id).await;
    Ok(Some(user))
}

/// Whether `e` is the unique violation of an email already in use.
pub fn is_taken(e: &DbErr) -> bool {
    is_unique_violation(e)
}

/// Records a successful password check: clears failures and any lock.
pub async fn record_success(w: Writes<'_>, user_id: i64, now: NaiveDateTime) -> Result<(), DbErr> {
    clear(w.db, user_id, Some(now)).await?;
    w.cache.invalidate_user(user_id).await;
    Ok(())
}

/// Clears failures and any lock after a right code that is no sign-in of
/// its own (enrolment, a standalone check).
pub async fn clear_failures(w: Writes<'_>, user_id: i64) -> Result<(), DbErr> {
    clear(w.db, user_id, None).await?;
    w.cache.invalidate_user(user_id).await;
    Ok(())
}

/// Clears failures and any lock; with `signed_in`, records the sign-in.
async fn clear(
    db: &impl ConnectionTrait,
    user_id: i64,
    signed_in: Option<NaiveDateTime>,
) -> Result<(), DbErr> {
    let mut q = users::Entity::update_many()
        .col_expr(users::Column::FailedLoginTries, Expr::value(0))
        .col_expr(
            users::Column::LockExpires,
            Expr::value(Option::<NaiveDateTime>::None),
        );
    if let Some(now) = signed_in {
        q = q
            .col_expr(users::Column::LastLoginTry, Expr::value(now))
            .col_expr(users::Column::LastLoginSuccess, Expr::value(now));
    }
    q.filter(users::Column::UserId.eq(user_id)).exec(db).await?;
    Ok(())
}

pub async fn set_password(
    w: Writes<'_>,
    user_id: i64,
    hash: String,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(users::Column::Password, Expr::value(hash))
        .col_expr(users::Column::LastUpdated, Expr::value(now))
        .filter(users::Column::UserId.eq(user_id))
        .exec(w.db)
        .await?;
    w.cache.invalidate_user(user_id).await;
    Ok(())
}

/// Deletes the user and their sessions in one transaction; true if the
/// user existed.
pub async fn delete(w: Writes<'_>, user_id: i64) -> Result<bool, DbErr> {
    let txn = super::begin_write(w.db).await?;
    sessions::Entity::delete_many()
        .filter(sessions::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    let res = users::Entity::delete_by_id(user_id).exec(&txn).await?;
    txn.commit().await?;
    w.cache.revoke_user_sessions(user_id).await;
    Ok(res.rows_affected > 0)
}

/// One stored password hash that starts with none of `prefixes` (hash
/// parameter prefixes already known), if any: start-up calls it until none
/// is left, to time every parameter set in use. Each call may scan the
/// table; it runs once per parameter set, in the background.
pub async fn password_outside(
    db: &impl ConnectionTrait,
    prefixes: &[String],
) -> Result<Option<String>, DbErr> {
    use sea_orm::sea_query::LikeExpr;
    let mut q = users::Entity::find();
    for p in prefixes {
        let escaped = p
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        q = q.filter(
            Expr::col(users::Column::Password)
                .not_like(LikeExpr::new(format!("{escaped}%")).escape('\\')),
        );
    }
    Ok(q.one(db).await?.map(|u| u.password))
}
