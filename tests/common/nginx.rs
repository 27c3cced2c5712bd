//! A real nginx in the foreground on loopback, with a config the test
//! writes, and a small upstream that says which user nginx passed it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::process::Foreground;

pub fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("this test needs nginx: `cargo xtask test` installs it (as root) or prints how")
}

/// An upstream that answers with the `X-Auth-User-Id` nginx passed it.
pub async fn upstream() -> u16 {
    super::serve_heads(|head| {
        let user = super::header_value(head, "x-auth-user-id").unwrap_or_default();
        ("text/plain", format!("upstream saw user={user}"))
    })
    .await
}

/// nginx in the foreground, killed on drop.
pub struct Nginx(Foreground);

/// The `http { … }` frame around `servers`, with every path in `dir`.
fn frame(dir: &Path, servers: &str) -> String {
    let d = dir.display();
    format!(
        r#"
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
{servers}
}}
"#
    )
}

impl Nginx {
    /// nginx serving `servers` (the `server { … }` blocks), once `ready`
    /// accepts connections.
    pub async fn start(servers: &str, ready: u16) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, frame(dir.path(), servers)).unwrap();
        let mut cmd = Command::new(nginx_binary());
        cmd.arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Nginx(Foreground::start("nginx", cmd, dir, ready, "error.log").await)
    }
}
