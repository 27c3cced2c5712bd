//! PostgreSQL compares a `character(n)` column with a text parameter (which
//! is what a Rust `String` is bound as) by casting the column to text, so
//! the index is not used: every lookup by digest was a sequential scan,
//! O(rows) per cache miss. `varchar(n)` compares as text and keeps its
//! index. MariaDB and SQLite compare either type through the index: no
//! change there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Every fixed-width column of the schema: (table, column, width).
const COLUMNS: [(&str, &str, u32); 21] = [
    ("sessions", "token_hash", 64),
    ("apikeys", "apikey_hash", 64),
    ("apikeys", "session_token_hash", 64),
    ("apikeys", "claims_sha256", 64),
    ("apikeys_nosession", "apikey_hash", 64),
    ("apikeys_nosession", "claims_sha256", 64),
    ("passwordless_attempts", "attempt_id", 32),
    ("passwordless_attempts", "ip_hash", 64),
    ("passwordless_attempts", "code_hmac", 64),
    ("passwordless_attempts", "link_hash", 64),
    ("pubkey_keys", "key_id", 32),
    ("pubkey_keys", "public_key", 44),
    ("pubkey_challenges", "challenge_id", 32),
    ("pubkey_challenges", "key_id", 32),
    ("recovery_codes", "code_hmac", 64),
    ("mfa_tokens", "token_hash", 64),
    ("mfa_tokens", "session_hash", 64),
    ("refresh_tokens", "token_hash", 64),
    ("refresh_tokens", "family", 32),
    ("refresh_tokens", "session_hash", 64),
    ("refresh_tokens", "successor_hash", 64),
];

async fn retype(m: &SchemaManager<'_>, to: &str) -> Result<(), DbErr> {
    if m.get_database_backend() != DbBackend::Postgres {
        return Ok(());
    }
    let db = m.get_connection();
    for (table, column, width) in COLUMNS {
        db.execute_unprepared(&format!(
            "ALTER TABLE {table} ALTER COLUMN {column} TYPE {to}({width})"
        ))
        .await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        retype(m, "varchar").await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        retype(m, "char").await
    }
}
