//! Bringing an authnzerver database over: recognised at start-up and
//! converted in place (one transaction; SQLite after a backup copy), or
//! copied into another database by `authnzd import-authnzerver --from URL`.
//!
//! What changes on the way: session tokens and API-key tokens are kept only
//! as their SHA-256 digests; email addresses are normalised as authnzd
//! stores them; password hashes (argon2-cffi / passlib PHC strings) are kept
//! as they are (they verify, and are re-hashed at the next login); refresh
//! tokens keep their argon2 hashes (checked as such at the refresh, which
//! then stores a SHA-256 digest). authnzerver recorded only a key's token,
//! owner, role and times, so an imported key is checked on those, as
//! authnzerver checked it, not on its other claims.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use entity::{apikeys, apikeys_nosession, roles, sessions, users};
use sea_orm::{DatabaseConnection, DbBackend, DbErr};

use crate::security::{email, tokens};
use crate::store::apikeys::UNRECORDED_CLAIMS;
use crate::store::authnzerver::{self as old, Converted, Found, Snapshot};
use crate::store::seed::ROLES;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("database: {0}")]
    Database(#[from] DbErr),
    /// The database cannot be converted; the text says why and what to do.
    #[error("{0}")]
    Refused(String),
    #[error("backup copy {0}: {1}")]
    Backup(PathBuf, std::io::Error),
}

/// What a conversion or an import copied (or, for a dry run, would copy).
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Summary {
    pub users: usize,
    pub sessions: usize,
    pub apikeys: usize,
    pub apikeys_nosession: usize,
    /// Rows left behind, with the reason (expired sessions and keys).
    pub skipped: Vec<String>,
    /// The SQLite backup written before a conversion in place.
    pub backup: Option<PathBuf>,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} users, {} sessions, {} session API keys, {} no-session API keys",
            self.users, self.sessions, self.apikeys, self.apikeys_nosession
        )?;
        if !self.skipped.is_empty() {
            write!(f, "; skipped: {}", self.skipped.join(", "))?;
        }
        if let Some(b) = &self.backup {
            write!(f, "; backup: {}", b.display())?;
        }
        Ok(())
    }
}

/// authnzerver's rows as authnzd's, or why they cannot be.
pub fn convert(
    snap: Snapshot,
    now: chrono::NaiveDateTime,
) -> Result<(Converted, Summary), ImportError> {
    if !snap.unused.is_empty() {
        let tables: Vec<String> = snap
            .unused
            .iter()
            .map(|(t, n)| format!("{t} ({n} rows)"))
            .collect();
        return Err(ImportError::Refused(format!(
            "authnzerver tables authnzd does not use hold rows: {}; empty them first",
            tables.join(", ")
        )));
    }
    let mut seen = HashSet::new();
    let mut users = Vec::with_capacity(snap.users.len());
    for u in snap.users {
        if !ROLES.contains(&u.user_role.as_str()) {
            return Err(ImportError::Refused(format!(
                "user {} has role `{}`, which authnzd does not have (roles: {})",
                u.user_id,
                u.user_role,
                ROLES.join(", ")
            )));
        }
        let address = email::normalise(&u.email);
        if !seen.insert(address.clone()) {
            return Err(ImportError::Refused(format!(
                "two users have the address {address} once normalised; merge them first"
            )));
        }
        users.push(users::Model {
            user_id: u.user_id,
            system_id: u.system_id,
            full_name: u.full_name,
            password: u.password,
            email: address,
            email_verified: u.email_verified,
            is_active: u.is_active,
            emailverify_sent_datetime: u.emailverify_sent_datetime,
            emailforgotpass_sent_datetime: u.emailforgotpass_sent_datetime,
            emailchangepass_sent_datetime: u.emailchangepass_sent_datetime,
            last_login_success: u.last_login_success,
            last_login_try: u.last_login_try,
            failed_login_tries: i32::try_from(u.failed_login_tries.unwrap_or(0))
                .unwrap_or(i32::MAX),
            lock_expires: None,
            extra_info: u.extra_info,
            created_on: u.created_on,
            last_updated: u.last_updated,
            user_role: u.user_role,
            phone: None,
            webauthn_user_handle: None,
        });
    }
    let ids: HashSet<i64> = users.iter().map(|u| u.user_id).collect();
    let mut summary = Summary::default();
    let (live, expired): (Vec<_>, Vec<_>) = snap
        .sessions
        .into_iter()
        .filter(|s| ids.contains(&s.user_id))
        .partition(|s| s.expires > now);
    let live_tokens: HashSet<String> = live.iter().map(|s| s.session_token.clone()).collect();
    let sessions: Vec<sessions::Model> = live
        .into_iter()
        .map(|s| sessions::Model {
            token_hash: tokens::digest(&s.session_token),
            ip_address: s.ip_address,
            user_agent: s.user_agent,
            user_id: s.user_id,
            created: s.created,
            expires: s.expires,
            extra_info_json: s.extra_info_json,
            // authnzerver did not record how a session was signed in.
            amr: String::new(),
            auth_time: None,
        })
        .collect();
    let (keys, gone): (Vec<_>, Vec<_>) = snap
        .keys
        .into_iter()
        .partition(|k| ids.contains(&k.user_id) && live_tokens.contains(&k.session_token));
    let keys: Vec<apikeys::Model> = keys
        .into_iter()
        .map(|k| apikeys::Model {
            apikey_hash: tokens::digest(&k.apikey),
            issued: k.issued,
            expires: k.expires,
            not_valid_before: k.not_valid_before,
            user_id: k.user_id,
            user_role: k.user_role,
            claims_sha256: UNRECORDED_CLAIMS.into(),
            session_token_hash: tokens::digest(&k.session_token),
        })
        .collect();
    let free_keys: Vec<apikeys_nosession::Model> = snap
        .free_keys
        .into_iter()
        .filter(|k| ids.contains(&k.user_id))
        .map(|k| apikeys_nosession::Model {
            apikey_hash: tokens::digest(&k.apikey),
            issued: k.issued,
            expires: k.expires,
            not_valid_before: k.not_valid_before,
            refresh_token_hash: k.refresh_token,
            refresh_issued: k.refresh_issued,
            refresh_expires: k.refresh_expires,
            refresh_nbf: k.refresh_nbf,
            user_id: k.user_id,
            user_role: k.user_role,
            claims_sha256: UNRECORDED_CLAIMS.into(),
        })
        .collect();
    if !expired.is_empty() {
        summary
            .skipped
            .push(format!("{} expired sessions", expired.len()));
    }
    if !gone.is_empty() {
        summary.skipped.push(format!(
            "{} session API keys of expired sessions",
            gone.len()
        ));
    }
    let descs: Vec<(String, String)> = snap.roles;
    let roles = ROLES
        .iter()
        .map(|name| roles::Model {
            name: (*name).to_owned(),
            desc: descs.iter().find(|(n, _)| n == name).map_or_else(
                || format!("Role with {name} privileges"),
                |(_, d)| d.clone(),
            ),
        })
        .collect();
    summary.users = users.len();
    summary.sessions = sessions.len();
    summary.apikeys = keys.len();
    summary.apikeys_nosession = free_keys.len();
    Ok((
        Converted {
            roles,
            users,
            sessions,
            keys,
            free_keys,
        },
        summary,
    ))
}

