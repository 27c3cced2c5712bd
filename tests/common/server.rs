//! The server under test: started in-process on an ephemeral port with a
//! fresh database, stopped (and its scratch database dropped) when it goes
//! out of scope, a panicking test included.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use authnzd::clock::ManualClock;
use authnzd::config::Config;
use authnzd::envelope::KeyRing;
use authnzd::{Running, Server};
use authnzd_client::{Client, Reply};
use authnzd_proto::Refusal;
use sea_orm::{ConnectionTrait, Database};
use serde_json::Value;

pub struct TestServer {
    pub running: Option<Running>,
    pub key: String,
    pub client: Client,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
    pub config: Config,
    scratch: Option<Scratch>,
}

/// A config for tests: ephemeral port, files in `dir`, cheap argon2 (the
/// server's own `Config::for_tests`, shared with the load generator).
pub fn test_config(dir: &std::path::Path) -> Config {
    Config::for_tests(dir)
}

pub fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::fill(&mut b).expect("random");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether `reason` is an `invalid request: …` whose text names `what`.
pub fn invalid_naming(reason: &Refusal, what: &str) -> bool {
    matches!(reason, Refusal::Invalid(why) if why.contains(what))
}

/// Sends `request` by `client` (one of the server's clients that is not
/// `TestServer::client`); a reply that never came panics naming the request.
pub async fn call(client: &Client, request: &str, body: Value) -> Reply {
    client
        .request(request, body)
        .await
        .unwrap_or_else(|e| panic!("{request}: no reply: {e}"))
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_prepared(tweak, |_| async {}).await
    }

    /// As `start_with`, with `prepare` run on the (normalised) database URL
    /// before the server starts on it: a test's fixture rows and tables.
    pub async fn start_prepared<F, Fut>(tweak: impl FnOnce(&mut Config), prepare: F) -> TestServer
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        Self::try_start_prepared(tweak, prepare)
            .await
            .unwrap_or_else(|e| panic!("server starts: {e}"))
    }

    /// As `start_prepared`; a start that fails gives its error (the scratch
    /// database already dropped).
    pub async fn try_start_prepared<F, Fut>(
        tweak: impl FnOnce(&mut Config),
        prepare: F,
    ) -> Result<TestServer, authnzd::StartError>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        Self::try_start_inner(tweak, None, None, prepare).await
    }

    /// A server on the database `database_url` names (created and dropped
    /// by the caller), with a key of its own.
    pub async fn start_on(database_url: &str, tweak: impl FnOnce(&mut Config)) -> TestServer {
        Self::start_inner(tweak, None, Some(database_url.to_owned())).await
    }

    /// Another process on `other`'s database with `other`'s key, as a
    /// second instance behind a load balancer is.
    pub async fn start_beside(other: &TestServer, tweak: impl FnOnce(&mut Config)) -> TestServer {
        let url = other.config.database.database_url.clone();
        Self::start_inner(tweak, Some(other.key.clone()), Some(url)).await
    }

    async fn start_inner(
        tweak: impl FnOnce(&mut Config),
        key: Option<String>,
        database_url: Option<String>,
    ) -> TestServer {
        Self::try_start_inner(tweak, key, database_url, |_| async {})
            .await
            .unwrap_or_else(|e| panic!("server starts: {e}"))
    }

    async fn try_start_inner<F, Fut>(
        tweak: impl FnOnce(&mut Config),
        key: Option<String>,
        database_url: Option<String>,
        prepare: F,
    ) -> Result<TestServer, authnzd::StartError>
    where
        F: FnOnce(String) -> Fut,
        Fut: std::future::Future<Output = ()>,
    {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = test_config(dir.path());
        let mut scratch = None;
        if let Some(url) = database_url {
            config.database.database_url = url;
        } else if let Ok(admin_url) = std::env::var("AUTHNZD_TEST_DATABASE_URL")
            && !admin_url.trim().is_empty()
        {
            let (s, url) = Scratch::create(admin_url.trim()).await;
            config.database.database_url = url;
            scratch = Some(s);
        }
        tweak(&mut config);
        let key = key.unwrap_or_else(KeyRing::generate_key);
        if config.keys.secret.is_none() {
            config.keys.secret = Some(key.clone().into());
        }
        let config = config.validated().expect("valid test config");
        prepare(config.database.database_url.clone()).await;
        let clock = ManualClock::new();
        let running = match Server::start_with_clock(config.clone(), clock.clone()).await {
            Ok(r) => r,
            Err(e) => {
                if let Some(s) = scratch {
                    s.drop_database().await;
                }
                return Err(e);
            }
        };
        let client = Client::new(running.url(), &key).expect("client");
        Ok(TestServer {
            running: Some(running),
            key,
            client,
            clock,
            dir,
            config,
            scratch,
        })
    }

    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("server is running")
    }

    pub fn url(&self) -> String {
        self.running().url()
    }

    /// The password hasher's run count once start-up's background
    /// calibration (a hash per stored parameter set) is over — unchanged
    /// for 300 ms — so a test counting comparisons counts only its own.
    pub async fn settled_hashes(&self) -> u64 {
        let hasher = &self.running().app.credentials.hasher;
        let mut seen = hasher.runs();
        loop {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let now = hasher.runs();
            if now == seen {
                return now;
            }
            seen = now;
        }
    }

    pub fn addr(&self) -> std::net::SocketAddr {
        self.running().addr
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Another client of this server, telling it requests come from `ip`.
    pub fn client_from(&self, ip: &str) -> Client {
        Client::new(self.url(), &self.key)
            .expect("client")
            .with_client_ipaddr(ip)
    }

    /// Another client of this server that gives up after `timeout`.
    pub fn impatient_client(&self, timeout: Duration) -> Client {
        Client::builder(self.url(), &self.key)
            .timeout(timeout)
            .build()
            .expect("client")
    }

    /// Sends `request`; a reply that never came panics naming the request.
    pub async fn call(&self, request: &str, body: Value) -> Reply {
        call(&self.client, request, body).await
    }

    /// Sends `request`, asserts it succeeded, returns its response fields.
    pub async fn ok(&self, request: &str, body: Value) -> Value {
        let r = self.call(request, body).await;
        assert!(r.success, "{request} failed: {r:?}");
        r.response
    }

    /// Sends `request`, asserts it was refused, returns the reason.
    pub async fn refused(&self, request: &str, body: Value) -> Refusal {
        let r = self.call(request, body).await;
        assert!(!r.success, "{request} succeeded: {r:?}");
        r.refusal()
            .unwrap_or_else(|| panic!("{request} refused without a reason"))
    }

    /// Sends `request`, asserts it was refused for `reason`.
    pub async fn refuses(&self, request: &str, body: Value, reason: Refusal) {
        let got = self.refused(request, body).await;
        assert_eq!(got, reason, "{request} refused for another reason");
    }

    /// GET /health: the status and the JSON body.
    pub async fn health(&self) -> (u16, Value) {
        let res = super::http()
            .get(format!("{}health", self.url()))
            .send()
            .await
            .expect("GET /health");
        let status = res.status().as_u16();
        (status, res.json().await.expect("health JSON"))
    }

    /// `/health` once `wanted` holds of it: the server reuses a check's
    /// answer for up to `CHECK_REUSED_FOR`, so a change must show within
    /// that (plus a round trip's slack); the last answer if it did not.
    pub async fn health_until(&self, wanted: impl Fn(u16, &Value) -> bool) -> (u16, Value) {
        let within = authnzd::http::ops::CHECK_REUSED_FOR + Duration::from_millis(500);
        let started = std::time::Instant::now();
        loop {
            let (status, body) = self.health().await;
            if wanted(status, &body) || started.elapsed() >= within {
                return (status, body);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Asserts the server still serves: a new session is made.
    pub async fn assert_serving(&self) {
        self.ok("session-new", super::session_new_body(None, 1))
            .await;
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

    /// Stops the server and drops its scratch database, waiting for both
    /// (dropping the server does the same, without waiting for the drain).
    pub async fn stop(mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await;
        }
        if let Some(s) = self.scratch.take() {
            s.drop_database().await;
        }
    }
}

impl Drop for TestServer {
    /// A test that ends (or panics) without `stop()`: the server is told to
    /// stop on the runtime it runs on, and the scratch database is dropped
    /// before this returns, from a thread of its own (a drop cannot await,
    /// and the test's runtime may be a single thread blocked right here).
    fn drop(&mut self) {
        if let Some(running) = self.running.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(rt) => {
                    rt.spawn(running.shutdown());
                }
                Err(_) => {
                    // Outside any runtime: shut down from a thread with one
                    // of its own, waiting at most the drain deadline.
                    let (done, wait) = std::sync::mpsc::channel();
                    std::thread::spawn(move || {
                        if let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                        {
                            rt.block_on(running.shutdown());
                        }
                        done.send(()).ok();
                    });
                    let bound = Duration::from_secs(self.config.server.drain_timeout + 5);
                    wait.recv_timeout(bound).ok();
                }
            }
        }
        if let Some(scratch) = self.scratch.take() {
            let name = scratch.name.clone();
            let dropped = std::thread::spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime")
                    .block_on(scratch.drop_database());
            })
            .join();
            if dropped.is_err() {
                eprintln!("scratch database {name} may be left over");
            }
        }
    }
}

