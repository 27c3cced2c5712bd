use sea_orm::entity::prelude::*;

/// A started passkey registration or login: the webauthn-rs state, sealed,
/// until the finish deletes the row (once) or it expires. In the database,
/// so any process on it can finish a ceremony another started.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkey_ceremonies")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub ceremony_id: String,
    /// `register`, `login` or `mfa` (the second step of a sign-in).
    pub kind: String,
    /// The user it is for; `None` for a discoverable login.
    pub user_id: Option<i64>,
    /// SHA-256 of what it is bound to: the session of a registration, the
    /// `mfa_token` of a second step.
    pub bound_hash: Option<String>,
    /// The state, sealed under the key ring.
    pub state: String,
    pub created: DateTime,
    pub expires: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