/// The one-line way out for a database authnzd will not convert in place.
fn how_to_import(why: &str) -> String {
    format!(
        "{why}; convert it with `authnzd import-authnzerver --from <its URL> --database-url <an \
         empty database>` and point database_url at the new one"
    )
}

/// At start-up: an authnzerver database is converted in place, in one
/// transaction — on SQLite after a backup copy next to the file. MariaDB /
/// MySQL cannot change tables inside a transaction, so there the start is
/// refused with the import command to run. Anything else but an empty
/// database or authnzd's own is refused with what is wrong.
pub async fn convert_in_place(
    db: &DatabaseConnection,
    sqlite_file: Option<&Path>,
    now: chrono::NaiveDateTime,
) -> Result<Option<Summary>, ImportError> {
    match old::detect(db).await? {
        Found::Empty | Found::Ours => return Ok(None),
        Found::Other(why) => {
            return Err(ImportError::Refused(format!(
                "database_url holds {why}; authnzd will not start on it"
            )));
        }
        Found::Authnzerver => {}
    }
    if db.get_database_backend() == DbBackend::MySql {
        return Err(ImportError::Refused(how_to_import(
            "database_url holds an authnzerver database, which MariaDB / MySQL cannot convert \
             in one transaction",
        )));
    }
    // Refused before anything is written; read again inside the
    // transaction, so rows written meanwhile are not lost.
    convert(old::read(db).await?, now)?;
    let backup = match sqlite_file {
        Some(file) => Some(backup(db, file, now).await?),
        None => None,
    };
    let txn = crate::store::begin_write(db).await?;
    let (converted, mut summary) = convert(old::read(&txn).await?, now)?;
    summary.backup = backup;
    old::drop_old_tables(&txn).await?;
    old::create_ours(&txn).await?;
    old::write(&txn, converted).await?;
    txn.commit().await?;
    Ok(Some(summary))
}

/// `VACUUM INTO` a new file (mode 0600) beside `file`.
async fn backup(
    db: &DatabaseConnection,
    file: &Path,
    now: chrono::NaiveDateTime,
) -> Result<PathBuf, ImportError> {
    use std::os::unix::fs::OpenOptionsExt;
    let name = format!(
        "{}.authnzerver-backup-{}",
        file.file_name()
            .map_or_else(|| "authdb".into(), |n| n.to_string_lossy()),
        now.format("%Y%m%dT%H%M%S")
    );
    let target = file.with_file_name(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&target)
        .map_err(|e| ImportError::Backup(target.clone(), e))?;
    old::sqlite_backup(db, &target).await?;
    Ok(target)
}

/// `authnzd import-authnzerver`: copies an authnzerver database at `from`
/// into `to` (authnzd's schema, migrated; empty but for a first start's
/// seed, which the import replaces), in one transaction. A dry run reads
/// and converts everything and writes nothing.
pub async fn import(
    from: &DatabaseConnection,
    to: &DatabaseConnection,
    dry_run: bool,
    now: chrono::NaiveDateTime,
) -> Result<Summary, ImportError> {
    match old::detect(from).await? {
        Found::Authnzerver => {}
        Found::Empty | Found::Ours => {
            return Err(ImportError::Refused(
                "--from does not hold an authnzerver database".into(),
            ));
        }
        Found::Other(why) => {
            return Err(ImportError::Refused(format!("--from holds {why}")));
        }
    }
    let (converted, summary) = convert(old::read(from).await?, now)?;
    if dry_run {
        return Ok(summary);
    }
    let txn = crate::store::begin_write(to).await?;
    if old::holds_data(&txn).await? {
        return Err(ImportError::Refused(
            "the target database already holds users, sessions or keys; import into an empty one"
                .into(),
        ));
    }
    old::clear_seed(&txn).await?;
    old::write(&txn, converted).await?;
    txn.commit().await?;
    Ok(summary)
}
