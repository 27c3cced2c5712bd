//! Device keys bound to the browser that asked for them:
//! - `pubkey_challenges.wait_hash`: SHA-256 of the secret only the caller
//!   of `pubkey-challenge-new` holds (never in the QR code); the wait, the
//!   session of an approved login and the confirmation of a new key go to
//!   it alone;
//! - `session_hash`: the signed-in session a registration was asked from;
//! - `requester_ip` / `requester_ua`: the browser that asked, shown to the
//!   approving app in the signed payload;
//! - `delivered`: when the waiting side took the login's session or
//!   confirmed the key (once);
//! - `pubkey_keys.confirmed` / `pending_until`: a key registered from a QR
//!   code stays pending, and cannot log in, until the browser confirms it;
//!   unconfirmed keys are deleted once their challenge has expired.

use sea_orm_migration::prelude::*;

use crate::timestamp;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum PubkeyChallenges {
    Table,
    WaitHash,
    SessionHash,
    RequesterIp,
    RequesterUa,
    Delivered,
}

#[derive(DeriveIden)]
enum PubkeyKeys {
    Table,
    Confirmed,
    PendingUntil,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite adds one column per statement.
        let challenge_columns = [
            ColumnDef::new(PubkeyChallenges::WaitHash)
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new(PubkeyChallenges::SessionHash)
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new(PubkeyChallenges::RequesterIp)
                .string_len(64)
                .null()
                .to_owned(),
            ColumnDef::new(PubkeyChallenges::RequesterUa)
                .string_len(280)
                .null()
                .to_owned(),
            timestamp(m, PubkeyChallenges::Delivered).null().to_owned(),
        ];
        for col in challenge_columns {
            m.alter_table(
                Table::alter()
                    .table(PubkeyChallenges::Table)
                    .add_column(col)
                    .to_owned(),
            )
            .await?;
        }
        // Keys registered before this migration were complete: confirmed.
        m.alter_table(
            Table::alter()
                .table(PubkeyKeys::Table)
                .add_column(
                    ColumnDef::new(PubkeyKeys::Confirmed)
                        .boolean()
                        .not_null()
                        .default(true),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table(PubkeyKeys::Table)
                .add_column(timestamp(m, PubkeyKeys::PendingUntil).null())
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in [PubkeyKeys::PendingUntil, PubkeyKeys::Confirmed] {
            m.alter_table(
                Table::alter()
                    .table(PubkeyKeys::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        for col in [
            PubkeyChallenges::Delivered,
            PubkeyChallenges::RequesterUa,
            PubkeyChallenges::RequesterIp,
            PubkeyChallenges::SessionHash,
            PubkeyChallenges::WaitHash,
        ] {
            m.alter_table(
                Table::alter()
                    .table(PubkeyChallenges::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
