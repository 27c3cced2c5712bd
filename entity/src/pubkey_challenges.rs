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
    /// SHA-256 of the secret only the caller of `pubkey-challenge-new`
    /// holds: the wait, an approved login's session and the confirmation of
    /// a new key go to it alone.
    pub wait_hash: Option<String>,
    /// The signed-in session a registration was asked from (its digest).
    pub session_hash: Option<String>,
    /// The browser that asked, as the approving app is shown it.
    pub requester_ip: Option<String>,
    pub requester_ua: Option<String>,
    /// When the waiting side took the login's session, or confirmed the
    /// key (once).
    pub delivered: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
