//! Integration harness: the real server in-process on an ephemeral port with a
//! fresh database, driven over HTTP by the real client.
//!
//! Backend: SQLite in a temporary directory, unless
//! `AUTHNZD_TEST_DATABASE_URL` names a PostgreSQL or MariaDB server
//! (`postgres://user@host/db`, `mysql://user@host/db`); then every server
//! gets its own scratch database there, dropped when the server stops.
#![allow(dead_code)]

pub mod fake_twilio;
pub mod mailsink;

use std::path::PathBuf;
use std::sync::Arc;

use authnzd::clock::ManualClock;
use authnzd::config::{
    Config, DatabaseConfig, HashingConfig, KeysConfig, LimitsConfig, LoggingConfig, ServerConfig,
};
use authnzd::envelope::KeyRing;
use authnzd::{Running, Server};
use authnzd_client::Client;
use sea_orm::{ConnectionTrait, Database};

pub struct TestServer {
    pub running: Option<Running>,
    pub key: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub config: Config,
    scratch: Option<Scratch>,
}

/// A database created for one server on a shared PostgreSQL / MariaDB.
struct Scratch {
    admin_url: String,
    name: String,
}

impl Scratch {
    async fn create(admin_url: &str) -> (Scratch, String) {
        let name = format!("authnzd_t_{}", random_suffix());
        let admin = Database::connect(admin_url)
            .await
            .expect("connect to the test database server");
        admin
            .execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create scratch database");
        admin.close().await.ok();
        let (base, _) = admin_url.rsplit_once('/').expect("database URL has a path");
        let url = format!("{base}/{name}");
        (
            Scratch {
                admin_url: admin_url.to_owned(),
                name,
            },
            url,
        )
    }

    async fn drop_database(self) {
        if let Ok(admin) = Database::connect(&self.admin_url).await {
            let force = if self.admin_url.starts_with("postgres") {
                " WITH (FORCE)"
            } else {
                ""
            };
            admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS {}{force}", self.name))
                .await
                .ok();
            admin.close().await.ok();
        }
    }
}

pub fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A config for tests: ephemeral port, files in `dir`, cheap argon2.
pub fn test_config(dir: &std::path::Path) -> Config {
    Config {
        server: ServerConfig {
            port: 0,
            drain_timeout: 2,
            ..ServerConfig::default()
        },
        database: DatabaseConfig {
            database_url: format!("sqlite://{}", dir.join("authnzd.sqlite").display()),
            superuser_credentials_file: dir.join("superuser.json"),
            ..DatabaseConfig::default()
        },
        keys: KeysConfig {
            key_file: dir.join("authnzd.key"),
            ..KeysConfig::default()
        },
        hashing: HashingConfig {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            ..HashingConfig::default()
        },
        limits: LimitsConfig {
            // Tests drive many requests from one address; limits are tested on
            // their own.
            rate_limits: "none".into(),
            ..LimitsConfig::default()
        },
        logging: LoggingConfig {
            log_level: "warn".into(),
            ..LoggingConfig::default()
        },
        ..Config::default()
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        let mut scratch = None;
        if let Ok(admin_url) = std::env::var("AUTHNZD_TEST_DATABASE_URL")
            && !admin_url.trim().is_empty()
        {
            let (s, url) = Scratch::create(admin_url.trim()).await;
            config.database.database_url = url;
            scratch = Some(s);
        }
        tweak(&mut config);
        let key = KeyRing::generate_key();
        if config.keys.secret.is_none() {
            config.keys.secret = Some(key.clone().into());
        }
        let config = config.validated().expect("valid test config");
        let clock = ManualClock::new();
        let running = Server::start_with_clock(config.clone(), clock.clone())
            .await
            .expect("server starts");
        let client = Client::new(running.url(), &key).expect("client");
        TestServer {
            running: Some(running),
            key,
            client,
            clock,
            dir,
            config,
            scratch,
        }
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("server is running")
    }

    pub fn url(&self) -> String {
        self.running().url()
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running().addr
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Stops the server and starts it again on the same database, key and
    /// clock (a new port; the client follows).
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        let running = Server::start_with_clock(self.config.clone(), self.clock.clone())
            .await
            .expect("server restarts");
        self.client = Client::new(running.url(), &self.key).expect("client");
        self.running = Some(running);
    }

    /// Creates a verified, active user and returns its id.
    pub async fn verified_user(&self, email: &str, password: &str) -> i64 {
        let made = self
            .client
            .request(
                "user-new",
                serde_json::json!({"full_name": "Test Person", "email": email, "password": password}),
            )
            .await
            .expect("user-new");
        assert!(made.success, "user-new: {made:?}");
        let verified = self
            .client
            .request(
                "user-set-emailverified",
                serde_json::json!({"email": email}),
            )
            .await
            .expect("verify");
        assert!(verified.success, "verify: {verified:?}");
        made.response["user_id"].as_i64().expect("user_id")
    }

    /// A fresh anonymous session token.
    pub async fn anon_session(&self) -> String {
        let r = self
            .client
            .request("session-new", session_new_body(None, 1))
            .await
            .expect("session-new");
        r.response["session_token"]
            .as_str()
            .expect("token")
            .to_owned()
    }

    /// Logs `email` in from a fresh anonymous session and returns the new
    /// session token of the user (the frontend's flow).
    pub async fn login(
        &self,
        email: &str,
        password: &str,
    ) -> Result<(i64, String), authnzd_client::Reply> {
        let anon = self.anon_session().await;
        let r = self
            .client
            .request(
                "user-login",
                serde_json::json!({"session_token": anon, "email": email, "password": password}),
            )
            .await
            .expect("user-login");
        if !r.success {
            return Err(r);
        }
        let user_id = r.response["user_id"].as_i64().expect("user_id");
        let s = self
            .client
            .request("session-new", session_new_body(Some(user_id), 1))
            .await
            .expect("session-new");
        Ok((
            user_id,
            s.response["session_token"]
                .as_str()
                .expect("token")
                .to_owned(),
        ))
    }

    /// Stops the server and drops its scratch database.
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        if let Some(s) = self.scratch.take() {
            s.drop_database().await;
        }
    }
}

