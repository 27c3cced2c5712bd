//! The database: where it is, its pool, and the superuser made on first start.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct DatabaseConfig {
    /// sea-orm database URL; SQLAlchemy-style `+driver` suffixes are accepted.
    pub database_url: String,
    /// Database pool size.
    pub db_max_connections: u32,
    /// First superuser's email (first start only).
    pub superuser_email: Option<String>,
    /// First superuser's password (first start only); generated when unset.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub superuser_password: Option<SecretString>,
    /// Where generated superuser credentials are written (mode 0600).
    pub superuser_credentials_file: PathBuf,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            database_url: "sqlite://./authnzd.sqlite".into(),
            db_max_connections: 8,
            superuser_email: None,
            superuser_password: None,
            superuser_credentials_file: PathBuf::from("./authnzd-superuser.json"),
        }
    }
}

/// Accepts sea-orm URLs and SQLAlchemy ones (`postgresql+psycopg2://`,
/// `sqlite:///path`), returning the sea-orm form (SQLite: `sqlite:{path}`, which
/// reads back the same). SQLite URLs read as
/// SQLAlchemy reads them: `sqlite:///authdb.sqlite` is relative to the
/// working directory, `sqlite:////srv/authdb.sqlite` absolute (also
/// `sqlite://rel.db` and `sqlite:rel.db`, relative). SQLite files are
/// created when missing (by the store, mode 0600).
pub(super) fn normalise_database_url(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let base = scheme
        .split('+')
        .next()
        .unwrap_or(scheme)
        .to_ascii_lowercase();
    match base.as_str() {
        "sqlite" => {
            let path = rest
                .strip_prefix("///")
                .or_else(|| rest.strip_prefix("//"))
                .unwrap_or(rest);
            if path.is_empty() {
                return None;
            }
            let mut out = format!("sqlite:{path}");
            if !path.contains("mode=") && !path.contains(":memory:") {
                out.push_str(if path.contains('?') {
                    "&mode=rwc"
                } else {
                    "?mode=rwc"
                });
            }
            Some(out)
        }
        "postgres" | "postgresql" => Some(format!("postgres:{rest}")),
        "mysql" | "mariadb" => Some(format!("mysql:{rest}")),
        _ => None,
    }
}

/// A database URL as `database_url` takes it (SQLAlchemy forms included),
/// in the form the store connects with; `None` for unknown schemes.
pub fn normalised_database_url(url: &str) -> Option<String> {
    normalise_database_url(url)
}

/// The file of a normalised SQLite URL (`sqlite:{path}`; `None` for other
/// backends and for in-memory databases).
pub fn sqlite_path(normalised: &str) -> Option<PathBuf> {
    let rest = normalised.strip_prefix("sqlite:")?;
    let path = rest.split('?').next().unwrap_or(rest);
    if path.is_empty() || path.contains(":memory:") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Why the SQLite file of a normalised URL cannot be created when its
/// directory is missing (`None`: not SQLite, in memory, or the directory
/// is there). For a relative path it names the rule and the absolute
/// spelling: `sqlite:///var/lib/…`, an absolute path to sqlx, is relative
/// here as in SQLAlchemy, and the bare "No such file" says neither.
pub fn sqlite_directory_missing(normalised: &str) -> Option<String> {
    let file = sqlite_path(normalised)?;
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    if dir.is_dir() {
        return None;
    }
    let shown = format!(
        "cannot create {}: directory {}",
        file.display(),
        dir.display()
    );
    if file.is_absolute() {
        return Some(format!(
            "{shown} does not exist (authnzd creates the database file, not its directory)"
        ));
    }
    let cwd = std::env::current_dir()
        .map(|d| format!(" in the working directory {}", d.display()))
        .unwrap_or_default();
    let relative = file.display();
    let meant = Path::new("/").join(file.strip_prefix(".").unwrap_or(&file));
    Some(format!(
        "{shown} does not exist{cwd}. A SQLite URL's path is relative to the working \
         directory unless it has four slashes, as in SQLAlchemy and authnzerver \
         (`sqlite:///{relative}` is `{relative}`); for the absolute path write \
         `sqlite:///{}`",
        meant.display()
    ))
}
