//! First-start rows: the roles and the reserved users 1 (superuser),
//! 2 (anonymous) and 3 (locked dummy, whose hash equalises login timing).

use chrono::NaiveDateTime;
use entity::roles;

use super::users::NewUser;
use authnzd_proto::Role;
use sea_orm::{
    ActiveModelTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait, PaginatorTrait, Set,
};
use serde_json::json;

/// The role names the roles table holds.
pub const ROLES: [&str; 5] = [
    Role::Superuser.as_str(),
    Role::Staff.as_str(),
    Role::Authenticated.as_str(),
    Role::Anonymous.as_str(),
    Role::Locked.as_str(),
];

pub const SUPERUSER_ID: i64 = 1;
pub const ANONYMOUS_ID: i64 = 2;
pub const DUMMY_ID: i64 = 3;

/// The reserved accounts' fields that differ; the rest is shared.
pub struct Reserved {
    pub email: String,
    pub password_hash: String,
}

pub async fn is_seeded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(roles::Entity::find().count(db).await? > 0)
}

/// Inserts roles and the three reserved users in one transaction. Fails
/// (and writes nothing) if the database hands out other ids than 1, 2, 3.
pub async fn insert_reserved(
    db: &DatabaseConnection,
    superuser: Reserved,
    anonymous_hash: String,
    dummy_hash: String,
    system_ids: [String; 3],
    now: NaiveDateTime,
) -> Result<(), DbErr> {
    let txn = super::begin_write(db).await?;
    for role in ROLES {
        roles::ActiveModel {
            name: Set((*role).to_owned()),
            desc: Set(format!("Role with {role} privileges")),
        }
        .insert(&txn)
        .await?;
    }
    let [su_sid, anon_sid, dummy_sid] = system_ids;
    let rows = [
        (
            SUPERUSER_ID,
            superuser.email,
            superuser.password_hash,
            su_sid,
            Role::Superuser.as_str(),
            true,
            "Superuser account",
            "system-user",
        ),
        (
            ANONYMOUS_ID,
            "anonuser@localhost".to_owned(),
            anonymous_hash,
            anon_sid,
            Role::Anonymous.as_str(),
            true,
            "The systemwide anonymous user",
            "system-user",
        ),
        (
            DUMMY_ID,
            "dummyuser@localhost".to_owned(),
            dummy_hash,
            dummy_sid,
            Role::Locked.as_str(),
            false,
            "The systemwide locked user",
            "locked-user",
        ),
    ];
    for (want_id, email, password, system_id, role, active, name, kind) in rows {
        let user = super::users::insert(
            &txn,
            NewUser {
                system_id,
                full_name: name.to_owned(),
                password_hash: password,
                email,
                email_verified: true,
                is_active: active,
                user_role: role.to_owned(),
                extra_info: json!({"provenance": "auto-created", "type": kind}),
                now,
            },
        )
        .await?;
        if user.user_id != want_id {
            return Err(DbErr::Custom(format!(
                "reserved user `{role}` got id {} instead of {want_id}; seed an empty database",
                user.user_id
            )));
        }
    }
    txn.commit().await
}
