//! `cache_invalidations`: the log through which every process on one
//! database tells the others what to drop from their caches (a session
//! deleted, a user locked…, or "everything" when some were lost). Each
//! process appends its invalidations and reads the others' every second;
//! rows older than a few minutes are pruned.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum CacheInvalidations {
    Table,
    Id,
    Origin,
    Message,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(CacheInvalidations::Table)
                .col(
                    ColumnDef::new(CacheInvalidations::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(CacheInvalidations::Origin)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(CacheInvalidations::Message)
                        .string_len(255)
                        .not_null(),
                )
                .col(timestamp(m, CacheInvalidations::CreatedAt).not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_cache_invalidations_created_at")
                .table(CacheInvalidations::Table)
                .col(CacheInvalidations::CreatedAt)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(CacheInvalidations::Table).to_owned())
            .await
    }
}
