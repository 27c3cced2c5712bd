//! API keys remember a digest of the claims they were issued with, so a key
//! whose JSON was edited (audience, issuer, subject, dates…) is refused; and
//! both key tables are indexed by user for revoke-all.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Apikeys {
    Table,
    UserId,
    ClaimsSha256,
}

#[derive(DeriveIden)]
enum ApikeysNosession {
    Table,
    UserId,
    ClaimsSha256,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // No key was ever written before this migration: the default only
        // satisfies NOT NULL, and such a key would never verify.
        m.alter_table(
            Table::alter()
                .table(Apikeys::Table)
                .add_column(
                    ColumnDef::new(Apikeys::ClaimsSha256)
                        .char_len(64)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ApikeysNosession::Table)
                .add_column(
                    ColumnDef::new(ApikeysNosession::ClaimsSha256)
                        .char_len(64)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_apikeys_user")
                .table(Apikeys::Table)
                .col(Apikeys::UserId)
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_apikeys_nosession_user")
                .table(ApikeysNosession::Table)
                .col(ApikeysNosession::UserId)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("idx_apikeys_nosession_user")
                .table(ApikeysNosession::Table)
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("idx_apikeys_user")
                .table(Apikeys::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(ApikeysNosession::Table)
                .drop_column(ApikeysNosession::ClaimsSha256)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Apikeys::Table)
                .drop_column(Apikeys::ClaimsSha256)
                .to_owned(),
        )
        .await
    }
}
