use sea_orm::entity::prelude::*;

/// A user's passkey (WebAuthn credential). Nothing secret: the public key,
/// its signature counter and flags, as webauthn-rs serializes a `Passkey`.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub passkey_id: String,
    /// SHA-256 hex of the credential id's bytes: the lookup key.
    #[sea_orm(unique)]
    pub credential_digest: String,
    /// The credential id, base64url without padding.
    pub credential_id: String,
    pub user_id: i64,
    pub label: Option<String>,
    /// The webauthn-rs `Passkey`, JSON.
    pub passkey: String,
    pub backup_eligible: bool,
    pub backup_state: bool,
    pub created: DateTime,
    pub last_used: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::UserId",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