/// A database created for one server on a shared PostgreSQL / MariaDB.
pub struct Scratch {
    admin_url: String,
    pub name: String,
}

/// The PostgreSQL tests that need PostgreSQL whatever the backend run on:
/// `AUTHNZD_TEST_DATABASE_URL` when it names one, else the local server
/// (CI runs it).
pub fn postgres_admin_url() -> String {
    std::env::var("AUTHNZD_TEST_DATABASE_URL")
        .ok()
        .filter(|u| u.starts_with("postgres"))
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl Scratch {
    /// A new database on the server `admin_url` names, and its URL.
    pub async fn create(admin_url: &str) -> (Scratch, String) {
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

    /// Drops the database even while the server still holds connections to
    /// it (PostgreSQL: `WITH (FORCE)`; MariaDB: its connections are killed
    /// first, so no open transaction holds the drop up).
    pub async fn drop_database(self) {
        let Ok(admin) = Database::connect(&self.admin_url).await else {
            eprintln!("scratch database {}: cannot connect to drop it", self.name);
            return;
        };
        let postgres = self.admin_url.starts_with("postgres");
        if !postgres {
            let sessions = admin
                .query_all_raw(sea_orm::Statement::from_string(
                    admin.get_database_backend(),
                    format!(
                        "SELECT id FROM information_schema.processlist WHERE db = '{}'",
                        self.name
                    ),
                ))
                .await
                .unwrap_or_default();
            for row in sessions {
                if let Ok(id) = row.try_get_by_index::<u64>(0) {
                    admin.execute_unprepared(&format!("KILL {id}")).await.ok();
                }
            }
        }
        let force = if postgres { " WITH (FORCE)" } else { "" };
        if let Err(e) = admin
            .execute_unprepared(&format!("DROP DATABASE IF EXISTS {}{force}", self.name))
            .await
        {
            eprintln!("scratch database {}: {e}", self.name);
        }
        admin.close().await.ok();
    }
}
