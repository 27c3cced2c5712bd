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
