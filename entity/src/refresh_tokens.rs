use sea_orm::entity::prelude::*;

/// A refresh token of a family (the rotations of one `token-issue`), by the
/// SHA-256 hex digest of the token; the token itself is never stored.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "refresh_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub family: String,
    /// The session's `token_hash`; deleting the session deletes these rows.
    pub session_hash: String,
    pub user_id: i64,
    /// The user's role when the family was issued: a change ends it.
    pub user_role: String,
    pub created: DateTime,
    pub expires: DateTime,
    /// When it was rotated; a spent token is only good for the grace period.
    pub spent: Option<DateTime>,
    pub successor_hash: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
