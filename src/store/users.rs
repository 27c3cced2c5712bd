//! Users.

use entity::users;
use sea_orm::{ConnectionTrait, DbErr, EntityTrait, PaginatorTrait};

pub async fn exists(db: &impl ConnectionTrait, user_id: i64) -> Result<bool, DbErr> {
    Ok(users::Entity::find_by_id(user_id).count(db).await? > 0)
}
