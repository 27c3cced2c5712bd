//! Room for refresh tokens imported from authnzerver, which kept argon2
//! PHC strings (about 100 characters) where authnzd keeps a 64-character
//! SHA-256 digest. SQLite does not enforce lengths and is left alone.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum ApikeysNosession {
    Table,
    RefreshTokenHash,
}

async fn set_length(m: &SchemaManager<'_>, len: u32) -> Result<(), DbErr> {
    if m.get_database_backend() == sea_orm::DbBackend::Sqlite {
        return Ok(());
    }
    m.alter_table(
        Table::alter()
            .table(ApikeysNosession::Table)
            .modify_column(
                ColumnDef::new(ApikeysNosession::RefreshTokenHash)
                    .string_len(len)
                    .not_null(),
            )
            .to_owned(),
    )
    .await
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_length(m, 255).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        set_length(m, 64).await
    }
}
