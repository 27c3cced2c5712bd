//! `authnzd key …`: the Fernet key ring in the key file `serve` reads (the
//! `secret` setting when it names a file, else `key_file`). Keys are
//! listed by fingerprint, never printed, except the one `add` makes. The
//! file is replaced atomically, mode 0600, keeping its owner. A running
//! server reads the ring at start-up: restart it after a change. `retire`
//! first seals anew, on the configured database, the TOTP secrets and
//! server signing keys that only the retired key opens.

use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use authnzd::config::Config;
use authnzd::envelope::{KeyError, KeyRing};
use authnzd::keys::{self, KeySource, KeySourceError};
use clap::Subcommand;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Put a new key in front of the ring (a generated one, printed).
    #[command(
        long_about = "Puts a key in front of the ring: after a restart the server opens \
requests sealed with it or with any older key, answers each with the key that opened it, \
and derives its secrets from it (see README, Operator command line). Without --key a new \
key is generated and printed on stdout, for the frontends.",
        after_help = "Examples:\n  authnzd key add --config /etc/authnzd.toml > new-frontend.key\n  \
authnzd key add --key=\"$(cat shared.key)\""
    )]
    Add {
        /// The key to add (default: a new one). Write `--key=VALUE`: a
        /// URL-safe base64 key may start with '-'.
        #[arg(long, allow_hyphen_values = true)]
        key: Option<String>,
    },
    /// List the ring's keys by fingerprint, newest first.
    #[command(after_help = "Example:\n  authnzd key list --json")]
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove a key from the ring (by fingerprint or position).
    #[command(
        long_about = "Removes a key from the ring, named by its fingerprint (`key list`) \
or its position (1 is the newest). After a restart, frontends still sealing with it get \
401. TOTP secrets and server signing keys that only the retired key opens are first \
sealed anew under the newest key, on the configured database. The last key cannot be retired.",
        after_help = "Example:\n  authnzd key retire 3f2a9c0d11e4b7a2"
    )]
    Retire {
        /// Fingerprint (16 hex digits) or position (1 = newest).
        #[arg(allow_hyphen_values = true)]
        key: String,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum KeyCmdError {
    #[error(
        "the key ring comes from the `secret` setting, not a file: change it there (keys comma separated, newest first)"
    )]
    Inline,
    #[error(transparent)]
    Source(#[from] KeySourceError),
    #[error("--key: {0}")]
    BadKey(KeyError),
    #[error("that key is already in the ring")]
    Present,
    #[error("key file {0} does not exist")]
    Missing(PathBuf),
    #[error("no key {0} in the ring (see `authnzd key list`)")]
    Unknown(String),
    #[error("{0} is the ring's only key: add its successor first")]
    Last(String),
    #[error("key file {0}: {1}")]
    Write(PathBuf, std::io::Error),
    #[error("not retired: database: {0}")]
    Db(#[from] sea_orm::DbErr),
    #[error("not retired: TOTP secrets not sealed anew: {0}")]
    Reseal(#[from] authnzd::actions::Fault),
    #[error("not retired: server keys not sealed anew: {0}")]
    ServerKeys(#[from] authnzd::security::server_key::ServerKeyError),
}

pub async fn run(config: &Config, command: &KeyCommand) -> Result<(), KeyCmdError> {
    let path = match keys::source(config) {
        KeySource::Inline(_) => return Err(KeyCmdError::Inline),
        KeySource::File(path) => path,
    };
    match command {
        KeyCommand::Add { key } => {
            let generated = key.is_none();
            let key = key.clone().unwrap_or_else(KeyRing::generate_key);
            let ring = if path.exists() {
                keys::read_key_file(&path)?
                    .with_newest(&key)
                    .map_err(KeyCmdError::BadKey)?
                    .ok_or(KeyCmdError::Present)?
            } else {
                KeyRing::parse(&key).map_err(KeyCmdError::BadKey)?
            };
            write_ring(&path, &ring)?;
            let fingerprint = ring.fingerprints().remove(0);
            eprintln!(
                "authnzd: key {fingerprint} is now the newest of {} in {}; restart authnzd to use it",
                ring.len(),
                path.display()
            );
            if generated {
                println!("{}", key.trim());
            }
        }
        KeyCommand::List { json } => {
            if !path.exists() {
                return Err(KeyCmdError::Missing(path));
            }
            let prints = keys::read_key_file(&path)?.fingerprints();
            if *json {
                // Fields in alphabetical order, as the output has always had them.
                #[derive(serde::Serialize)]
                struct Row<'a> {
                    fingerprint: &'a str,
                    newest: bool,
                    position: usize,
                }
                let rows: Vec<_> = prints
                    .iter()
                    .enumerate()
                    .map(|(i, f)| Row {
                        fingerprint: f,
                        newest: i == 0,
                        position: i + 1,
                    })
                    .collect();
                println!("{}", serde_json::to_string(&rows).unwrap_or_default());
            } else {
                for (i, f) in prints.iter().enumerate() {
                    let note = if i == 0 {
                        "newest: seals, derives secrets"
                    } else {
                        "opens requests"
                    };
                    println!("{:>3}  {f}  {note}", i + 1);
                }
            }
        }
        KeyCommand::Retire { key } => {
            if !path.exists() {
                return Err(KeyCmdError::Missing(path));
            }
            let ring = keys::read_key_file(&path)?;
            let prints = ring.fingerprints();
            let wanted = key.trim().to_ascii_lowercase();
            let index = prints
                .iter()
                .position(|f| *f == wanted)
                .or_else(|| {
                    wanted
                        .parse::<usize>()
                        .ok()
                        .filter(|p| (1..=prints.len()).contains(p) && wanted.len() < 16)
                        .map(|p| p - 1)
                })
                .ok_or_else(|| KeyCmdError::Unknown(key.clone()))?;
            let kept = ring
                .without(index)
                .ok_or_else(|| KeyCmdError::Last(prints[index].clone()))?;
            let (done, server_keys) = reseal_derived(config, &ring, &kept).await?;
            if server_keys > 0 {
                eprintln!(
                    "authnzd: {server_keys} server signing key(s) sealed anew under key {}",
                    kept.fingerprints()[0]
                );
            }
            if done.resealed > 0 {
                eprintln!(
                    "authnzd: {} TOTP secret(s) sealed anew under key {}",
                    done.resealed,
                    kept.fingerprints()[0]
                );
            }
            if done.unreadable > 0 {
                eprintln!(
                    "authnzd: warning: {} TOTP secret(s) open with no key of the ring",
                    done.unreadable
                );
            }
            write_ring(&path, &kept)?;
            eprintln!(
                "authnzd: key {} retired; {} left in {}; restart authnzd to refuse it",
                prints[index],
                kept.len(),
                path.display()
            );
        }
    }
    Ok(())
}

/// TOTP secrets and server signing keys only `before` opens, sealed anew
/// for `after` (on the configured database, migrated as `serve` would).
async fn reseal_derived(
    config: &Config,
    before: &KeyRing,
    after: &KeyRing,
) -> Result<(authnzd::actions::totp::Resealed, usize), KeyCmdError> {
    let db = authnzd::store::connect(config).await?;
    authnzd::store::migrate(&db).await?;
    let server_keys = authnzd::security::server_key::reseal_for(&db, before, after).await;
    let totp = authnzd::actions::totp::reseal_for(&db, before, after).await;
    db.close().await.ok();
    Ok((totp?, server_keys?))
}

/// Replaces the key file with `ring`: a private temporary file beside it,
/// synced, given the old file's owner, renamed over it.
fn write_ring(path: &Path, ring: &KeyRing) -> Result<(), KeyCmdError> {
    let err = |e| KeyCmdError::Write(path.to_path_buf(), e);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "authnzd.key".into());
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let owner = std::fs::metadata(path).ok().map(|m| (m.uid(), m.gid()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)?;
        file.write_all(ring.to_file_text().as_bytes())?;
        file.sync_all()?;
        if let Some((uid, gid)) = owner {
            // Only root may give a file away; others keep their own.
            let _ = std::os::unix::fs::chown(&temp, Some(uid), Some(gid));
        }
        std::fs::rename(&temp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written.map_err(err)
}
