//! TOTP second factor: each user's secret (encrypted), single-use recovery
//! codes (keyed hashes) and the short-lived tokens of a login waiting for
//! its second factor (SHA-256 digests). Rows go with their user.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
}

#[derive(DeriveIden)]
enum TotpSecrets {
    Table,
    UserId,
    SecretEnc,
    Enabled,
    Created,
    EnabledAt,
    LastStep,
}

#[derive(DeriveIden)]
enum RecoveryCodes {
    Table,
    Id,
    UserId,
    CodeHmac,
    Used,
}

#[derive(DeriveIden)]
enum MfaTokens {
    Table,
    TokenHash,
    UserId,
    SessionHash,
    Created,
    Expires,
    Used,
}

fn to_users<T: IntoIden + 'static>(name: &str, table: T, column: T) -> ForeignKeyCreateStatement {
    ForeignKey::create()
        .name(name)
        .from(table, column)
        .to(Users::Table, Users::UserId)
        .on_delete(ForeignKeyAction::Cascade)
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(TotpSecrets::Table)
                .col(
                    ColumnDef::new(TotpSecrets::UserId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(TotpSecrets::SecretEnc).text().not_null())
                .col(ColumnDef::new(TotpSecrets::Enabled).boolean().not_null())
                .col(timestamp(m, TotpSecrets::Created).not_null())
                .col(timestamp(m, TotpSecrets::EnabledAt).null())
                .col(ColumnDef::new(TotpSecrets::LastStep).big_integer().null())
                .foreign_key(&mut to_users(
                    "fk_totp_user",
                    TotpSecrets::Table,
                    TotpSecrets::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(RecoveryCodes::Table)
                .col(
                    ColumnDef::new(RecoveryCodes::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(RecoveryCodes::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(RecoveryCodes::CodeHmac)
                        .char_len(64)
                        .not_null(),
                )
                .col(timestamp(m, RecoveryCodes::Used).null())
                .foreign_key(&mut to_users(
                    "fk_recovery_user",
                    RecoveryCodes::Table,
                    RecoveryCodes::UserId,
                ))
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_recovery_codes_user")
                .table(RecoveryCodes::Table)
                .col(RecoveryCodes::UserId)
                .col(RecoveryCodes::CodeHmac)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(MfaTokens::Table)
                .col(
                    ColumnDef::new(MfaTokens::TokenHash)
                        .char_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(MfaTokens::UserId).big_integer().not_null())
                .col(ColumnDef::new(MfaTokens::SessionHash).char_len(64).null())
                .col(timestamp(m, MfaTokens::Created).not_null())
                .col(timestamp(m, MfaTokens::Expires).not_null())
                .col(timestamp(m, MfaTokens::Used).null())
                .foreign_key(&mut to_users(
                    "fk_mfa_tokens_user",
                    MfaTokens::Table,
                    MfaTokens::UserId,
                ))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in ["mfa_tokens", "recovery_codes", "totp_secrets"] {
            m.drop_table(Table::drop().table(Alias::new(t)).to_owned())
                .await?;
        }
        Ok(())
    }
}
