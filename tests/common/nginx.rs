//! A real nginx in the foreground on loopback, with a config the test
//! writes, and a small upstream that says which user nginx passed it.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::process::Foreground;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("this test needs nginx: `cargo xtask test` installs it (as root) or prints how")
}

/// An upstream that answers with the `X-Auth-User-Id` nginx passed it.
pub async fn upstream() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let user = super::header_value(&head, "x-auth-user-id").unwrap_or_default();
                let body = format!("upstream saw user={user}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
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
