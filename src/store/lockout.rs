//! Tries at a secret, counted before the secret is compared: accounts in
//! `users.failed_login_tries` / `lock_expires`, addresses without an account
//! in `address_failures`, by the same two conditional updates, so both lock
//! alike in every process that shares the database.
//!
//! A try is taken by one `UPDATE … WHERE tries < limit AND not locked`,
//! which the database serialises: however many guesses arrive at once, at
//! most the remaining tries are granted. A guess that gets none sets the
//! lock (once: `WHERE lock IS NULL`) and is refused without a comparison.

use chrono::NaiveDateTime;
use entity::{address_failures, sessions, users};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, QueryFilter,
    Set,
};

/// What asking for a try found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taken {
    /// A try was taken; `tries` counts it (failures since the last success
    /// or lock, this one included).
    Granted { tries: i64 },
    /// No try left: locked until `until`; `locked_now` when this very guess
    /// set the lock.
    Locked {
        until: NaiveDateTime,
        locked_now: bool,
    },
    /// The account is gone.
    Gone,
}

/// The columns a counter lives in.
struct Counter<C> {
    tries: C,
    lock: C,
    last_try: C,
}

/// Takes a try in one conditional update; an ended lock restarts the count
/// at this try. True when one was taken.
async fn take<E: EntityTrait>(
    db: &impl ConnectionTrait,
    c: &Counter<E::Column>,
    key: Condition,
    now: NaiveDateTime,
    limit: u32,
) -> Result<bool, DbErr> {
    let had_lock = Expr::col(c.lock).is_not_null();
    // `tries` before `lock`: MySQL evaluates SET left to right with the new
    // values, PostgreSQL and SQLite with the old ones; this order reads the
    // old lock on all three.
    let res = E::update_many()
        .col_expr(
            c.tries,
            Expr::case(had_lock, Expr::value(1))
                .finally(Expr::col(c.tries).add(1))
                .into(),
        )
        .col_expr(c.lock, Expr::value(Option::<NaiveDateTime>::None))
        .col_expr(c.last_try, Expr::value(now))
        .filter(key)
        .filter(
            Condition::any()
                .add(
                    Condition::all()
                        .add(c.lock.is_null())
                        .add(c.tries.lt(i64::from(limit))),
                )
                .add(c.lock.lte(now)),
        )
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Sets the lock of a counter whose tries are used up and that has none;
/// true when this call set it.
async fn lock<E: EntityTrait>(
    db: &impl ConnectionTrait,
    c: &Counter<E::Column>,
    key: Condition,
    limit: u32,
    until: NaiveDateTime,
) -> Result<bool, DbErr> {
    let res = E::update_many()
        .col_expr(c.lock, Expr::value(until))
        .filter(key)
        .filter(c.lock.is_null())
        .filter(c.tries.gte(i64::from(limit)))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

const ACCOUNT: Counter<users::Column> = Counter {
    tries: users::Column::FailedLoginTries,
    lock: users::Column::LockExpires,
    last_try: users::Column::LastLoginTry,
};

const ADDRESS: Counter<address_failures::Column> = Counter {
    tries: address_failures::Column::FailedLoginTries,
    lock: address_failures::Column::LockExpires,
    last_try: address_failures::Column::LastLoginTry,
};

/// A try at the account's secret. When none is left the account locks
/// until `lock_until`, and the lock ends its sessions in the same
/// transaction (cached ones too).
pub async fn take_account_try(
    w: super::Writes<'_>,
    user_id: i64,
    now: NaiveDateTime,
    limit: u32,
    lock_until: NaiveDateTime,
) -> Result<Taken, DbErr> {
    let db = w.db;
    let key = || Condition::all().add(users::Column::UserId.eq(user_id));
    // A success may reset the count between the two updates; then the
    // next round takes a try.
    for _ in 0..3 {
        if take::<users::Entity>(db, &ACCOUNT, key(), now, limit).await? {
            let tries = super::users::by_id(db, user_id)
                .await?
                .map_or(i64::from(limit), |u| i64::from(u.failed_login_tries));
            return Ok(Taken::Granted { tries });
        }
        let txn = super::begin_write(db).await?;
        let locked_now = lock::<users::Entity>(&txn, &ACCOUNT, key(), limit, lock_until).await?;
        if locked_now {
            sessions::Entity::delete_many()
                .filter(sessions::Column::UserId.eq(user_id))
                .exec(&txn)
                .await?;
        }
        let row = super::users::by_id(&txn, user_id).await?;
        txn.commit().await?;
        if locked_now {
            // Cached sessions and the user's row go with the lock.
            w.cache.revoke_user_sessions(user_id).await;
        }
        let Some(row) = row else {
            return Ok(Taken::Gone);
        };
        if let Some(until) = row.lock_expires.filter(|until| *until > now) {
            return Ok(Taken::Locked { until, locked_now });
        }
    }
    Ok(Taken::Locked {
        until: lock_until,
        locked_now: false,
    })
}

/// A try at the password of an address without an account (`key`: its
/// keyed HMAC); counted and locked as an account's.
pub async fn take_address_try(
    db: &DatabaseConnection,
    key_hmac: &str,
    now: NaiveDateTime,
    limit: u32,
    lock_until: NaiveDateTime,
) -> Result<Taken, DbErr> {
    let key = || Condition::all().add(address_failures::Column::KeyHmac.eq(key_hmac));
    for _ in 0..3 {
        if take::<address_failures::Entity>(db, &ADDRESS, key(), now, limit).await? {
            let tries = super::by_key(address_failures::Entity::find_by_id(key_hmac), db)
                .await?
                .map_or(i64::from(limit), |r| i64::from(r.failed_login_tries));
            return Ok(Taken::Granted { tries });
        }
        let locked_now =
            lock::<address_failures::Entity>(db, &ADDRESS, key(), limit, lock_until).await?;
        match super::by_key(address_failures::Entity::find_by_id(key_hmac), db).await? {
            Some(row) => {
                if let Some(until) = row.lock_expires.filter(|until| *until > now) {
                    return Ok(Taken::Locked { until, locked_now });
                }
            }
            // The first failure of this address: a row with no tries, made
            // once even by concurrent guesses, then taken from as any other.
            None => {
                address_failures::Entity::insert(address_failures::ActiveModel {
                    key_hmac: Set(key_hmac.to_owned()),
                    failed_login_tries: Set(0),
                    lock_expires: Set(None),
                    last_login_try: Set(now),
                })
                .on_conflict(
                    OnConflict::column(address_failures::Column::KeyHmac)
                        .do_nothing_on([address_failures::Column::KeyHmac])
                        .to_owned(),
                )
                .exec_without_returning(db)
                .await?;
            }
        }
    }
    Ok(Taken::Locked {
        until: lock_until,
        locked_now: false,
    })
}

/// Gives back a try that turned out right but is not yet a sign-in (the
/// password of an account whose second factor is still to come), so the
/// code that follows has its own try.
pub async fn give_back_account_try(db: &impl ConnectionTrait, user_id: i64) -> Result<(), DbErr> {
    users::Entity::update_many()
        .col_expr(
            users::Column::FailedLoginTries,
            Expr::col(users::Column::FailedLoginTries).sub(1),
        )
        .filter(users::Column::UserId.eq(user_id))
        .filter(users::Column::FailedLoginTries.gt(0))
        .filter(users::Column::LockExpires.is_null())
        .exec(db)
        .await?;
    Ok(())
}

/// Forgets addresses whose last failure was before `idle_since` and whose
/// lock, if any, has ended; returns how many.
pub async fn prune_addresses(
    db: &impl ConnectionTrait,
    idle_since: NaiveDateTime,
    now: NaiveDateTime,
) -> Result<u64, DbErr> {
    Ok(address_failures::Entity::delete_many()
        .filter(address_failures::Column::LastLoginTry.lt(idle_since))
        .filter(
            Condition::any()
                .add(address_failures::Column::LockExpires.is_null())
                .add(address_failures::Column::LockExpires.lte(now)),
        )
        .exec(db)
        .await?
        .rows_affected)
}
