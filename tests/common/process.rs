//! The binary as a child process: started in a directory, waited for until
//! it answers /health, killed if the test ends first.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Kills the server if a test fails before stopping it, so no orphan keeps
/// the test's output pipe open.
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A proxy (nginx, Caddy) in the foreground with its files in a temp dir,
/// killed on drop.
pub struct Foreground {
    child: Guard,
    pub dir: tempfile::TempDir,
}

impl Foreground {
    /// `cmd` spawned, then waited for until `ready` accepts connections;
    /// its log (`log` in `dir`) is shown if it exits or does not start.
    pub async fn start(
        name: &str,
        mut cmd: Command,
        dir: tempfile::TempDir,
        ready: u16,
        log: &str,
    ) -> Foreground {
        let child = cmd.spawn().unwrap_or_else(|e| panic!("{name} starts: {e}"));
        let mut f = Foreground {
            child: Guard(child),
            dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", ready)).is_err() {
            let log = || std::fs::read_to_string(f.dir.path().join(log)).unwrap_or_default();
            if let Ok(Some(status)) = f.child.0.try_wait() {
                panic!("{name} exited ({status}): {}", log());
            }
            assert!(Instant::now() < deadline, "{name} did not start: {}", log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        f
    }
}

/// `authnzd` run in `dir`, with none of the test's own `AUTHNZD_*` /
/// `AUTHNZERVER_*` settings.
pub fn authnzd(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authnzd"));
    cmd.current_dir(dir).stdout(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("AUTHNZD_") || k.starts_with("AUTHNZERVER_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// The /health answer, once the server on `port` gives one.
pub async fn wait_healthy(port: u16, child: &mut Child) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(res) = super::http()
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .await
        {
            return res.json().await.unwrap();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "authnzd exited during start-up"
        );
        assert!(Instant::now() < deadline, "authnzd did not come up");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `authnzd serve` in `dir` on `port` and `database_url`, without rate
/// limits and with cheap hashing, `env` on top, once it answers /health.
pub async fn serve(dir: &Path, port: u16, database_url: &str, env: &[(&str, String)]) -> Guard {
    let mut cmd = authnzd(dir);
    cmd.args(["serve", "--port", &port.to_string()])
        .env("AUTHNZD_DATABASE_URL", database_url)
        .env("AUTHNZD_RATE_LIMITS", "none")
        .env("AUTHNZD_LOG_LEVEL", "warn")
        .env("AUTHNZD_ARGON2_MEMORY_KIB", "1024")
        .env("AUTHNZD_ARGON2_ITERATIONS", "1")
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stderr(Stdio::null());
    let mut child = Guard(cmd.spawn().expect("authnzd starts"));
    wait_healthy(port, &mut child.0).await;
    child
}
