use sea_orm::entity::prelude::*;

/// An authorization code, by the SHA-256 hex digest of the code. Redeemed
/// once; the session that redemption made is kept so that a second
/// redemption revokes it.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "oidc_codes")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub code_hash: String,
    pub client_id: String,
    pub user_id: i64,
    pub redirect_uri: String,
    /// The granted scopes, space-separated.
    pub scope: String,
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// How the user signed in (space-separated) and when.
    pub amr: String,
    pub auth_time: DateTime,
    pub expires: DateTime,
    pub redeemed: Option<DateTime>,
    /// The `token_hash` of the session the redemption made.
    pub grant_session: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
