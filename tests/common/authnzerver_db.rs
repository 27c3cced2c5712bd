//! A database in authnzerver's schema, as its `authdb.py` (commit 9a038e3)
//! makes it with SQLAlchemy: the DDL per backend and rows a site would have
//! — argon2-cffi and passlib hashes, plaintext session and API-key tokens,
//! an argon2-hashed refresh token, an unverified and a locked account.

use sea_orm::{ConnectionTrait, Database, DbBackend};

/// Passwords of the fixture's accounts, and their hashes as authnzerver
/// stored them (argon2-cffi 25 `PasswordHasher()`; passlib `argon2`).
pub const ADMIN_EMAIL: &str = "admin@example.org";
pub const ADMIN_PW: &str = "Old-admin-pass-2019!";
const ADMIN_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$hQxjHa2MPdCcVXoZOqD10A$SKo05DuRG8dv940aD9cikEPt8DtCzZUKUkaNxE1Aiq4";
/// Stored as `Jane.Doe@Example.ORG`: authnzd finds it normalised.
pub const JANE_EMAIL: &str = "jane.doe@example.org";
pub const JANE_ID: i64 = 4;
pub const JANE_PW: &str = "correct horse battery staple 1";
const JANE_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$idKia1ZEFx49XSmQnODhVQ$khqZ285R/udNsuW1kj60YPP8mPdns6qynNQ3ztulXOM";
pub const NEW_EMAIL: &str = "new@example.org";
pub const NEW_PW: &str = "passlib pass phrase 42";
const NEW_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$XIsR4jxnTKk1htAaY6wVIg$TKVKa3ZM31gvlbNhkXH11jxGvTXQhKbmEQyGTAo59Rg";
pub const LOCKED_EMAIL: &str = "locked@example.org";
/// Jane's live session, an anonymous one, and Jane's expired one.
pub const JANE_SESSION: &str = "4mF0bQ9p1x2Qk3N8s7dT6yV5uW4rE3tY2hG1jK0lZ9c";
pub const ANON_SESSION: &str = "Zz9Yy8Xx7Ww6Vv5Uu4Tt3Ss2Rr1Qq0Pp9Oo8Nn7Mm6L";
pub const EXPIRED_SESSION: &str = "expired-session-token-000000000000000000000";
/// The `tkn` of Jane's session-bound and session-less keys.
pub const KEY_TKN: &str = "apikey-session-tkn-1111111111111111111111111";
pub const FREE_TKN: &str = "apikey-free-tkn-22222222222222222222222222222";
pub const REFRESH_TOKEN: &str = "refresh-token-plaintext-XYZ";
const REFRESH_HASH: &str = "$argon2id$v=19$m=65536,t=3,p=4$LTutaALXcOtlu8ZHMJdvKg$+PeQN1/JNrUOWVDsYJxCmEOXtSYPybQzB35z0DytPOg";

