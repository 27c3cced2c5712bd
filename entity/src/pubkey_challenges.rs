use sea_orm::entity::prelude::*;

/// A challenge for public-key registration or login: single use (`used` is
/// set by one conditional update), bound to its purpose, expiring.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "pubkey_challenges")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub challenge_id: String,
    /// `register` or `login`.
    pub purpose: String,
    /// Random, standard base64; part of the signed message.
    pub challenge: String,
    /// The user the challenge was issued for, if the caller named one.
    pub user_id: Option<i64>,
    pub created: DateTime,
    pub expires: DateTime,
    /// When a valid signature consumed it.
    pub used: Option<DateTime>,
    /// Whose key completed it (set with `used`).
    pub completed_user_id: Option<i64>,
    pub key_id: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
