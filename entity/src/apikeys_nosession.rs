use sea_orm::entity::prelude::*;

/// A session-less API key with its refresh token (authnzerver's
/// `apikeys_nosession` table); both tokens are stored as SHA-256 hex digests.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "apikeys_nosession")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub apikey_hash: String,
    pub issued: DateTime,
    pub expires: DateTime,
    pub not_valid_before: DateTime,
    pub refresh_token_hash: String,
    pub refresh_issued: DateTime,
    pub refresh_expires: DateTime,
    pub refresh_nbf: DateTime,
    pub user_id: i64,
    pub user_role: String,
    /// SHA-256 hex of the claims the key was issued with.
    pub claims_sha256: String,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
