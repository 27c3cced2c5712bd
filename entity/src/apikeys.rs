use sea_orm::entity::prelude::*;

/// A session-bound API key (authnzerver's `apikeys` table); `apikey_hash` is
/// the SHA-256 hex digest of the key's token.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apikeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub apikey_hash: String,
    pub issued: DateTime,
    pub expires: DateTime,
    pub not_valid_before: DateTime,
    pub user_id: i64,
    pub user_role: String,
    /// SHA-256 hex of the claims the key was issued with.
    pub claims_sha256: String,
    pub session_token_hash: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
