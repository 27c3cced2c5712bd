use sea_orm::entity::prelude::*;

/// A user's TOTP secret, Fernet-encrypted under a key derived from the key
/// ring. `enabled` once a first code confirmed the enrolment; `last_step`
/// is the newest 30-second step accepted (each is accepted once).
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_secrets")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    pub secret_enc: String,
    pub enabled: bool,
    pub created: DateTime,
    pub enabled_at: Option<DateTime>,
    pub last_step: Option<i64>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
