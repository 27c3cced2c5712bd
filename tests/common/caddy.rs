//! A real Caddy in the foreground on loopback (`caddy run`), with a
//! Caddyfile the test writes. Its home, data and config dirs are a temp dir,
//! so it writes nothing global; the admin endpoint and automatic HTTPS are
//! off. Killed on drop.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use super::process::Foreground;

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
pub struct Caddy(Foreground);

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
        let mut cmd = Command::new(caddy_binary());
        cmd.arg("run")
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
            .stderr(log);
        Caddy(Foreground::start("caddy", cmd, dir, ready, "caddy.log").await)
    }

    /// What Caddy logged so far (JSON lines).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.0.dir.path().join("caddy.log")).unwrap_or_default()
    }
}
