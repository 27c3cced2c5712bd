//! Refresh tokens: one row per token ever issued in a family (the chain of
//! rotations from one `token-issue`), keyed by the token's SHA-256. A spent
//! row names its successor, which is how a second presentation is told
//! apart from a multi-tab retry.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
}

#[derive(DeriveIden)]
enum RefreshTokens {
    Table,
    TokenHash,
    Family,
    SessionHash,
    UserId,
    UserRole,
    Created,
    Expires,
    Spent,
    SuccessorHash,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(RefreshTokens::Table)
                .col(
                    ColumnDef::new(RefreshTokens::TokenHash)
                        .char_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RefreshTokens::Family)
                        .char_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RefreshTokens::SessionHash)
                        .char_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RefreshTokens::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RefreshTokens::UserRole)
                        .string_len(100)
                        .not_null(),
                )
                .col(timestamp(m, RefreshTokens::Created).not_null())
                .col(timestamp(m, RefreshTokens::Expires).not_null())
                .col(timestamp(m, RefreshTokens::Spent).null())
                .col(
                    ColumnDef::new(RefreshTokens::SuccessorHash)
                        .char_len(64)
                        .null(),
                )
                // The session going (logout, lock, password change) takes its
                // refresh tokens with it.
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_refresh_tokens_session")
                        .from(RefreshTokens::Table, RefreshTokens::SessionHash)
                        .to(Sessions::Table, Sessions::TokenHash)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_refresh_tokens_family", RefreshTokens::Family),
            ("idx_refresh_tokens_session", RefreshTokens::SessionHash),
            ("idx_refresh_tokens_expires", RefreshTokens::Expires),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(RefreshTokens::Table)
                    .col(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(RefreshTokens::Table).to_owned())
            .await
    }
}
