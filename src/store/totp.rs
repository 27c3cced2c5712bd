//! TOTP secrets, recovery codes and pending second-factor logins. Every
//! single-use rule is one conditional update, so concurrent requests cannot
//! both win.

use chrono::NaiveDateTime;
use entity::{mfa_tokens, recovery_codes, totp_secrets};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
};

pub async fn get(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<totp_secrets::Model>, DbErr> {
    super::by_key(totp_secrets::Entity::find_by_id(user_id), db).await
}

/// Whether the user logs in with a second factor.
pub async fn is_enabled(db: &impl ConnectionTrait, user_id: i64) -> Result<bool, DbErr> {
    Ok(get(db, user_id).await?.is_some_and(|t| t.enabled))
}

/// Replaces a pending enrolment (or none) with a new one; false when TOTP
/// is already on (that row is left alone).
pub async fn start_enrolment(
    db: &DatabaseConnection,
    user_id: i64,
    secret_enc: String,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    totp_secrets::Entity::delete_many()
        .filter(totp_secrets::Column::UserId.eq(user_id))
        .filter(totp_secrets::Column::Enabled.eq(false))
        .exec(&txn)
        .await?;
    let inserted = totp_secrets::Entity::insert(totp_secrets::ActiveModel {
        user_id: Set(user_id),
        secret_enc: Set(secret_enc),
        enabled: Set(false),
        created: Set(now),
        enabled_at: Set(None),
        last_step: Set(None),
    })
    .exec(&txn)
    .await;
    match inserted {
        Ok(_) => {
            txn.commit().await?;
            Ok(true)
        }
        Err(e)
            if matches!(
                e.sql_err(),
                Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
            ) =>
        {
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// Turns a pending enrolment started after `not_before` on, with `step` as
/// the first accepted step, and stores its recovery codes — one
/// transaction; false when there was no such enrolment (or a concurrent
/// finish won).
pub async fn enable(
    db: &DatabaseConnection,
    user_id: i64,
    step: i64,
    now: NaiveDateTime,
    not_before: NaiveDateTime,
    codes: Vec<String>,
) -> Result<bool, DbErr> {
    let txn = super::begin_write(db).await?;
    let res = totp_secrets::Entity::update_many()
        .col_expr(totp_secrets::Column::Enabled, Expr::value(true))
        .col_expr(totp_secrets::Column::EnabledAt, Expr::value(now))
        .col_expr(totp_secrets::Column::LastStep, Expr::value(step))
        .filter(totp_secrets::Column::UserId.eq(user_id))
        .filter(totp_secrets::Column::Enabled.eq(false))
        .filter(totp_secrets::Column::Created.gt(not_before))
        .exec(&txn)
        .await?;
    if res.rows_affected != 1 {
        return Ok(false);
    }
    replace_codes(&txn, user_id, codes).await?;
    txn.commit().await?;
    Ok(true)
}

/// Takes time step `step` for the user: true if no step at or after it was
/// accepted before (so each code works once, also under concurrency).
pub async fn claim_step(db: &impl ConnectionTrait, user_id: i64, step: i64) -> Result<bool, DbErr> {
    let res = totp_secrets::Entity::update_many()
        .col_expr(totp_secrets::Column::LastStep, Expr::value(step))
        .filter(totp_secrets::Column::UserId.eq(user_id))
        .filter(totp_secrets::Column::Enabled.eq(true))
        .filter(
            Condition::any()
                .add(totp_secrets::Column::LastStep.is_null())
                .add(totp_secrets::Column::LastStep.lt(step)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Spends one recovery code; true if it was there and unused.
pub async fn use_recovery_code(
    db: &impl ConnectionTrait,
    user_id: i64,
    code_hmac: &str,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let res = recovery_codes::Entity::update_many()
        .col_expr(recovery_codes::Column::Used, Expr::value(now))
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .filter(recovery_codes::Column::CodeHmac.eq(code_hmac))
        .filter(recovery_codes::Column::Used.is_null())
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// New recovery codes; the old ones stop working (one transaction).
pub async fn set_recovery_codes(
    db: &DatabaseConnection,
    user_id: i64,
    codes: Vec<String>,
) -> Result<(), DbErr> {
    let txn = super::begin_write(db).await?;
    replace_codes(&txn, user_id, codes).await?;
    txn.commit().await
}

async fn replace_codes(
    db: &impl ConnectionTrait,
    user_id: i64,
    codes: Vec<String>,
) -> Result<(), DbErr> {
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    let rows = codes
        .into_iter()
        .map(|code_hmac| recovery_codes::ActiveModel {
            user_id: Set(user_id),
            code_hmac: Set(code_hmac),
            used: Set(None),
            ..Default::default()
        });
    recovery_codes::Entity::insert_many(rows).exec(db).await?;
    Ok(())
}

/// Turns TOTP off: the secret and the recovery codes go (one transaction).
pub async fn disable(db: &DatabaseConnection, user_id: i64) -> Result<(), DbErr> {
    let txn = super::begin_write(db).await?;
    recovery_codes::Entity::delete_many()
        .filter(recovery_codes::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    totp_secrets::Entity::delete_by_id(user_id)
        .exec(&txn)
        .await?;
    mfa_tokens::Entity::delete_many()
        .filter(mfa_tokens::Column::UserId.eq(user_id))
        .exec(&txn)
        .await?;
    txn.commit().await
}

pub async fn insert_mfa_token(
    db: &impl ConnectionTrait,
    token_hash: String,
    user_id: i64,
    session_hash: Option<String>,
    first_factor: &str,
    now: NaiveDateTime,
    expires: NaiveDateTime,
) -> Result<(), DbErr> {
    mfa_tokens::Entity::insert(mfa_tokens::ActiveModel {
        token_hash: Set(token_hash),
        user_id: Set(user_id),
        session_hash: Set(session_hash),
        created: Set(now),
        expires: Set(expires),
        used: Set(None),
        first_factor: Set(first_factor.to_owned()),
    })
    .exec(db)
    .await?;
    Ok(())
}

/// Spends a pending second-factor login: the row if it was unused and
/// unexpired (a conditional update, so it is spent once).
pub async fn take_mfa_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<mfa_tokens::Model>, DbErr> {
    let res = mfa_tokens::Entity::update_many()
        .col_expr(mfa_tokens::Column::Used, Expr::value(now))
        .filter(mfa_tokens::Column::TokenHash.eq(token_hash))
        .filter(mfa_tokens::Column::Used.is_null())
        .filter(mfa_tokens::Column::Expires.gt(now))
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Ok(None);
    }
    super::by_key(mfa_tokens::Entity::find_by_id(token_hash.to_owned()), db).await
}

/// The pending second-factor login, unspent and unexpired, left as it is
/// (a passkey's second step reads it to start its ceremony).
pub async fn pending_mfa_token(
    db: &impl ConnectionTrait,
    token_hash: &str,
    now: NaiveDateTime,
) -> Result<Option<mfa_tokens::Model>, DbErr> {
    Ok(
        super::by_key(mfa_tokens::Entity::find_by_id(token_hash.to_owned()), db)
            .await?
            .filter(|t| t.used.is_none() && t.expires > now),
    )
}

/// Deletes pending second-factor logins that expired before `now`, or
/// were spent before `used_before`. Returns how many.
pub async fn delete_spent_mfa_tokens(
    db: &impl ConnectionTrait,
    now: NaiveDateTime,
    used_before: NaiveDateTime,
) -> Result<u64, DbErr> {
    let res = mfa_tokens::Entity::delete_many()
        .filter(
            Condition::any()
                .add(mfa_tokens::Column::Expires.lt(now))
                .add(mfa_tokens::Column::Used.lt(used_before)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}

/// Every TOTP secret, pending or on: (user, sealed secret).
pub async fn all_secrets(db: &DatabaseConnection) -> Result<Vec<(i64, String)>, DbErr> {
    Ok(totp_secrets::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|t| (t.user_id, t.secret_enc))
        .collect())
}

/// Replaces a sealed secret with the same secret sealed anew, unless it
/// changed meanwhile (a new enrolment); true when it was replaced.
pub async fn reseal(
    db: &DatabaseConnection,
    user_id: i64,
    was: &str,
    now_enc: String,
) -> Result<bool, DbErr> {
    let res = totp_secrets::Entity::update_many()
        .col_expr(totp_secrets::Column::SecretEnc, Expr::value(now_enc))
        .filter(totp_secrets::Column::UserId.eq(user_id))
        .filter(totp_secrets::Column::SecretEnc.eq(was))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}
