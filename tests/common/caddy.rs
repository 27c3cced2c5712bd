//! A real Caddy in the foreground on loopback (`caddy run`), with a
//! Caddyfile the test writes. Its home, data and config dirs are a temp dir,
//! so it writes nothing global; the admin endpoint and automatic HTTPS are
//! off. Killed on drop.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn caddy_binary() -> PathBuf {
    let in_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|dir| dir.join("caddy"));
    std::iter::once(PathBuf::from("/usr/bin/caddy"))
        .chain(in_path)
        .find(|p| p.is_file())
        .expect("this test needs caddy: `cargo xtask test` installs it (as root) or prints how")
}

/// Caddy in the foreground, killed on drop.
pub struct Caddy {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Drop for Caddy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The global options (no admin endpoint, no certificates) before `sites`.
fn caddyfile(sites: &str) -> String {
    format!(
        r#"{{
    admin off
    auto_https off
}}
{sites}"#
    )
}

impl Caddy {
    /// Caddy serving `sites` (Caddyfile site blocks), once `ready` accepts
    /// connections.
    pub async fn start(sites: &str, ready: u16) -> Caddy {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let conf = d.join("Caddyfile");
        std::fs::write(&conf, caddyfile(sites)).unwrap();
        let log_path = d.join("caddy.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new(caddy_binary())
            .arg("run")
            .arg("--config")
            .arg(&conf)
            .arg("--adapter")
            .arg("caddyfile")
            .current_dir(d)
            .env("HOME", d)
            .env("XDG_CONFIG_HOME", d.join("config"))
            .env("XDG_DATA_HOME", d.join("data"))
            .env("XDG_CACHE_HOME", d.join("cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("caddy starts");
        let mut caddy = Caddy { child, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", ready)).is_err() {
            let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
            if let Ok(Some(status)) = caddy.child.try_wait() {
                panic!("caddy exited ({status}): {}", log());
            }
            assert!(Instant::now() < deadline, "caddy did not start: {}", log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        caddy
    }

    /// What Caddy logged so far (JSON lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("caddy.log")).unwrap_or_default()
    }
}
