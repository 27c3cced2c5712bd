//! The OpenID Connect provider's tables:
//! - `oidc_clients`: the relying parties, with their secret's digest
//!   (none for a public client), exact redirect URIs, scopes and roles;
//! - `oidc_codes`: authorization codes by digest, single use, bound to the
//!   client, redirect URI, PKCE challenge and nonce; after redemption a row
//!   names the session it made, so a second redemption can revoke it;
//! - `oidc_consents`: the scopes a user agreed to give a client;
//! - `oidc_grants`: which client, with which scopes, a session made by a
//!   redemption serves (its refresh tokens are bound to that client).

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum OidcClients {
    Table,
    ClientId,
    Name,
    SecretHash,
    RedirectUris,
    PostLogoutRedirectUris,
    Scopes,
    Roles,
    FirstParty,
    Created,
}

#[derive(DeriveIden)]
enum OidcCodes {
    Table,
    CodeHash,
    ClientId,
    UserId,
    RedirectUri,
    Scope,
    Nonce,
    CodeChallenge,
    Amr,
    AuthTime,
    Expires,
    Redeemed,
    GrantSession,
}

#[derive(DeriveIden)]
enum OidcGrants {
    Table,
    SessionHash,
    ClientId,
    Scope,
    Created,
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    TokenHash,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    UserId,
}

#[derive(DeriveIden)]
enum OidcConsents {
    Table,
    UserId,
    ClientId,
    Scope,
    Created,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(OidcClients::Table)
                .col(
                    ColumnDef::new(OidcClients::ClientId)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(OidcClients::Name).string_len(200).not_null())
                .col(
                    ColumnDef::new(OidcClients::SecretHash)
                        .string_len(64)
                        .null(),
                )
                .col(ColumnDef::new(OidcClients::RedirectUris).text().not_null())
                .col(
                    ColumnDef::new(OidcClients::PostLogoutRedirectUris)
                        .text()
                        .not_null(),
                )
                .col(ColumnDef::new(OidcClients::Scopes).text().not_null())
                .col(ColumnDef::new(OidcClients::Roles).text().not_null())
                .col(ColumnDef::new(OidcClients::FirstParty).boolean().not_null())
                .col(timestamp(m, OidcClients::Created).not_null())
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OidcCodes::Table)
                .col(
                    ColumnDef::new(OidcCodes::CodeHash)
                        .string_len(64)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(OidcCodes::ClientId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(OidcCodes::UserId).big_integer().not_null())
                .col(ColumnDef::new(OidcCodes::RedirectUri).text().not_null())
                .col(ColumnDef::new(OidcCodes::Scope).text().not_null())
                .col(ColumnDef::new(OidcCodes::Nonce).text().null())
                .col(
                    ColumnDef::new(OidcCodes::CodeChallenge)
                        .string_len(128)
                        .null(),
                )
                .col(ColumnDef::new(OidcCodes::Amr).string_len(64).not_null())
                .col(timestamp(m, OidcCodes::AuthTime).not_null())
                .col(timestamp(m, OidcCodes::Expires).not_null())
                .col(timestamp(m, OidcCodes::Redeemed).null())
                .col(
                    ColumnDef::new(OidcCodes::GrantSession)
                        .string_len(64)
                        .null(),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_oidc_codes_user")
                        .from(OidcCodes::Table, OidcCodes::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_oidc_codes_expires")
                .table(OidcCodes::Table)
                .col(OidcCodes::Expires)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(OidcConsents::Table)
                .col(
                    ColumnDef::new(OidcConsents::UserId)
                        .big_integer()
                        .not_null(),
                )
                .col(
                    ColumnDef::new(OidcConsents::ClientId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(OidcConsents::Scope).text().not_null())
                .col(timestamp(m, OidcConsents::Created).not_null())
                .primary_key(
                    Index::create()
                        .col(OidcConsents::UserId)
                        .col(OidcConsents::ClientId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_oidc_consents_user")
                        .from(OidcConsents::Table, OidcConsents::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // The type of `sessions.token_hash` on this backend (varchar on
        // PostgreSQL since the varchar-digests migration, else char), as a
        // foreign key wants.
        let mut session_hash = ColumnDef::new(OidcGrants::SessionHash);
        if m.get_database_backend() == sea_orm::DbBackend::Postgres {
            session_hash.string_len(64);
        } else {
            session_hash.char_len(64);
        }
        m.create_table(
            Table::create()
                .table(OidcGrants::Table)
                .col(session_hash.not_null().primary_key())
                .col(
                    ColumnDef::new(OidcGrants::ClientId)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(OidcGrants::Scope).text().not_null())
                .col(timestamp(m, OidcGrants::Created).not_null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_oidc_grants_session")
                        .from(OidcGrants::Table, OidcGrants::SessionHash)
                        .to(Sessions::Table, Sessions::TokenHash)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for t in [
            OidcGrants::Table.into_iden(),
            OidcConsents::Table.into_iden(),
            OidcCodes::Table.into_iden(),
            OidcClients::Table.into_iden(),
        ] {
            m.drop_table(Table::drop().table(t).to_owned()).await?;
        }
        Ok(())
    }
}
