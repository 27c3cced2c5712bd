//! Schema migrations, run by `authnzd` at start-up and by `authnzd migrate`.

pub use sea_orm_migration::prelude::*;

mod m20261122_000001_catalogue;
mod m20261122_000002_apikey_claims;
mod m20261122_000003_passwordless;
mod m20261201_000004_pubkey;
mod m20261201_000004_totp;
mod m20261201_000005_imported_refresh;
mod m20261201_000006_refresh_tokens;
mod m20261201_000007_audit_indexes;
mod m20261201_000008_varchar_digests;
mod m20261202_000009_authentication_methods;
mod m20261202_000010_device_key_binding;
mod m20261203_000011_passkeys;
mod m20261203_000012_invalidations;
mod m20261204_000013_oidc;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261122_000001_catalogue::Migration),
            Box::new(m20261122_000002_apikey_claims::Migration),
            Box::new(m20261122_000003_passwordless::Migration),
            Box::new(m20261201_000004_totp::Migration),
            Box::new(m20261201_000004_pubkey::Migration),
            Box::new(m20261201_000005_imported_refresh::Migration),
            Box::new(m20261201_000006_refresh_tokens::Migration),
            Box::new(m20261201_000007_audit_indexes::Migration),
            Box::new(m20261201_000008_varchar_digests::Migration),
            Box::new(m20261202_000009_authentication_methods::Migration),
            Box::new(m20261202_000010_device_key_binding::Migration),
            Box::new(m20261203_000011_passkeys::Migration),
            Box::new(m20261203_000012_invalidations::Migration),
            Box::new(m20261204_000013_oidc::Migration),
        ]
    }
}

/// A UTC timestamp column with microseconds on every backend (MySQL's plain
/// `DATETIME` drops them).
pub(crate) fn timestamp<T: IntoIden>(manager: &SchemaManager, col: T) -> ColumnDef {
    let mut def = ColumnDef::new(col);
    if manager.get_database_backend() == sea_orm::DbBackend::MySql {
        def.custom(Alias::new("DATETIME(6)"));
    } else {
        def.date_time();
    }
    def
}
