use sea_orm::entity::prelude::*;

/// A login session. The token itself is never stored: `token_hash` is the
/// SHA-256 hex digest of the token handed to the frontend.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub token_hash: String,
    pub ip_address: String,
    pub user_agent: String,
    pub user_id: i64,
    pub created: DateTime,
    pub expires: DateTime,
    pub extra_info_json: Option<Json>,
    /// How the session was signed in: methods, space-separated (`pwd otp`);
    /// empty when the frontend made it without a sign-in authnzd saw.
    pub amr: String,
    pub auth_time: Option<DateTime>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::users::Entity",
        from = "Column::UserId",
        to = "super::users::Column::UserId",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::users::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
