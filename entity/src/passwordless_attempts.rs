use sea_orm::entity::prelude::*;

/// One passwordless sign-in: the code is kept as a keyed HMAC, the link
/// token as a SHA-256 digest. Send windows are counted from these rows.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passwordless_attempts")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub attempt_id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// Normalised email address or E.164 number.
    pub address: String,
    /// SHA-256 of the client IP with the server's PII salt.
    pub ip_hash: String,
    pub code_hmac: String,
    pub link_hash: Option<String>,
    pub wrong_codes: i32,
    pub create_user: bool,
    pub redirect_url: Option<String>,
    pub created: DateTime,
    pub expires: DateTime,
    /// Set when the attempt succeeded or died; it cannot be used again.
    pub finished: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
