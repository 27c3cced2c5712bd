use sea_orm::entity::prelude::*;

/// One of the server's own signing keys (Ed25519), its secret sealed with
/// Fernet under a key derived from the server's key ring. The newest
/// unretired row of a purpose is the one in use.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "server_keys")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub purpose: String,
    /// Standard base64 of the 32-byte public key.
    pub public_key: String,
    /// Fernet token of the 32-byte secret.
    pub sealed_secret: String,
    pub created: DateTime,
    pub retired: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
