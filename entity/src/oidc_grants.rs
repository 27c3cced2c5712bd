use sea_orm::entity::prelude::*;

/// The client (and scopes) a session made by redeeming a code serves;
/// deleted with the session. Its refresh tokens are good for that client
/// only.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub session_hash: String,
    pub client_id: String,
    /// Space-separated.
    pub scope: String,
    pub created: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
