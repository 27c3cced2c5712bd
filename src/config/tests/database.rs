#![allow(clippy::result_large_err)] // figment::Jail's closure signature

//! Database URLs: authnzerver's SQLAlchemy spellings, and the error a
//! SQLite file in a missing directory gets.

use std::path::Path;

use crate::config::database::{normalise_database_url, sqlite_directory_missing, sqlite_path};
use crate::config::*;
use crate::secret::ExposeSecret;

#[test]
fn sqlalchemy_urls_are_accepted() {
    // SQLAlchemy's: three slashes relative, four absolute.
    assert_eq!(
        normalise_database_url("sqlite:///a.db").as_deref(),
        Some("sqlite:a.db?mode=rwc")
    );
    assert_eq!(
        normalise_database_url("sqlite:////tmp/a.db").as_deref(),
        Some("sqlite:/tmp/a.db?mode=rwc")
    );
    assert_eq!(
        normalise_database_url("sqlite+pysqlite:///sub/a.db").as_deref(),
        Some("sqlite:sub/a.db?mode=rwc")
    );
    assert_eq!(
        normalise_database_url("sqlite://./a.db").as_deref(),
        Some("sqlite:./a.db?mode=rwc")
    );
    assert_eq!(
        sqlite_path("sqlite:a.db?mode=rwc"),
        Some(std::path::PathBuf::from("a.db"))
    );
    assert_eq!(
        sqlite_path("sqlite:/tmp/a.db?mode=rwc"),
        Some(std::path::PathBuf::from("/tmp/a.db"))
    );
    assert_eq!(sqlite_path("postgres://u@h/db"), None);
    // A normalised URL reads back the same.
    for url in ["sqlite:///a.db", "sqlite:////tmp/a.db"] {
        let once = normalise_database_url(url).unwrap();
        assert_eq!(
            normalise_database_url(&once).as_deref(),
            Some(once.as_str())
        );
    }
    assert_eq!(
        normalise_database_url("postgresql+psycopg2://u@h/db").as_deref(),
        Some("postgres://u@h/db")
    );
    assert_eq!(
        normalise_database_url("mysql+pymysql://root@127.0.0.1/test").as_deref(),
        Some("mysql://root@127.0.0.1/test")
    );
    assert!(normalise_database_url("oracle://x").is_none());
    assert!(normalise_database_url("no-scheme").is_none());
}

#[test]
fn a_missing_sqlite_directory_names_the_rule_and_the_absolute_spelling() {
    // Three slashes: relative, as SQLAlchemy reads it (and sqlx does not).
    let url = normalise_database_url("sqlite:///no-such-dir-authnzd/sub/db.sqlite").unwrap();
    let said = sqlite_directory_missing(&url).expect("the directory is missing");
    assert!(
        said.contains("directory no-such-dir-authnzd/sub does not exist in the working directory"),
        "{said}"
    );
    assert!(said.contains("four slashes"), "{said}");
    assert!(
        said.ends_with("`sqlite:////no-such-dir-authnzd/sub/db.sqlite`"),
        "{said}"
    );
    let url = normalise_database_url("sqlite://./no-such-dir-authnzd/db.sqlite").unwrap();
    let said = sqlite_directory_missing(&url).expect("missing");
    assert!(
        said.ends_with("`sqlite:////no-such-dir-authnzd/db.sqlite`"),
        "{said}"
    );
    // Absolute: only that the directory is not made.
    let url = normalise_database_url("sqlite:////no-such-dir-authnzd/db.sqlite").unwrap();
    let said = sqlite_directory_missing(&url).expect("missing");
    assert!(
        said.contains("directory /no-such-dir-authnzd does not exist"),
        "{said}"
    );
    assert!(!said.contains("four slashes"), "{said}");
    // A directory that is there, the working directory, memory, PostgreSQL.
    for url in [
        "sqlite:////tmp/authnzd-x.sqlite",
        "sqlite:///authnzd-x.sqlite",
        "sqlite::memory:",
        "postgres://u@h/db",
    ] {
        let url = normalise_database_url(url).unwrap();
        assert_eq!(sqlite_directory_missing(&url), None, "{url}");
    }
}

#[test]
fn authnzerver_admin_tls_and_relative_sqlite_names_are_read() {
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZERVER_ADMIN_EMAIL", "ops@example.org");
        jail.set_env("AUTHNZERVER_ADMIN_PASSWORD", "a long admin passphrase");
        jail.set_env("AUTHNZERVER_TLSCERTFILE", "/etc/authnzerver/cert.pem");
        jail.set_env("AUTHNZERVER_TLSCERTKEY", "/etc/authnzerver/key.pem");
        jail.set_env("AUTHNZERVER_AUTHDB", "sqlite:///.authdb.sqlite");
        let c = Config::load(None).expect("config");
        assert_eq!(
            c.database.superuser_email.as_deref(),
            Some("ops@example.org")
        );
        assert_eq!(
            c.database
                .superuser_password
                .as_ref()
                .map(|p| p.expose_secret().to_owned())
                .as_deref(),
            Some("a long admin passphrase")
        );
        assert_eq!(
            c.server.tls_cert_file.as_deref(),
            Some(Path::new("/etc/authnzerver/cert.pem"))
        );
        assert_eq!(
            c.server.tls_key_file.as_deref(),
            Some(Path::new("/etc/authnzerver/key.pem"))
        );
        assert_eq!(c.database.database_url, "sqlite:.authdb.sqlite?mode=rwc");
        assert_eq!(
            c.server.datetime_format,
            crate::timefmt::DatetimeFormat::Naive
        );
        Ok(())
    });
    figment::Jail::expect_with(|jail| {
        jail.set_env("AUTHNZD_TLS_CERT_FILE", "/etc/cert.pem");
        jail.set_env("AUTHNZD_DATETIME_FORMAT", "rfc3339");
        let err = Config::load(None).expect_err("a certificate without its key");
        assert!(err.to_string().contains("`tls_key_file`"), "{err}");
        jail.set_env("AUTHNZD_TLS_KEY_FILE", "/etc/key.pem");
        let c = Config::load(None).expect("config");
        assert_eq!(
            c.server.datetime_format,
            crate::timefmt::DatetimeFormat::Rfc3339
        );
        Ok(())
    });
}