/// A plain HTTP client for requests no RPC client makes (`/health`, raw
/// bodies); installs the process's TLS provider first, as the server does.
pub fn http() -> reqwest::Client {
    authnzd::tls::install_provider();
    reqwest::Client::new()
}

/// A raw POST / with `body`, for tests that must send what no client would.
pub async fn post_raw(url: &str, body: impl Into<reqwest::Body>) -> (u16, String) {
    let res = http().post(url).body(body).send().await.expect("POST");
    let status = res.status().as_u16();
    (status, res.text().await.expect("body"))
}

/// A session-new body for `user_id` expiring in `hours`.
pub fn session_new_body(user_id: Option<i64>, hours: i64) -> serde_json::Value {
    let expires = chrono::Utc::now() + chrono::Duration::hours(hours);
    serde_json::json!({
        "ip_address": "203.0.113.7",
        "user_agent": "Mozilla/5.0 (integration test)",
        "user_id": user_id,
        "expires": expires.format("%Y-%m-%dT%H:%M:%S%.6f").to_string(),
        "extra_info_json": {"purpose": "test"},
    })
}

/// What the tests' Python needs: `cryptography` (what authnzerver's client
/// encrypts with) and `aiosmtpd` (the SMTP server mail tests deliver to).
const PYTHON_PACKAGES: &[&str] = &["aiosmtpd", "cryptography"];

/// A Python interpreter with `PYTHON_PACKAGES`: a venv made once under the
/// target directory, so the tests need nothing but `python3` on the machine.
/// Built under a temporary name and renamed into place, so concurrent test
/// processes never use a half-made one.
pub fn test_python() -> PathBuf {
    use std::process::Command;
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let has_all = |py: &std::path::Path| {
                let imports = format!("import {}", PYTHON_PACKAGES.join(", "));
                Command::new(py)
                    .args(["-c", &imports])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-venv");
            let py = venv.join("bin/python");
            if has_all(&py) {
                return py;
            }
            let scratch = venv.with_file_name(format!("test-venv.{}", random_suffix()));
            let made = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&scratch)
                .status();
            assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
            let pip = Command::new(scratch.join("bin/python"))
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(PYTHON_PACKAGES)
                .status();
            assert!(
                pip.is_ok_and(|s| s.success()),
                "pip install {PYTHON_PACKAGES:?} failed"
            );
            if std::fs::rename(&scratch, &venv).is_err() {
                // Another test process got there first.
                std::fs::remove_dir_all(&scratch).ok();
            }
            assert!(
                has_all(&py),
                "the test venv at {} lacks {PYTHON_PACKAGES:?}",
                venv.display()
            );
            py
        })
        .clone()
}

/// Runs `tests/python/interop.py` against `url` with `key`; returns its
/// summary line.
pub fn run_python_interop(url: &str, key: &str) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/interop.py");
    let out = std::process::Command::new(test_python())
        .arg(script)
        .arg(url)
        .arg(key)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python interop failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("interop prints one JSON line")
}
