use sea_orm::entity::prelude::*;

/// A user's latest completed sign-in: how (`amr`, space-separated) and
/// when. The next `session-new` for the user within `expires` takes it over,
/// since authnzerver frontends make the session themselves after a login.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_grants")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: i64,
    pub amr: String,
    pub auth_time: DateTime,
    pub expires: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
