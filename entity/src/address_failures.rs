use sea_orm::entity::prelude::*;

/// Failed logins of an address that has no account, keyed by a keyed HMAC
/// of the canonical address (no address is stored); counted and locked as
/// `users.failed_login_tries` / `lock_expires` are for an account.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "address_failures")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub key_hmac: String,
    pub failed_login_tries: i32,
    pub lock_expires: Option<DateTime>,
    pub last_login_try: DateTime,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
