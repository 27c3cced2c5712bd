//! Passwordless sign-in attempts (their send windows are counted from this
//! table, so they hold across restarts and instances), the audit log, and
//! users' phone numbers (E.164) for sign-in by SMS.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    Phone,
}

#[derive(DeriveIden)]
enum PasswordlessAttempts {
    Table,
    AttemptId,
    Channel,
    Address,
    IpHash,
    CodeHmac,
    LinkHash,
    WrongCodes,
    CreateUser,
    RedirectUrl,
    Created,
    Expires,
    Finished,
}

#[derive(DeriveIden)]
enum AuditEvents {
    Table,
    Id,
    At,
    Event,
    UserId,
    IpHash,
    Detail,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(ColumnDef::new(Users::Phone).string_len(32).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_phone")
                .table(Users::Table)
                .col(Users::Phone)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PasswordlessAttempts::Table)
                .col(
                    ColumnDef::new(PasswordlessAttempts::AttemptId)
                        .char_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::Channel)
                        .string_len(8)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::Address)
                        .string_len(320)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::IpHash)
                        .char_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::CodeHmac)
                        .char_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::LinkHash)
                        .char_len(64)
                        .null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::WrongCodes)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::CreateUser)
                        .boolean()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasswordlessAttempts::RedirectUrl)
                        .text()
                        .null(),
                )
                .col(timestamp(m, PasswordlessAttempts::Created).not_null())
                .col(timestamp(m, PasswordlessAttempts::Expires).not_null())
                .col(timestamp(m, PasswordlessAttempts::Finished).null())
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("idx_passwordless_address", PasswordlessAttempts::Address),
            ("idx_passwordless_ip", PasswordlessAttempts::IpHash),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(PasswordlessAttempts::Table)
                    .col(col)
                    .col(PasswordlessAttempts::Created)
                    .to_owned(),
            )
            .await?;
        }
        m.create_index(
            Index::create()
                .name("idx_passwordless_link")
                .table(PasswordlessAttempts::Table)
                .col(PasswordlessAttempts::LinkHash)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(AuditEvents::Table)
                .col(
                    ColumnDef::new(AuditEvents::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(timestamp(m, AuditEvents::At).not_null())
                .col(ColumnDef::new(AuditEvents::Event).string_len(64).not_null())
                .col(ColumnDef::new(AuditEvents::UserId).big_integer().null())
                .col(ColumnDef::new(AuditEvents::IpHash).string_len(64).null())
                .col(ColumnDef::new(AuditEvents::Detail).json().null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_audit_at")
                .table(AuditEvents::Table)
                .col(AuditEvents::At)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(AuditEvents::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PasswordlessAttempts::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("idx_users_phone")
                .table(Users::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::Phone)
                .to_owned(),
        )
        .await
    }
}
