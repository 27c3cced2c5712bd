//! Passkeys (WebAuthn):
//! - `users.webauthn_user_handle`: the user handle authenticators store (a
//!   random UUID, set at the user's first passkey registration; never the
//!   integer id, which would leak account order to anyone holding a key);
//! - `passkeys`: one row per credential, the serialized webauthn-rs
//!   `Passkey` (public key, counter, flags) with its id's SHA-256 as the
//!   unique lookup key (credential ids run to 1023 bytes, too long to index
//!   on MariaDB);
//! - `passkey_ceremonies`: the state of a started registration or login,
//!   sealed, until its finish deletes it (once) or it expires.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
    WebauthnUserHandle,
}

#[derive(DeriveIden)]
enum Passkeys {
    Table,
    PasskeyId,
    CredentialDigest,
    CredentialId,
    UserId,
    Label,
    Passkey,
    BackupEligible,
    BackupState,
    Created,
    LastUsed,
}

#[derive(DeriveIden)]
enum PasskeyCeremonies {
    Table,
    CeremonyId,
    Kind,
    UserId,
    BoundHash,
    State,
    Created,
    Expires,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .add_column(
                    ColumnDef::new(Users::WebauthnUserHandle)
                        .string_len(36)
                        .null(),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_users_webauthn_user_handle")
                .table(Users::Table)
                .col(Users::WebauthnUserHandle)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Passkeys::Table)
                .col(
                    ColumnDef::new(Passkeys::PasskeyId)
                        .string_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(Passkeys::CredentialDigest)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(Passkeys::CredentialId).text().not_null())
                .col(ColumnDef::new(Passkeys::UserId).big_integer().not_null())
                .col(ColumnDef::new(Passkeys::Label).string_len(200).null())
                .col(ColumnDef::new(Passkeys::Passkey).text().not_null())
                .col(
                    ColumnDef::new(Passkeys::BackupEligible)
                        .boolean()
                        .not_null(),
                )
                .col(ColumnDef::new(Passkeys::BackupState).boolean().not_null())
                .col(timestamp(m, Passkeys::Created).not_null())
                .col(timestamp(m, Passkeys::LastUsed).null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_passkeys_user")
                        .from(Passkeys::Table, Passkeys::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_passkeys_credential")
                .table(Passkeys::Table)
                .col(Passkeys::CredentialDigest)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_passkeys_user")
                .table(Passkeys::Table)
                .col(Passkeys::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PasskeyCeremonies::Table)
                .col(
                    ColumnDef::new(PasskeyCeremonies::CeremonyId)
                        .string_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(PasskeyCeremonies::Kind)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PasskeyCeremonies::UserId)
                        .big_integer()
                        .null(),
                )
                .col(
                    ColumnDef::new(PasskeyCeremonies::BoundHash)
                        .string_len(64)
                        .null(),
                )
                .col(ColumnDef::new(PasskeyCeremonies::State).text().not_null())
                .col(timestamp(m, PasskeyCeremonies::Created).not_null())
                .col(timestamp(m, PasskeyCeremonies::Expires).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_passkey_ceremonies_user")
                        .from(PasskeyCeremonies::Table, PasskeyCeremonies::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_passkey_ceremonies_expires")
                .table(PasskeyCeremonies::Table)
                .col(PasskeyCeremonies::Expires)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(PasskeyCeremonies::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Passkeys::Table).to_owned())
            .await?;
        m.drop_index(
            Index::drop()
                .name("idx_users_webauthn_user_handle")
                .table(Users::Table)
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(Users::Table)
                .drop_column(Users::WebauthnUserHandle)
                .to_owned(),
        )
        .await
    }
}
