//! What an authnzerver site sees after switching: datetimes in its naive
//! UTC form (RFC 3339 on request), an HTTPS listener from its certificate
//! names, its relative SQLite URLs, a database file only its owner reads.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use authnzd::timefmt::DatetimeFormat;
use common::{PW, TestServer, assert_naive_utc, session_new_body, token_of};
use serde_json::json;

#[tokio::test]
async fn answers_carry_naive_utc_datetimes_and_rfc3339_on_request() {
    let s = TestServer::start().await;
    // Input in either form.
    for expires in [
        "2030-01-02T03:04:05",
        "2030-01-02T03:04:05+00:00",
        "2030-01-02T04:04:05.000000+01:00",
    ] {
        let mut body = session_new_body(None, 1);
        body["expires"] = json!(expires);
        let made = s.ok("session-new", body).await;
        assert_eq!(made["expires"], "2030-01-02T03:04:05", "{expires}");
    }
    let token = s.anon_session().await;
    let found = s.session_exists(&token).await;
    let info = &found.response["session_info"];
    for field in ["created", "expires", "created_on"] {
        assert_naive_utc(
            info[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field}: {info}")),
        );
    }
    let user_id = s.verified_user("naive@example.org", PW).await;
    s.login("naive@example.org", PW).await.expect("login");
    let listed = s.ok("user-list", json!({"user_id": user_id})).await;
    let user = &listed["user_info"][0];
    for field in [
        "created_on",
        "last_updated",
        "last_login_try",
        "last_login_success",
    ] {
        assert_naive_utc(
            user[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field}: {user}")),
        );
    }
    // What Python makes of it: a naive datetime, comparable with utcnow().
    let naive = info["expires"].as_str().unwrap();
    assert!(chrono::NaiveDateTime::parse_from_str(naive, "%Y-%m-%dT%H:%M:%S%.f").is_ok());
    assert!(
        chrono::DateTime::parse_from_rfc3339(naive).is_err(),
        "{naive} has an offset"
    );

    let r = TestServer::start_with(|c| c.server.datetime_format = DatetimeFormat::Rfc3339).await;
    let made = r.ok("session-new", session_new_body(None, 1)).await;
    let expires = made["expires"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(expires).is_ok(),
        "{expires}"
    );
    assert!(expires.ends_with("+00:00"), "{expires}");
    let found = r.session_exists(&token_of(&made)).await;
    assert!(
        found.response["session_info"]["created"]
            .as_str()
            .is_some_and(|c| c.ends_with("+00:00")),
        "{found:?}"
    );
}

#[tokio::test]
async fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, made.cert.pem()).unwrap();
    std::fs::write(&key, made.signing_key.serialize_pem()).unwrap();
    let s = TestServer::start_with(|c| {
        c.server.tls_cert_file = Some(cert.clone());
        c.server.tls_key_file = Some(key.clone());
    })
    .await;
    assert!(s.url().starts_with("https://"));
    authnzd::tls::install_provider();
    let trusting = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(made.cert.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    let base = format!("https://localhost:{}/", s.addr().port());
    let health = trusting.get(format!("{base}health")).send().await.unwrap();
    assert_eq!(health.status().as_u16(), 200);
    // An encrypted request over it, as authnzerver's client sends one.
    let request = json!({"request": "session-new", "body": session_new_body(None, 1),
                         "reqid": 7, "client_ipaddr": "198.51.100.4"});
    let res = trusting
        .post(&base)
        .body(s.client.seal(&request))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), 200);
    let answer = s.client.open(&res.text().await.unwrap()).unwrap();
    assert_eq!(answer["success"], true, "{answer}");
    assert_eq!(answer["reqid"], 7);
    // A client that does not trust the certificate gets no answer, and
    // plain HTTP on the port none either.
    let wary = common::http();
    assert!(wary.get(format!("{base}health")).send().await.is_err());
    let plain = format!("http://127.0.0.1:{}/health", s.addr().port());
    assert!(wary.get(plain).send().await.is_err());
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `authnzd migrate` in `dir` with `url`, given as authnzerver's
/// AUTHNZERVER_AUTHDB.
fn migrate_in(dir: &Path, url: &str) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authnzd"));
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHNZD_") || k.starts_with("AUTHNZERVER_") {
            cmd.env_remove(k);
        }
    }
    cmd.current_dir(dir)
        .arg("migrate")
        .env("AUTHNZERVER_AUTHDB", url)
        .output()
        .unwrap()
}

#[test]
fn sqlalchemy_sqlite_urls_are_relative_with_three_slashes_and_files_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let out = migrate_in(dir.path(), "sqlite:///.authdb.sqlite");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = dir.path().join(".authdb.sqlite");
    assert!(file.exists(), "relative to the working directory");
    assert_eq!(mode(&file), 0o600);
    for side in ["-wal", "-shm"] {
        let f = dir.path().join(format!(".authdb.sqlite{side}"));
        if f.exists() {
            assert_eq!(mode(&f), 0o600, "{side}");
        }
    }

    let elsewhere = tempfile::tempdir().unwrap();
    let abs = elsewhere.path().join("abs.sqlite");
    let out = migrate_in(dir.path(), &format!("sqlite:///{}", abs.display()));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(abs.exists(), "four slashes: absolute");
    assert_eq!(mode(&abs), 0o600);
    assert!(!dir.path().join(abs.strip_prefix("/").unwrap()).exists());
}
