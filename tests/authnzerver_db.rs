//! An existing authnzerver database: converted in place at start-up, or
//! imported with `authnzd import-authnzerver`; either way its users log in
//! with their old passwords, its session tokens and API keys still work.
//! A schema authnzd cannot convert stops the start with one line.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use authnzd_proto::Refusal;
use common::authnzerver_db::{self as fixture, *};
use common::{TestServer, login_body};
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
use serde_json::{Value, json};

fn mysql() -> bool {
    std::env::var("AUTHNZD_TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("mysql"))
}

/// What a site's frontends rely on after the switch.
async fn check_the_old_data_works(s: &TestServer) {
    // Old passwords (argon2-cffi and passlib hashes), the address found
    // whatever its case was.
    let r = s.try_login("Jane.Doe@example.ORG", JANE_PW).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_id"], JANE_ID);
    let r = s.try_login(ADMIN_EMAIL, ADMIN_PW).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_id"], 1);
    assert!(!s.try_login(JANE_EMAIL, "wrong").await.success);
    // Re-hashed with authnzd's parameters at that login.
    let user = authnzd::store::users::by_id(&s.running().app.db, JANE_ID)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !s.running()
            .app
            .credentials
            .hasher
            .needs_rehash(&user.password),
        "{}",
        user.password
    );
    assert!(s.try_login(JANE_EMAIL, JANE_PW).await.success);
    // Verification and lock state came along: no session for either.
    let r = s.try_login(NEW_EMAIL, NEW_PW).await;
    assert!(!r.success && r.response["user_id"].is_null(), "{r:?}");
    let r = s.try_login(LOCKED_EMAIL, JANE_PW).await;
    assert!(!r.success && r.response["user_id"].is_null(), "{r:?}");

    // The plaintext session tokens there are digests here, and still work.
    let found = s.session_exists(JANE_SESSION).await;
    assert!(found.success, "{found:?}");
    assert_eq!(found.response["session_info"]["user_id"], JANE_ID);
    assert_eq!(found.response["session_info"]["email"], JANE_EMAIL);
    assert_eq!(
        found.response["session_info"]["extra_info_json"],
        json!({"csrf": "abc"})
    );
    assert!(s.session_alive(ANON_SESSION).await);
    assert!(!s.session_alive(EXPIRED_SESSION).await);

    // Both API-key families verify; a key nobody issued does not.
    let who = json!({"user_id": JANE_ID, "user_role": "authenticated"});
    let verify = |dict, request: &'static str| {
        let mut body = who.clone();
        body["apikey_dict"] = dict;
        s.call(request, body)
    };
    assert!(
        verify(key_dict(KEY_TKN, true), "apikey-verify")
            .await
            .success
    );
    assert!(
        verify(key_dict(FREE_TKN, false), "apikey-verify-nosession")
            .await
            .success
    );
    let forged = verify(key_dict("never-issued", false), "apikey-verify-nosession").await;
    assert!(!forged.success, "{forged:?}");
    // The session-less key's argon2-hashed refresh token refreshes it once.
    // Its claims other than owner and role were never recorded, so the
    // presented ones (here claiming another audience) are not carried
    // over: the first refresh names them.
    let mut presented = key_dict(FREE_TKN, false);
    presented["aud"] = json!("admin.example.com");
    let mut refresh = json!({
        "apikey_dict": presented, "user_id": JANE_ID,
        "user_role": "authenticated", "refresh_token": REFRESH_TOKEN,
        "ip_address": "203.0.113.9", "expires_seconds": 3600, "not_valid_before": 0,
        "refresh_expires": 86400, "refresh_nbf": 0,
    });
    let unnamed = s.call("apikey-refresh-nosession", refresh.clone()).await;
    assert!(
        unnamed
            .refusal()
            .is_some_and(|r| matches!(r, Refusal::Invalid(_) | Refusal::InvalidParameters)),
        "{unnamed:?}"
    );
    for (k, v) in [
        ("issuer", json!("authnzd-tests")),
        ("audience", json!("api.example.com")),
        ("subject", json!("/api/v1")),
        ("apiversion", json!(1)),
    ] {
        refresh[k] = v;
    }
    let r = s.call("apikey-refresh-nosession", refresh.clone()).await;
    assert!(r.success, "{r:?}");
    let new_key: Value = serde_json::from_str(r.response["apikey"].as_str().unwrap()).unwrap();
    assert_eq!(new_key["aud"], "api.example.com", "{new_key}");
    assert_eq!(new_key["uid"], JANE_ID);
    assert!(!s.call("apikey-refresh-nosession", refresh).await.success);

    // New users get new ids (PostgreSQL's sequence moved past the import).
    let made = s
        .ok(
            "user-new",
            json!({"email": "fresh@example.org", "password": common::PW, "full_name": "F"}),
        )
        .await;
    assert_eq!(made["user_id"], 7, "{made}");
    // The new session for Jane comes from a login as before.
    let anon = s.anon_session().await;
    let r = s
        .call("user-login", login_body(&anon, JANE_EMAIL, JANE_PW))
        .await;
    assert!(r.success, "{r:?}");
}

