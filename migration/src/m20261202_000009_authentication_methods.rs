//! Counting guesses before comparing them, and recording how a user signed
//! in:
//! - `address_failures`: failed logins of addresses without an account,
//!   keyed by a keyed HMAC of the canonical address, counted in the same
//!   database as accounts' (so the two lock alike across processes and
//!   restarts);
//! - `sessions.amr` / `auth_time`: the methods a session was signed in with
//!   (`pwd otp`, …) and when;
//! - `mfa_tokens.first_factor`: what the first step of a two-step login was;
//! - `login_grants`: a user's latest completed sign-in, which the next
//!   `session-new` for that user takes over (authnzerver frontends make the
//!   session themselves after a login).

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum AddressFailures {
    Table,
    KeyHmac,
    FailedLoginTries,
    LockExpires,
    LastLoginTry,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Amr,
    AuthTime,
}

#[derive(DeriveIden)]
enum MfaTokens {
    Table,
    FirstFactor,
}

#[derive(DeriveIden)]
enum LoginGrants {
    Table,
    UserId,
    Amr,
    AuthTime,
    Expires,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(AddressFailures::Table)
                .col(
                    ColumnDef::new(AddressFailures::KeyHmac)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(AddressFailures::FailedLoginTries)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(timestamp(m, AddressFailures::LockExpires).null())
                .col(timestamp(m, AddressFailures::LastLoginTry).not_null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_address_failures_last_login_try")
                .table(AddressFailures::Table)
                .col(AddressFailures::LastLoginTry)
                .to_owned(),
        )
        .await?;
        // SQLite adds one column per statement.
        m.alter_table(
            Table::alter()
                .table(Sessions::Table)
                .add_column(
                    ColumnDef::new(Sessions::Amr)
                        .string_len(64)
                        .not_null()
                        .default(""),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Sessions::Table)
                .add_column(timestamp(m, Sessions::AuthTime).null())
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(MfaTokens::Table)
                .add_column(
                    ColumnDef::new(MfaTokens::FirstFactor)
                        .string_len(16)
                        .not_null()
                        .default("pwd"),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(LoginGrants::Table)
                .col(
                    ColumnDef::new(LoginGrants::UserId)
                        .big_integer()
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(LoginGrants::Amr).string_len(64).not_null())
                .col(timestamp(m, LoginGrants::AuthTime).not_null())
                .col(timestamp(m, LoginGrants::Expires).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_login_grants_user")
                        .from(LoginGrants::Table, LoginGrants::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(LoginGrants::Table).to_owned())
            .await?;
        m.alter_table(
            Table::alter()
                .table(MfaTokens::Table)
                .drop_column(MfaTokens::FirstFactor)
                .to_owned(),
        )
        .await?;
        for col in [Sessions::AuthTime, Sessions::Amr] {
            m.alter_table(
                Table::alter()
                    .table(Sessions::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        m.drop_table(Table::drop().table(AddressFailures::Table).to_owned())
            .await
    }
}