/// authdb.py's tables. `{DT}` DateTime, `{PK}` a Text/String primary key,
/// `{STR}` an unsized String, `{ID}` an Integer primary key, `{Q}` the
/// identifier quote.
const DDL: &[&str] = &[
    "CREATE TABLE roles (name VARCHAR(100) NOT NULL, {Q}desc{Q} VARCHAR(280) NOT NULL, PRIMARY KEY (name))",
    "CREATE TABLE users (user_id {ID}, system_id VARCHAR(50) NOT NULL, full_name VARCHAR(280), \
     password TEXT NOT NULL, email VARCHAR(280) NOT NULL, email_verified BOOLEAN NOT NULL, \
     is_active BOOLEAN NOT NULL, emailverify_sent_datetime {DT}, emailforgotpass_sent_datetime {DT}, \
     emailchangepass_sent_datetime {DT}, last_login_success {DT}, last_login_try {DT}, \
     failed_login_tries INTEGER, extra_info JSON, created_on {DT} NOT NULL, last_updated {DT} NOT NULL, \
     user_role VARCHAR(100) NOT NULL, UNIQUE (email), UNIQUE (system_id), \
     FOREIGN KEY(user_role) REFERENCES roles (name))",
    "CREATE INDEX ix_users_user_role ON users (user_role)",
    "CREATE TABLE sessions (session_token {PK} NOT NULL, ip_address VARCHAR(280) NOT NULL, \
     user_agent VARCHAR(280) NOT NULL, user_id INTEGER NOT NULL, created {DT} NOT NULL, \
     expires {DT} NOT NULL, extra_info_json JSON, PRIMARY KEY (session_token), \
     FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE)",
    "CREATE INDEX ix_sessions_expires ON sessions (expires)",
    "CREATE TABLE {Q}groups{Q} (group_id {ID}, system_id VARCHAR(50) NOT NULL, group_name VARCHAR(280) NOT NULL, \
     visibility VARCHAR(100) NOT NULL, created_by INTEGER NOT NULL, is_active BOOLEAN NOT NULL, \
     created_on {DT} NOT NULL, last_updated {DT} NOT NULL, group_role VARCHAR(100) NOT NULL, \
     extra_info JSON, FOREIGN KEY(created_by) REFERENCES users (user_id), \
     FOREIGN KEY(group_role) REFERENCES roles (name))",
    "CREATE TABLE user_groups (user_id INTEGER NOT NULL, group_id INTEGER NOT NULL, \
     PRIMARY KEY (user_id, group_id), FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE, \
     FOREIGN KEY(group_id) REFERENCES {Q}groups{Q} (group_id) ON DELETE CASCADE)",
    "CREATE TABLE preferences (pref_id {ID}, user_id INTEGER NOT NULL, pref_name VARCHAR(100) NOT NULL, \
     pref_value VARCHAR(280), FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE)",
    "CREATE TABLE apikeys (apikey {PK} NOT NULL, issued {DT} NOT NULL, expires {DT} NOT NULL, \
     not_valid_before {DT} NOT NULL, user_id INTEGER NOT NULL, user_role VARCHAR(100) NOT NULL, \
     session_token {PK} NOT NULL, PRIMARY KEY (apikey), \
     FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE, \
     FOREIGN KEY(user_role) REFERENCES roles (name) ON DELETE CASCADE, \
     FOREIGN KEY(session_token) REFERENCES sessions (session_token) ON DELETE CASCADE)",
    "CREATE TABLE apikeys_nosession (apikey {PK} NOT NULL, issued {DT} NOT NULL, expires {DT} NOT NULL, \
     not_valid_before {DT} NOT NULL, refresh_token TEXT NOT NULL, refresh_issued {DT} NOT NULL, \
     refresh_expires {DT} NOT NULL, refresh_nbf {DT} NOT NULL, user_id INTEGER NOT NULL, \
     user_role VARCHAR(100) NOT NULL, PRIMARY KEY (apikey), \
     FOREIGN KEY(user_id) REFERENCES users (user_id) ON DELETE CASCADE, \
     FOREIGN KEY(user_role) REFERENCES roles (name) ON DELETE CASCADE)",
];

fn ddl(backend: DbBackend, sql: &str) -> String {
    let (dt, pk, id, q) = match backend {
        DbBackend::Sqlite => ("DATETIME", "VARCHAR", "INTEGER NOT NULL PRIMARY KEY", "\""),
        DbBackend::Postgres => (
            "TIMESTAMP WITHOUT TIME ZONE",
            "VARCHAR",
            "SERIAL PRIMARY KEY",
            "\"",
        ),
        // SQLAlchemy cannot key MySQL on TEXT; a site there would have used
        // sized strings.
        _ => (
            "DATETIME(6)",
            "VARCHAR(255)",
            "INTEGER NOT NULL AUTO_INCREMENT PRIMARY KEY",
            "`",
        ),
    };
    sql.replace("{DT}", dt)
        .replace("{PK}", pk)
        .replace("{ID}", id)
        .replace("{Q}", q)
}

