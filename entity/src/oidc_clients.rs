use sea_orm::entity::prelude::*;

/// An OpenID Connect relying party. A confidential client has the SHA-256
/// hex digest of its secret (the secret itself is shown once); a public one
/// has none and must use PKCE.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_clients")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub client_id: String,
    pub name: String,
    pub secret_hash: Option<String>,
    /// Space-separated; matched exactly.
    pub redirect_uris: String,
    /// Space-separated; matched exactly.
    pub post_logout_redirect_uris: String,
    /// Space-separated scopes the client may ask for.
    pub scopes: String,
    /// Space-separated roles that may sign in to it; empty: every role.
    pub roles: String,
    /// Signs in without asking the user's consent.
    pub first_party: bool,
    pub created: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