#[tokio::test]
async fn an_authnzerver_database_is_converted_in_place_at_start() {
    let started = TestServer::try_start_prepared(
        |_| {},
        |url| async move { fixture::write(&url, |_| {}).await },
    )
    .await;
    if mysql() {
        let err = started
            .err()
            .expect("MariaDB refuses to convert")
            .to_string();
        assert!(err.contains("authnzd import-authnzerver --from"), "{err}");
        assert!(!err.contains('\n'), "{err}");
        return;
    }
    let mut s = started.expect("server starts on the authnzerver database");
    let summary = s.running().report.converted.clone().expect("converted");
    assert_eq!(
        (
            summary.users,
            summary.sessions,
            summary.apikeys,
            summary.apikeys_nosession
        ),
        (6, 2, 1, 1),
        "{summary}"
    );
    assert_eq!(summary.skipped, vec!["1 expired sessions".to_owned()]);
    // SQLite: the backup beside the file is the untouched original, 0600.
    match authnzd::config::sqlite_path(&s.config.database.database_url) {
        Some(file) => {
            let backup = summary.backup.clone().expect("a backup");
            assert_eq!(backup.parent(), file.parent());
            let mode = std::fs::metadata(&backup).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let old = Database::connect(format!("sqlite:{}?mode=ro", backup.display()))
                .await
                .unwrap();
            let n = old
                .query_one_raw(Statement::from_string(
                    DbBackend::Sqlite,
                    format!("SELECT COUNT(*) FROM sessions WHERE session_token = '{JANE_SESSION}'"),
                ))
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<i64>(0)
                .unwrap();
            assert_eq!(n, 1);
        }
        None => assert!(summary.backup.is_none()),
    }
    let (status, health) = s.health().await;
    assert_eq!((status, health["database"].clone()), (200, json!(true)));
    check_the_old_data_works(&s).await;
    // Converted once: the next start finds authnzd's schema.
    s.restart().await;
    assert!(s.running().report.converted.is_none());
    assert!(s.session_alive(JANE_SESSION).await);
}

#[tokio::test]
async fn import_authnzerver_copies_a_database_with_a_dry_run_first() {
    let source_dir = tempfile::tempdir().unwrap();
    let source = source_dir.path().join("old authdb.sqlite");
    fixture::write(&format!("sqlite:{}?mode=rwc", source.display()), |_| {}).await;
    let from = format!("sqlite:///{}", source.display());
    let import = |target: &str, extra: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_authnzd"))
            .args([
                "import-authnzerver",
                "--from",
                &from,
                "--database-url",
                target,
            ])
            .args(extra)
            .env_remove("AUTHNZERVER_AUTHDB")
            .env_remove("AUTHNZD_DATABASE_URL")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    };
    let s = TestServer::start_prepared(
        |_| {},
        |url| async move {
            let (ok, text) = import(&url, &["--dry-run"]);
            assert!(ok, "{text}");
            assert!(text.contains("would import 6 users, 2 sessions, 1 session API keys, 1 no-session API keys; skipped: 1 expired sessions"), "{text}");
            let (ok, text) = import(&url, &[]);
            assert!(ok, "{text}");
            assert!(text.contains("imported 6 users"), "{text}");
            // Into a database that holds data already: refused, nothing written.
            let (ok, text) = import(&url, &[]);
            assert!(!ok, "{text}");
            assert!(text.contains("already holds"), "{text}");
        },
    )
    .await;
    assert!(s.running().report.converted.is_none());
    // The source is left as it was.
    let old = Database::connect(format!("sqlite:{}?mode=ro", source.display()))
        .await
        .unwrap();
    assert!(
        old.query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT session_token FROM sessions"
        ))
        .await
        .is_ok()
    );
    check_the_old_data_works(&s).await;
}

/// A server started on authnzerver's tables as `edit` leaves them: it must
/// not start; its error.
async fn start_on_authnzerver_tables(edit: impl FnOnce(&mut Vec<String>)) -> String {
    TestServer::try_start_prepared(
        |_| {},
        |url| async move { fixture::write(&url, edit).await },
    )
    .await
    .err()
    .expect("refused")
    .to_string()
}

/// `statement` added to authnzerver's tables.
fn with(statement: &str) -> impl FnOnce(&mut Vec<String>) + '_ {
    move |sql| sql.push(statement.to_owned())
}

#[tokio::test]
async fn a_schema_authnzd_cannot_convert_stops_the_start_in_one_line() {
    // authnzerver's tables with one missing.
    let err =
        start_on_authnzerver_tables(|sql| sql.retain(|s| !s.contains("apikeys_nosession"))).await;
    assert!(
        err.contains("neither authnzd's nor authnzerver's (missing table apikeys_nosession)"),
        "{err}"
    );
    assert!(!err.contains('\n'), "{err}");

    // Rows in a table authnzd has no use for.
    if !mysql() {
        let err = start_on_authnzerver_tables(with(
            "INSERT INTO preferences (pref_id, user_id, pref_name, pref_value) \
             VALUES (1, 4, 'theme', 'dark')",
        ))
        .await;
        assert!(
            err.contains("preferences (1 rows); empty them first"),
            "{err}"
        );
    }

    // authnzd's migrations applied over authnzerver's tables (what an
    // earlier authnzd did): refused, with what to do.
    let err = start_on_authnzerver_tables(with(
        "CREATE TABLE seaql_migrations \
         (version VARCHAR(255) PRIMARY KEY, applied_at BIGINT NOT NULL)",
    ))
    .await;
    assert!(
        err.contains("restore the database from before that start"),
        "{err}"
    );
}

#[tokio::test]
async fn health_reports_a_database_it_cannot_use() {
    let s = TestServer::start().await;
    assert_eq!(s.health().await.0, 200);
    let db = &s.running().app.db;
    db.execute_unprepared("ALTER TABLE users RENAME TO users_elsewhere")
        .await
        .unwrap();
    let (status, body) = s.health_until(|status, _| status == 503).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["database"], false);
    assert_eq!(body["status"], "degraded");
    db.execute_unprepared("ALTER TABLE users_elsewhere RENAME TO users")
        .await
        .unwrap();
    assert_eq!(s.health_until(|status, _| status == 200).await.0, 200);
}
