//! Public-key login: users' device keys (Ed25519), the single-use challenges
//! they sign, and the server's own signing keys (sealed under a key derived
//! from the Fernet key ring).

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
enum PubkeyKeys {
    Table,
    KeyId,
    UserId,
    PublicKey,
    Label,
    Created,
    LastUsed,
}

#[derive(DeriveIden)]
enum PubkeyChallenges {
    Table,
    ChallengeId,
    Purpose,
    Challenge,
    UserId,
    Created,
    Expires,
    Used,
    CompletedUserId,
    KeyId,
}

#[derive(DeriveIden)]
enum ServerKeys {
    Table,
    Id,
    Purpose,
    PublicKey,
    SealedSecret,
    Created,
    Retired,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(PubkeyKeys::Table)
                .col(
                    ColumnDef::new(PubkeyKeys::KeyId)
                        .char_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(ColumnDef::new(PubkeyKeys::UserId).big_integer().not_null())
                .col(
                    ColumnDef::new(PubkeyKeys::PublicKey)
                        .char_len(44)
                        .not_null(),
                )
                .col(ColumnDef::new(PubkeyKeys::Label).string_len(200).null())
                .col(timestamp(m, PubkeyKeys::Created).not_null())
                .col(timestamp(m, PubkeyKeys::LastUsed).null())
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_pubkey_keys_user")
                        .from(PubkeyKeys::Table, PubkeyKeys::UserId)
                        .to(Users::Table, Users::UserId)
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pubkey_keys_public_key")
                .table(PubkeyKeys::Table)
                .col(PubkeyKeys::PublicKey)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pubkey_keys_user")
                .table(PubkeyKeys::Table)
                .col(PubkeyKeys::UserId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(PubkeyChallenges::Table)
                .col(
                    ColumnDef::new(PubkeyChallenges::ChallengeId)
                        .char_len(32)
                        .not_null()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(PubkeyChallenges::Purpose)
                        .string_len(16)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PubkeyChallenges::Challenge)
                        .string_len(64)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(PubkeyChallenges::UserId)
                        .big_integer()
                        .null(),
                )
                .col(timestamp(m, PubkeyChallenges::Created).not_null())
                .col(timestamp(m, PubkeyChallenges::Expires).not_null())
                .col(timestamp(m, PubkeyChallenges::Used).null())
                .col(
                    ColumnDef::new(PubkeyChallenges::CompletedUserId)
                        .big_integer()
                        .null(),
                )
                .col(ColumnDef::new(PubkeyChallenges::KeyId).char_len(32).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_pubkey_challenges_expires")
                .table(PubkeyChallenges::Table)
                .col(PubkeyChallenges::Expires)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(ServerKeys::Table)
                .col(
                    ColumnDef::new(ServerKeys::Id)
                        .big_integer()
                        .not_null()
                        .auto_increment()
                        .primary_key(),
                )
                .col(
                    ColumnDef::new(ServerKeys::Purpose)
                        .string_len(32)
                        .not_null(),
                )
                .col(
                    ColumnDef::new(ServerKeys::PublicKey)
                        .string_len(64)
                        .not_null(),
                )
                .col(ColumnDef::new(ServerKeys::SealedSecret).text().not_null())
                .col(timestamp(m, ServerKeys::Created).not_null())
                .col(timestamp(m, ServerKeys::Retired).null())
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("idx_server_keys_purpose")
                .table(ServerKeys::Table)
                .col(ServerKeys::Purpose)
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(ServerKeys::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PubkeyChallenges::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(PubkeyKeys::Table).to_owned())
            .await
    }
}
