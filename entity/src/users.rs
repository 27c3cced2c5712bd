use sea_orm::entity::prelude::*;

/// A user account. The lockout columns (`failed_login_tries`,
/// `last_login_try`, `last_login_success`, `lock_expires`) live here so that a
/// lock survives restarts and holds across processes sharing the database.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub user_id: i64,
    #[sea_orm(unique)]
    pub system_id: String,
    pub full_name: Option<String>,
    /// argon2 PHC string.
    pub password: String,
    /// Normalised (NFKC + case-folded) address.
    #[sea_orm(unique)]
    pub email: String,
    pub email_verified: bool,
    pub is_active: bool,
    pub emailverify_sent_datetime: Option<DateTime>,
    pub emailforgotpass_sent_datetime: Option<DateTime>,
    pub emailchangepass_sent_datetime: Option<DateTime>,
    pub last_login_success: Option<DateTime>,
    pub last_login_try: Option<DateTime>,
    pub failed_login_tries: i32,
    pub lock_expires: Option<DateTime>,
    pub extra_info: Option<Json>,
    pub created_on: DateTime,
    pub last_updated: DateTime,
    pub user_role: String,
    /// E.164 phone number, for sign-in by SMS.
    pub phone: Option<String>,
    /// The WebAuthn user handle (a random UUID), set at the first passkey.
    #[sea_orm(unique)]
    pub webauthn_user_handle: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::sessions::Entity")]
    Sessions,
}

impl Related<super::sessions::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Sessions.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