/// The rows: SQLAlchemy's text form of datetimes (`2026-…  …:…:….ffffff`).
fn rows(q: &str) -> Vec<String> {
    let users = "INSERT INTO users (user_id, system_id, full_name, password, email, email_verified, \
        is_active, last_login_try, failed_login_tries, extra_info, created_on, last_updated, user_role) VALUES";
    let mut v: Vec<String> = ["superuser", "staff", "authenticated", "anonymous", "locked"]
        .iter()
        .map(|r| {
            format!(
                "INSERT INTO roles (name, {q}desc{q}) VALUES ('{r}', 'Role with {r} privileges')"
            )
        })
        .collect();
    for (id, email, hash, verified, active, tries, extra, role) in [
        (
            1,
            ADMIN_EMAIL,
            ADMIN_HASH,
            true,
            true,
            0,
            r#"{"provenance": "auto-created", "type": "system-user"}"#,
            "superuser",
        ),
        (
            2,
            "anonuser@localhost",
            ADMIN_HASH,
            true,
            true,
            0,
            r#"{"type": "system-user"}"#,
            "anonymous",
        ),
        (
            3,
            "dummyuser@localhost",
            ADMIN_HASH,
            true,
            false,
            0,
            r#"{"type": "locked-user"}"#,
            "locked",
        ),
        (
            4,
            "Jane.Doe@Example.ORG",
            JANE_HASH,
            true,
            true,
            2,
            r#"{"city": "Lahore"}"#,
            "authenticated",
        ),
        (
            5,
            NEW_EMAIL,
            NEW_HASH,
            false,
            false,
            0,
            "{}",
            "authenticated",
        ),
        (
            6,
            LOCKED_EMAIL,
            JANE_HASH,
            true,
            false,
            0,
            r#"{"previous_user_roles": ["locked", "authenticated"]}"#,
            "locked",
        ),
    ] {
        v.push(format!(
            "{users} ({id}, 'sys-{id}', 'User {id}', '{hash}', '{email}', {verified}, {active}, \
             '2026-11-30 10:00:00.250000', {tries}, '{extra}', '2019-05-01 12:00:00.000001', \
             '2026-11-30 10:00:00.250000', '{role}')"
        ));
    }
    let sessions = "INSERT INTO sessions (session_token, ip_address, user_agent, user_id, created, expires, extra_info_json) VALUES";
    v.push(format!("{sessions} ('{JANE_SESSION}', '203.0.113.9', 'Firefox', 4, '2026-11-30 10:00:00', '2099-01-01 00:00:00', '{{\"csrf\": \"abc\"}}')"));
    v.push(format!("{sessions} ('{ANON_SESSION}', '203.0.113.9', 'Firefox', 2, '2026-11-30 10:00:00', '2099-01-01 00:00:00', NULL)"));
    v.push(format!("{sessions} ('{EXPIRED_SESSION}', '203.0.113.9', 'Firefox', 4, '2001-01-01 00:00:00', '2001-01-02 00:00:00', NULL)"));
    v.push(format!(
        "INSERT INTO apikeys (apikey, issued, expires, not_valid_before, user_id, user_role, session_token) \
         VALUES ('{KEY_TKN}', '2026-11-30 10:00:00', '2099-01-01 00:00:00', '2026-11-30 10:00:00', 4, 'authenticated', '{JANE_SESSION}')"
    ));
    v.push(format!(
        "INSERT INTO apikeys_nosession (apikey, issued, expires, not_valid_before, refresh_token, refresh_issued, \
         refresh_expires, refresh_nbf, user_id, user_role) VALUES ('{FREE_TKN}', '2026-11-30 10:00:00', \
         '2099-01-01 00:00:00', '2026-11-30 10:00:00', '{REFRESH_HASH}', '2026-11-30 10:00:00', \
         '2099-01-01 00:00:00', '2026-11-30 10:00:00', 4, 'authenticated')"
    ));
    v
}

/// Writes authnzerver's schema and the fixture rows at `url` (a sea-orm
/// URL; an SQLite file is created). `tweak` edits the statements first (a
/// test's broken schema).
pub async fn write(url: &str, tweak: impl FnOnce(&mut Vec<String>)) {
    let db = Database::connect(url)
        .await
        .expect("connect for the fixture");
    let backend = db.get_database_backend();
    let q = if backend == DbBackend::MySql {
        "`"
    } else {
        "\""
    };
    let mut all: Vec<String> = DDL.iter().map(|s| ddl(backend, s)).collect();
    all.extend(rows(q));
    tweak(&mut all);
    for sql in &all {
        db.execute_unprepared(sql)
            .await
            .unwrap_or_else(|e| panic!("fixture: {e}: {sql}"));
    }
    db.close().await.ok();
}

/// Session-bound key dict as authnzerver's frontend would present it.
pub fn key_dict(tkn: &str, with_session: bool) -> serde_json::Value {
    let mut d = serde_json::json!({
        "iss": "frontend", "ver": 1, "uid": JANE_ID, "rol": "authenticated",
        "aud": "api.example.org", "sub": "/api", "ipa": "203.0.113.9", "tkn": tkn,
        "iat": "2026-11-30T10:00:00", "nbf": "2026-11-30T10:00:00", "exp": "2099-01-01T00:00:00",
    });
    if with_session {
        d["usa"] = "Firefox".into();
    }
    d
}
