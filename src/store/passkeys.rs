//! Passkeys (WebAuthn): users' credentials, their user handles, and the
//! ceremonies in progress.

use chrono::NaiveDateTime;
use entity::{passkey_ceremonies as ceremonies, passkeys, users};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder,
};

use super::Writes;

/// The user's WebAuthn handle, set to `fresh` when it has none yet (one
/// conditional update, so concurrent first registrations agree on one).
pub async fn user_handle(
    w: Writes<'_>,
    user_id: i64,
    fresh: &str,
) -> Result<Option<String>, DbErr> {
    let set = users::Entity::update_many()
        .col_expr(users::Column::WebauthnUserHandle, Expr::value(fresh))
        .filter(users::Column::UserId.eq(user_id))
        .filter(users::Column::WebauthnUserHandle.is_null())
        .exec(w.db)
        .await?;
    if set.rows_affected == 1 {
        w.cache.invalidate_user(user_id).await;
    }
    Ok(super::users::by_id(w.db, user_id)
        .await?
        .and_then(|u| u.webauthn_user_handle))
}

/// The user whose handle this is.
pub async fn user_by_handle(
    db: &impl ConnectionTrait,
    handle: &str,
) -> Result<Option<users::Model>, DbErr> {
    super::by_key(
        users::Entity::find().filter(users::Column::WebauthnUserHandle.eq(handle)),
        db,
    )
    .await
}

/// Stores a new passkey; false when that credential is registered already
/// (to this user or another).
pub async fn insert(db: &impl ConnectionTrait, p: passkeys::Model) -> Result<bool, DbErr> {
    match p.into_active_model().reset_all().insert(db).await {
        Ok(_) => Ok(true),
        Err(e) if super::users::is_unique_violation(&e) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<passkeys::Model>, DbErr> {
    passkeys::Entity::find()
        .filter(passkeys::Column::UserId.eq(user_id))
        .order_by_asc(passkeys::Column::Created)
        .order_by_asc(passkeys::Column::PasskeyId)
        .all(db)
        .await
}

pub async fn by_credential(
    db: &impl ConnectionTrait,
    digest: &str,
) -> Result<Option<passkeys::Model>, DbErr> {
    super::by_key(
        passkeys::Entity::find().filter(passkeys::Column::CredentialDigest.eq(digest)),
        db,
    )
    .await
}

/// A credential as webauthn-rs updated it after a sign-in: its JSON and
/// backup flags (eligible, state).
pub struct Updated {
    pub was: String,
    pub now: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
}

/// After a sign-in: when the passkey was used and, if webauthn-rs updated
/// it (counter, backup state), the new form; only over the form it was
/// read as, so a slower concurrent sign-in cannot put an older counter
/// back.
pub async fn used(
    db: &impl ConnectionTrait,
    passkey_id: &str,
    updated: Option<Updated>,
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    passkeys::Entity::update_many()
        .col_expr(passkeys::Column::LastUsed, Expr::value(now))
        .filter(passkeys::Column::PasskeyId.eq(passkey_id))
        .exec(db)
        .await?;
    if let Some(u) = updated {
        passkeys::Entity::update_many()
            .col_expr(passkeys::Column::Passkey, Expr::value(u.now))
            .col_expr(
                passkeys::Column::BackupEligible,
                Expr::value(u.backup_eligible),
            )
            .col_expr(passkeys::Column::BackupState, Expr::value(u.backup_state))
            .filter(passkeys::Column::PasskeyId.eq(passkey_id))
            .filter(passkeys::Column::Passkey.eq(u.was))
            .exec(db)
            .await?;
    }
    Ok(())
}

pub async fn set_label(
    db: &impl ConnectionTrait,
    user_id: i64,
    passkey_id: &str,
    label: Option<&str>,
) -> Result<bool, DbErr> {
    let res = passkeys::Entity::update_many()
        .col_expr(
            passkeys::Column::Label,
            Expr::value(label.map(str::to_owned)),
        )
        .filter(passkeys::Column::PasskeyId.eq(passkey_id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn delete(
    db: &impl ConnectionTrait,
    user_id: i64,
    passkey_id: &str,
) -> Result<bool, DbErr> {
    let res = passkeys::Entity::delete_many()
        .filter(passkeys::Column::PasskeyId.eq(passkey_id))
        .filter(passkeys::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

pub async fn insert_ceremony(db: &impl ConnectionTrait, c: ceremonies::Model) -> Result<(), DbErr> {
    c.into_active_model().reset_all().insert(db).await?;
    Ok(())
}

pub async fn ceremony(
    db: &impl ConnectionTrait,
    id: &str,
) -> Result<Option<ceremonies::Model>, DbErr> {
    super::by_key(ceremonies::Entity::find_by_id(id.to_owned()), db).await
}

/// Takes the ceremony: one conditional delete (of this kind, unexpired), so
/// of any number of concurrent finishes, on any process, exactly one gets
/// true.
pub async fn take_ceremony(
    db: &impl ConnectionTrait,
    id: &str,
    kind: &str,
    now: NaiveDateTime,
) -> Result<bool, DbErr> {
    let res = ceremonies::Entity::delete_many()
        .filter(ceremonies::Column::CeremonyId.eq(id))
        .filter(ceremonies::Column::Kind.eq(kind))
        .filter(ceremonies::Column::Expires.gt(now))
        .exec(db)
        .await?;
    Ok(res.rows_affected == 1)
}

/// Deletes ceremonies that expired before `cutoff`.
pub async fn delete_ceremonies_before(
    db: &impl ConnectionTrait,
    cutoff: NaiveDateTime,
) -> Result<u64, DbErr> {
    let res = ceremonies::Entity::delete_many()
        .filter(ceremonies::Column::Expires.lt(cutoff))
        .exec(db)
        .await?;
    Ok(res.rows_affected)
}
