use sea_orm::entity::prelude::*;

/// A login that passed its first factor and waits for the second: the
/// token as a SHA-256 digest, bound to the user and the pre-login session.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mfa_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub user_id: i64,
    pub session_hash: Option<String>,
    pub created: DateTime,
    pub expires: DateTime,
    pub used: Option<DateTime>,
    /// The method of the first step (`pwd`, `email`, `sms`, `device_key`).
    pub first_factor: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
