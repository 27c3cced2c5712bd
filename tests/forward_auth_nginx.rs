//! Forward-auth behind a real nginx (`auth_request`) in front of a small
//! upstream: the configuration README shows, started on loopback by the
//! test. Needs the `nginx` binary (Debian: `apt-get install nginx`;
//! `.ci/run` installs it).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{PW, TestServer, free_port};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/local/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("this test needs nginx: `apt-get install nginx` (.ci/run installs it)")
}

/// An upstream that answers with the `X-Auth-User-Id` nginx passed it.
async fn upstream() -> u16 {
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
                let user = common::header_value(&head, "x-auth-user-id").unwrap_or_default();
                let body = format!("upstream saw user={user}");
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// nginx in the foreground, killed on drop.
struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The README's snippet with this test's ports: `plain` answers 401,
/// `redirecting` turns our 401 + Location into a 302.
fn config(dir: &Path, plain: u16, redirecting: u16, auth: u16, upstream: u16) -> String {
    let d = dir.display();
    let location = |redirect: bool| {
        format!(
            r#"
        location = /_authnzd {{
            internal;
            proxy_pass http://127.0.0.1:{auth}/auth/verify?url=$authnzd_url;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL https://$http_host$request_uri;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location / {{
            # A subrequest has no query of its own; the variable carries it.
            set $authnzd_url $arg_url;
            auth_request /_authnzd;
            auth_request_set $auth_user $upstream_http_x_auth_user_id;
            auth_request_set $auth_redirect $upstream_http_location;
            {}
            proxy_set_header X-Auth-User-Id $auth_user;
            proxy_pass http://127.0.0.1:{upstream};
        }}"#,
            if redirect {
                "error_page 401 =302 $auth_redirect;"
            } else {
                ""
            }
        )
    };
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
    server {{
        listen 127.0.0.1:{plain};
        {}
    }}
    server {{
        listen 127.0.0.1:{redirecting};
        {}
    }}
}}
"#,
        location(false),
        location(true)
    )
}

async fn start_nginx(auth: u16) -> (Nginx, u16, u16) {
    let up = upstream().await;
    let (plain, redirecting) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("nginx.conf");
    std::fs::write(&conf, config(dir.path(), plain, redirecting, auth, up)).unwrap();
    let child = Command::new(nginx_binary())
        .arg("-p")
        .arg(dir.path())
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(dir.path().join("error.log"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nginx starts");
    let nginx = Nginx { child, dir };
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", redirecting)).is_err() {
        let log = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
        assert!(Instant::now() < deadline, "nginx did not start: {log}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (nginx, plain, redirecting)
}

async fn get(
    port: u16,
    path: &str,
    host: &str,
    cookie: Option<&str>,
) -> (u16, Option<String>, String) {
    authnzd::tls::install_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .header("host", host);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let res = req.send().await.expect("GET through nginx");
    let status = res.status().as_u16();
    let location = res
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (status, location, res.text().await.unwrap_or_default())
}

#[tokio::test]
async fn nginx_auth_request_passes_signed_in_users_and_refuses_everyone_else() {
    let s = TestServer::start_with(|c| {
        c.gateway.gateway_listen = "127.0.0.1:0".into();
        c.gateway.forward_auth_login_url = "https://login.example.com/signin".into();
        c.gateway.forward_auth_domains = "example.com".into();
    })
    .await;
    let auth = s.running().gateway_addr.expect("gateway").port();
    let (_nginx, plain, redirecting) = start_nginx(auth).await;
    let host = "app.example.com";

    // Nobody: 401 from the plain server, a redirect to the login page
    // carrying the original URL from the redirecting one.
    assert_eq!(get(plain, "/private", host, None).await.0, 401);
    let (status, location, _) = get(redirecting, "/private?a=1", host, None).await;
    assert_eq!(status, 302);
    let location = url::Url::parse(&location.expect("Location")).unwrap();
    assert_eq!(location.host_str(), Some("login.example.com"));
    let carried: Vec<_> = location
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        carried,
        vec![(
            "url".to_owned(),
            "https://app.example.com/private?a=1".to_owned()
        )]
    );

    // A signed-in user's cookie reaches the upstream with the user's id.
    let id = s.verified_user("nginx@example.com", PW).await;
    let session = s.session_for(Some(id), 48).await;
    let cookie = format!("authnzd_session={session}");
    for port in [plain, redirecting] {
        let (status, _, body) = get(port, "/private", host, Some(&cookie)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, format!("upstream saw user={id}"));
    }

    // Open redirects: refused (403), never a Location to another host.
    for (path, host) in [
        ("/?url=https://evil.example/", host),
        ("/?url=//evil.example", host),
        ("/", "evil.example"),
    ] {
        let (status, location, _) = get(redirecting, path, host, None).await;
        assert_eq!(status, 403, "{host}{path} → {location:?}");
        assert!(location.is_none());
    }

    // Logged out: the same cookie is refused within 1 s (here at once: the
    // server's cache holds a revocation mark).
    s.ok("session-delete", json!({"session_token": session}))
        .await;
    let deadline = Instant::now() + Duration::from_secs(1);
    let refused_at = loop {
        let (status, _, _) = get(plain, "/private", host, Some(&cookie)).await;
        if status == 401 {
            break Instant::now();
        }
        assert_eq!(status, 200);
        assert!(
            Instant::now() < deadline,
            "the cookie still passed after 1 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(refused_at <= deadline);
}
