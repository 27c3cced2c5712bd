//! The authnzerver catalogue: roles, users (with persistent lockout columns),
//! sessions and both API-key families. Tokens are stored as SHA-256 digests.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Roles {
    Table,
    Name,
    Desc,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
    SystemId,
    FullName,
    Password,
    Email,
    EmailVerified,
    IsActive,
    EmailverifySentDatetime,
    EmailforgotpassSentDatetime,
    EmailchangepassSentDatetime,
    LastLoginSuccess,
    LastLoginTry,
    FailedLoginTries,
    LockExpires,
    ExtraInfo,
    CreatedOn,
    LastUpdated,
    UserRole,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
    IpAddress,
    UserAgent,
    UserId,
    Created,
    Expires,
    ExtraInfoJson,
}

#[derive(DeriveIden)]
enum Apikeys {
    Table,
    ApikeyHash,
    Issued,
    Expires,
    NotValidBefore,
    UserId,
    UserRole,
    SessionTokenHash,
}

#[derive(DeriveIden)]
enum ApikeysNosession {
    Table,
    ApikeyHash,
    Issued,
    Expires,
    NotValidBefore,
    RefreshTokenHash,
    RefreshIssued,
    RefreshExpires,
    RefreshNbf,
    UserId,
    UserRole,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Roles::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Roles::Name)
                        .string_len(100)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(Roles::Desc).string_len(280).not_null())
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Users::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Users::UserId)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Users::SystemId)
                        .string_len(50)
                        .not_null()
                        .unique_key(),
                )
                .col(ColumnDef::new(Users::FullName).string_len(280).null())
                .col(ColumnDef::new(Users::Password).text().not_null())
                .col(
                    ColumnDef::new(Users::Email)
                        .string_len(280)
                        .not_null()
                        .unique_key(),
                )
                .col(
                    ColumnDef::new(Users::EmailVerified)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(
                    ColumnDef::new(Users::IsActive)
                        .boolean()
                        .not_null()
                        .default(false),
                )
                .col(timestamp(m, Users::EmailverifySentDatetime).null())
                .col(timestamp(m, Users::EmailforgotpassSentDatetime).null())
                .col(timestamp(m, Users::EmailchangepassSentDatetime).null())
                .col(timestamp(m, Users::LastLoginSuccess).null())
                .col(timestamp(m, Users::LastLoginTry).null())
                .col(
                    ColumnDef::new(Users::FailedLoginTries)
                        .integer()
                        .not_null()
                        .default(0),
                )
                .col(timestamp(m, Users::LockExpires).null())
                .col(ColumnDef::new(Users::ExtraInfo).json().null())
                .col(timestamp(m, Users::CreatedOn).not_null())
                .col(timestamp(m, Users::LastUpdated).not_null())
                .col(ColumnDef::new(Users::UserRole).string_len(100).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_users_role")
                        .from(Users::Table, Users::UserRole)
                        .to(Roles::Table, Roles::Name),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_users_role")
                .table(Users::Table)
                .col(Users::UserRole)
                .if_not_exists()
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(Sessions::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Sessions::TokenHash)
                        .char_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Sessions::IpAddress)
                        .string_len(280)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(Sessions::UserAgent)
                        .string_len(280)
                        .not_null(),
                )
                .col(ColumnDef::new(Sessions::UserId).big_integer().not_null())
                .col(timestamp(m, Sessions::Created).not_null())
                .col(timestamp(m, Sessions::Expires).not_null())
                .col(ColumnDef::new(Sessions::ExtraInfoJson).json().null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from(Sessions::Table, Sessions::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        for (name, col) in [
            ("ix_sessions_user", Sessions::UserId),
            ("ix_sessions_expires", Sessions::Expires),
        ] {
            m.create_index(
                Index::create()
                    .name(name)
                    .table(Sessions::Table)
                    .col(col)
                    .if_not_exists()
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table(Apikeys::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(Apikeys::ApikeyHash)
                        .char_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(timestamp(m, Apikeys::Issued).not_null())
                .col(timestamp(m, Apikeys::Expires).not_null())
                .col(timestamp(m, Apikeys::NotValidBefore).not_null())
                .col(ColumnDef::new(Apikeys::UserId).big_integer().not_null())
                .col(ColumnDef::new(Apikeys::UserRole).string_len(100).not_null())
                .col(
                    ColumnDef::new(Apikeys::SessionTokenHash)
                        .char_len(64)
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_apikeys_user")
                        .from(Apikeys::Table, Apikeys::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_apikeys_session")
                        .from(Apikeys::Table, Apikeys::SessionTokenHash)
                        .to(Sessions::Table, Sessions::TokenHash)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_apikeys_role")
                        .from(Apikeys::Table, Apikeys::UserRole)
                        .to(Roles::Table, Roles::Name),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table(ApikeysNosession::Table)
                .if_not_exists()
                .col(
                    ColumnDef::new(ApikeysNosession::ApikeyHash)
                        .char_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(timestamp(m, ApikeysNosession::Issued).not_null())
                .col(timestamp(m, ApikeysNosession::Expires).not_null())
                .col(timestamp(m, ApikeysNosession::NotValidBefore).not_null())
                .col(
                    ColumnDef::new(ApikeysNosession::RefreshTokenHash)
                        .char_len(64)
                        .not_null()
                        .unique_key(),
                )
                .col(timestamp(m, ApikeysNosession::RefreshIssued).not_null())
                .col(timestamp(m, ApikeysNosession::RefreshExpires).not_null())
                .col(timestamp(m, ApikeysNosession::RefreshNbf).not_null())
                .col(
                    ColumnDef::new(ApikeysNosession::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ApikeysNosession::UserRole)
                        .string_len(100)
                        .not_null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_apikeys_nosession_user")
                        .from(ApikeysNosession::Table, ApikeysNosession::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_apikeys_nosession_role")
                        .from(ApikeysNosession::Table, ApikeysNosession::UserRole)
                        .to(Roles::Table, Roles::Name),
                )
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ApikeysNosession::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Apikeys::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Users::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Roles::Table).to_owned())
            .await?;
        Ok(())
    }
}
