use sea_orm::entity::prelude::*;

/// A user's device key for public-key login: an Ed25519 public key (standard
/// base64 of its 32 bytes). No secret is stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pubkey_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_id: String,
    pub user_id: i64,
    pub public_key: String,
    pub label: Option<String>,
    pub created: DateTime,
    pub last_used: Option<DateTime>,
    /// Confirmed by the browser that asked for it; a pending key never logs
    /// in, and goes after `pending_until`.
    pub confirmed: bool,
    pub pending_until: Option<DateTime>,
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
