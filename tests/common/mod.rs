//! Integration harness: the real server in-process on an ephemeral port with a
//! fresh database, driven over HTTP by the real client.
//!
//! Backend: SQLite in a temporary directory, unless
//! `AUTHNZD_TEST_DATABASE_URL` names a PostgreSQL or MariaDB server
//! (`postgres://user@host/db`, `mysql://user@host/db`); then every server
//! gets its own scratch database there, dropped when the server stops or
//! is dropped.
//!
//! - `server`: `TestServer`, its `call` / `ok` / `refused` helpers.
//! - `fixtures`: users per role, sessions, logins, the test passwords.
//! - `mail`: servers wired to an SMTP sink (`mailsink`) or a local Twilio /
//!   SMS webhook (`fake_twilio`).
//! - `concurrency`: requests sent at once, and tallies of their replies.
//! - `apikeys`: API-key request bodies.
//! - `cli`: the `authnzd` binary run as a process, with a config file.
//! - `browser`: a real headless Chromium driven over WebDriver (`Browser`).
//! - `nginx`, `caddy`: a real reverse proxy in the foreground with the
//!   test's config, and (`nginx::upstream`) an app that says who it was
//!   told signed in.
//! - `apache`: a real Apache httpd with mod_auth_openidc, a relying party
//!   of the portal's OpenID Connect provider, in front of an app that shows
//!   the claims it was passed.
//! - `portal`: the server with the sign-in portal behind one of them (`Site`).
//! - `visitor`: a browser by hand over plain HTTP for the portal (`Visitor`).
//! - `device_keys`: an authenticator app's Ed25519 key and its registration.
//! - `deb`: the Debian package made from a build (shared with `cargo xtask deb`).
// Each test crate uses its own part of the kit and of these re-exports.
#![allow(dead_code, unused_imports)]

pub mod apache;
pub mod apikeys;
pub mod authnzerver_db;
pub mod browser;
pub mod caddy;
pub mod cli;
pub mod concurrency;
pub mod deb;
pub mod device_keys;
pub mod fake_twilio;
pub mod fixtures;
pub mod mail;
pub mod mailsink;
pub mod nginx;
pub mod phone;
pub mod portal;
pub mod process;
pub mod python;
pub mod redis;
pub mod server;
pub mod totp;
pub mod visitor;

pub use concurrency::{Answer, Tally, all_at_once, at_once, counts, tally};
pub use fixtures::{
    IP, PW, PW2, UA, assert_naive_utc, login_body, production_hashing, session_new_body, token_of,
};
pub use python::{pyjwt_verify, run_python_interop, test_python};
pub use server::{
    Scratch, TestServer, call, invalid_naming, postgres_admin_url, random_suffix, test_config,
};

/// A port nothing listens on (now).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
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

/// A tiny HTTP/1.1 app on a loopback port standing behind a proxy under
/// test: each request's head goes to `answer`, which gives the content
/// type and body of a 200 (one request per connection). Its port.
pub async fn serve_heads(
    answer: impl Fn(&str) -> (&'static str, String) + Send + Sync + 'static,
) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let answer = std::sync::Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let answer = answer.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let (kind, body) = answer(&String::from_utf8_lossy(&head));
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = conn.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

/// The value of header `name` in an HTTP head (request or status line
/// first, then `Name: value` lines).
pub fn header_value(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

/// The `Content-Length` of an HTTP head (0 when absent).
pub fn content_length(head: &str) -> usize {
    header_value(head, "content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// What `look` finds once it finds something (a message the server sends
/// after its answer): polled for up to 10 s, yielding in between so a
/// server on the test's own runtime gets on with it.
pub async fn eventually<T>(what: &str, mut look: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(found) = look() {
            return found;
        }
        assert!(std::time::Instant::now() < deadline, "{what} within 10 s");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
