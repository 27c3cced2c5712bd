//! The binary in an empty directory with no configuration: creates its
//! database, key and superuser credentials, answers /health, and serves the
//! session lifecycle to the Rust client and to Python.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::process::{Guard, authnzd, wait_healthy};
use common::{call, free_port, run_python_interop, session_new_body};
use serde_json::{Value, json};

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn stop(child: Child) -> (std::process::ExitStatus, String) {
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn serve_in_an_empty_directory() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = authnzd(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let health = wait_healthy(port, &mut child).await;
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], true);

    assert!(dir.path().join("authnzd.sqlite").exists());
    let key_file = dir.path().join("authnzd.key");
    assert_eq!(mode(&key_file), 0o600);
    let creds_file = dir.path().join("authnzd-superuser.json");
    assert_eq!(mode(&creds_file), 0o600);
    let creds: Value =
        serde_json::from_str(&std::fs::read_to_string(&creds_file).unwrap()).unwrap();
    assert!(creds["password"].as_str().unwrap().len() >= 16);

    let key = std::fs::read_to_string(&key_file)
        .unwrap()
        .trim()
        .to_owned();
    let url = format!("http://127.0.0.1:{port}/");
    let client = authnzd_client::Client::new(&url, &key).unwrap();
    let made = call(&client, "session-new", session_new_body(Some(1), 1)).await;
    assert!(made.success, "{made:?}");
    let token = json!({"session_token": made.response["session_token"]});
    let found = call(&client, "session-exists", token.clone()).await;
    assert_eq!(found.response["session_info"]["email"], creds["email"]);
    let deleted = call(&client, "session-delete", token.clone()).await;
    assert!(deleted.success);
    let gone = call(&client, "session-exists", token).await;
    assert!(!gone.success);

    let summary = run_python_interop(&url, &key);
    assert_eq!(summary["existed"], true);
    assert_eq!(summary["user_id"], 2);
    assert_eq!(summary["exists_after_delete"], false);

    let (status, stderr) = stop(child);
    assert!(
        status.success(),
        "SIGTERM ends authnzd cleanly: {status:?}\n{stderr}"
    );
    assert!(
        stderr.contains("authnzd.key"),
        "says where the new key is:\n{stderr}"
    );
    assert!(
        stderr.contains("authnzd-superuser.json"),
        "says where the credentials are:\n{stderr}"
    );
    assert!(!stderr.contains(&key), "the key must never be printed");
    assert!(
        !stderr.contains(creds["password"].as_str().unwrap()),
        "nor the password"
    );

    // A second start reuses everything.
    let mut child = authnzd(dir.path())
        .args(["serve", "--port", &port.to_string()])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_healthy(port, &mut child).await;
    assert_eq!(std::fs::read_to_string(&key_file).unwrap().trim(), key);
    let (status, stderr) = stop(child);
    assert!(status.success());
    assert!(!stderr.contains("generated"), "{stderr}");
}

#[test]
fn a_bad_config_value_fails_with_one_line_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = authnzd(dir.path())
        .env("AUTHNZD_PORT", "eighty")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("port"), "{stderr}");

    let out = authnzd(dir.path())
        .env("AUTHNZD_REQUEST_TTL", "0")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`request_ttl`"));
}

#[test]
fn a_readable_key_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("authnzd.key");
    std::fs::write(&key_file, authnzd::envelope::KeyRing::generate_key()).unwrap();
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = authnzd(dir.path())
        .args(["serve", "--port", &free_port().to_string()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
}

#[test]
fn keygen_prints_a_fernet_key() {
    let out = authnzd(Path::new("."))
        .arg("keygen")
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(out.status.success());
    let key = String::from_utf8(out.stdout).unwrap();
    assert!(authnzd::envelope::KeyRing::parse(key.trim()).is_ok());
}

/// `authnzd serve` in `dir` on `port` without rate limits or chatter, once
/// it answers /health.
async fn serve_quietly(dir: &Path, port: u16) -> Guard {
    let mut child = Guard(
        authnzd(dir)
            .args(["serve", "--port", &port.to_string()])
            .env("AUTHNZD_RATE_LIMITS", "none")
            .env("AUTHNZD_LOG_LEVEL", "warn")
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_healthy(port, &mut child.0).await;
    child
}

/// Kill -9 under write load, restart: every acknowledged session is there
/// and SQLite's integrity check passes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9() {
    use sea_orm::{ConnectionTrait, Database, Statement};

    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = serve_quietly(dir.path(), port).await;
    let key = std::fs::read_to_string(dir.path().join("authnzd.key")).unwrap();
    let url = format!("http://127.0.0.1:{port}/");
    let client = authnzd_client::Client::new(&url, key.trim()).unwrap();

    // Writers run flat out; the kill lands mid-stream.
    let acknowledged = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (client, acknowledged) = (client.clone(), acknowledged.clone());
        writers.push(tokio::spawn(async move {
            while let Ok(r) = client
                .request("session-new", session_new_body(None, 1))
                .await
            {
                if r.success {
                    let token = r.response["session_token"].as_str().unwrap().to_owned();
                    acknowledged.lock().unwrap().push(token);
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    for w in writers {
        let _ = w.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "only {} writes before the kill",
        acknowledged.len()
    );

    let db = Database::connect(format!(
        "sqlite://{}",
        dir.path().join("authnzd.sqlite").display()
    ))
    .await
    .unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            db.get_database_backend(),
            "PRAGMA integrity_check",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "ok");
    db.close().await.unwrap();

    let _child = serve_quietly(dir.path(), port).await;
    let client = authnzd_client::Client::new(&url, key.trim()).unwrap();
    for token in &acknowledged {
        let r = call(&client, "session-exists", json!({"session_token": token})).await;
        assert!(r.success, "acknowledged session lost after kill -9: {r:?}");
    }
}

/// What `/metrics` on `port` says of the threads serving requests.
async fn workers(port: u16) -> u64 {
    let text = common::http()
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("authnzd_worker_threads "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no worker count in {text}"))
}

#[tokio::test]
async fn worker_threads_sets_how_many_threads_serve() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let url = format!("sqlite:///{}/w.sqlite", dir.path().display());
    for n in [1, 3] {
        let env = [
            ("AUTHNZD_WORKER_THREADS", n.to_string()),
            ("AUTHNZD_METRICS", "true".to_owned()),
        ];
        let server = common::process::serve(dir.path(), port, &url, &env).await;
        assert_eq!(workers(port).await, n);
        drop(server);
    }
}
