//! Where the Fernet key ring comes from: the `secret` setting (keys, or a
//! path to a key file), else the key file, created with mode 0600 on first
//! start. Key files readable by group or others are refused.

use crate::secret::ExposeSecret;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::envelope::{KeyError, KeyRing};

#[derive(Debug, thiserror::Error)]
pub enum KeySourceError {
    #[error("config key `secret`: {0}")]
    Secret(KeyError),
    #[error("key file {path}: {source}")]
    File { path: PathBuf, source: KeyError },
    #[error("key file {0} is readable by group or others (mode {1:o}); run `chmod 600` on it")]
    Exposed(PathBuf, u32),
    #[error("key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Where the ring is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource<'a> {
    /// The `secret` setting holds the keys themselves.
    Inline(&'a str),
    /// A key file: `secret` naming one, or `key_file`.
    File(PathBuf),
}

/// Where `load` reads the ring from (the operator's `authnzd key` commands
/// edit that same file).
pub fn source(config: &Config) -> KeySource<'_> {
    if let Some(secret) = config
        .keys
        .secret
        .as_ref()
        .map(|s| s.expose_secret().trim())
        .filter(|s| !s.is_empty())
    {
        // authnzerver reads the secret from a file when the value is a path.
        let path = Path::new(secret);
        if path.is_file() {
            return KeySource::File(path.to_path_buf());
        }
        return KeySource::Inline(secret);
    }
    KeySource::File(config.keys.key_file.clone())
}

/// The ring, and the path of a key file this call created (to tell the
/// operator).
pub fn load(config: &Config) -> Result<(KeyRing, Option<PathBuf>), KeySourceError> {
    let path = match source(config) {
        KeySource::Inline(secret) => {
            return KeyRing::parse(secret)
                .map(|r| (r, None))
                .map_err(KeySourceError::Secret);
        }
        KeySource::File(path) => path,
    };
    if path.exists() {
        return Ok((read_key_file(&path)?, None));
    }
    let key = KeyRing::generate_key();
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(|e| KeySourceError::Io(path.clone(), e))?;
    writeln!(file, "{key}").map_err(|e| KeySourceError::Io(path.clone(), e))?;
    file.sync_all()
        .map_err(|e| KeySourceError::Io(path.clone(), e))?;
    let ring = KeyRing::parse(&key).map_err(KeySourceError::Secret)?;
    Ok((ring, Some(path)))
}

/// Refuses a file readable by group or others, or one that is not a ring.
pub fn read_key_file(path: &Path) -> Result<KeyRing, KeySourceError> {
    let meta = std::fs::metadata(path).map_err(|e| KeySourceError::Io(path.into(), e))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeySourceError::Exposed(path.into(), mode));
    }
    let text = std::fs::read_to_string(path).map_err(|e| KeySourceError::Io(path.into(), e))?;
    KeyRing::parse(&text).map_err(|source| KeySourceError::File {
        path: path.into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeysConfig;

    fn config_with(dir: &Path) -> Config {
        Config {
            keys: KeysConfig {
                key_file: dir.join("k.key"),
                ..KeysConfig::default()
            },
            ..Config::default()
        }
    }

    #[test]
    fn creates_a_private_key_file_then_reuses_it() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_with(dir.path());
        let (_, created) = load(&cfg).unwrap();
        assert_eq!(created.as_deref(), Some(cfg.keys.key_file.as_path()));
        let mode = std::fs::metadata(&cfg.keys.key_file)
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o600);
        let (_, created) = load(&cfg).unwrap();
        assert!(created.is_none());
    }

    #[test]
    fn refuses_a_world_readable_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = config_with(dir.path());
        std::fs::write(&cfg.keys.key_file, KeyRing::generate_key()).unwrap();
        std::fs::set_permissions(&cfg.keys.key_file, std::fs::Permissions::from_mode(0o644))
            .unwrap();
        let err = load(&cfg).unwrap_err();
        assert!(err.to_string().contains("chmod 600"), "{err}");
    }

    #[test]
    fn secret_may_be_a_ring_or_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (KeyRing::generate_key(), KeyRing::generate_key());
        let mut cfg = config_with(dir.path());
        cfg.keys.secret = Some(format!("{a},{b}").into());
        assert_eq!(load(&cfg).unwrap().0.len(), 2);
        cfg.keys.secret = Some("not-a-key".into());
        assert!(load(&cfg).unwrap_err().to_string().contains("`secret`"));
    }

    #[test]
    fn ring_edits_keep_order_and_refuse_what_would_break_it() {
        let (a, b) = (KeyRing::generate_key(), KeyRing::generate_key());
        let ring = KeyRing::parse(&a).unwrap();
        let two = ring.with_newest(&b).unwrap().unwrap();
        assert_eq!(two.to_file_text(), format!("{b}\n{a}\n"));
        assert!(two.with_newest(&a).unwrap().is_none(), "already there");
        assert!(ring.with_newest("not-a-key").is_err());
        assert!(ring.with_newest(&format!("{a},{b}")).is_err(), "one key");
        let prints = two.fingerprints();
        assert_eq!(prints.len(), 2);
        assert_eq!(prints[1], ring.fingerprints()[0]);
        assert!(
            prints
                .iter()
                .all(|p| p.len() == 16 && !a.contains(p.as_str()))
        );
        let back = two.without(0).unwrap();
        assert_eq!(back.to_file_text(), format!("{a}\n"));
        assert!(back.without(0).is_none(), "the last key stays");
        assert!(two.without(2).is_none());
    }
}
