use sea_orm::entity::prelude::*;

/// One cache invalidation a process published for the others on the same
/// database (`Invalidation::encode`'s text, or `*` for "drop everything").
/// Read in id order; pruned after a few minutes.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "cache_invalidations")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// The publishing process (a random id per process), so it skips its own.
    pub origin: String,
    pub message: String,
    pub created_at: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
