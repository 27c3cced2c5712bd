//! SIGTERM under load: requests in flight are answered in full, no write
//! acknowledged before the signal is lost, stalled clients do not hold the
//! process past the drain deadline, and nothing is accepted after it.

mod common;

use authnzd_proto::Refusal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authnzd_client::Client;
use base64::Engine;
use common::process::{self, Guard};
use common::{Scratch, call, content_length, free_port, random_suffix, session_new_body, token_of};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const DRAIN_SECONDS: u64 = 4;
/// Each wrong login is answered after this: in flight across the signal.
const LOGIN_DELAY_MS: u64 = 2500;

/// The database the binary runs on: a scratch one on the test backend's
/// server, or SQLite in `dir`.
async fn database(dir: &Path) -> (Option<Scratch>, String) {
    match std::env::var("AUTHNZD_TEST_DATABASE_URL") {
        Ok(admin) if !admin.trim().is_empty() => {
            let (s, url) = Scratch::create(admin.trim()).await;
            (Some(s), url)
        }
        // Four slashes: an absolute path, as SQLAlchemy (and so the server)
        // reads SQLite URLs.
        _ => (
            None,
            format!("sqlite:///{}", dir.join("authnzd.sqlite").display()),
        ),
    }
}

async fn serve(dir: &Path, port: u16, url: &str) -> Guard {
    let env = [
        ("AUTHNZD_DRAIN_TIMEOUT", DRAIN_SECONDS.to_string()),
        ("AUTHNZD_FAILED_LOGIN_DELAY_MS", LOGIN_DELAY_MS.to_string()),
    ];
    process::serve(dir, port, url, &env).await
}

/// A sealed `user-login` with a wrong password, as the wire carries it.
/// (An address of its own each: repeated failures of one would wait longer.)
fn sealed_login(key: &str, session: &str, reqid: &str) -> String {
    let fernet = fernet::Fernet::new(key).expect("key");
    let envelope = json!({
        "request": "user-login",
        "body": {"session_token": session, "email": format!("{reqid}@example.com"),
                 "password": "wrong"},
        "reqid": reqid,
        "client_ipaddr": common::IP,
    });
    let token = fernet.encrypt(envelope.to_string().as_bytes());
    base64::engine::general_purpose::STANDARD.encode(token)
}

/// Reads one whole HTTP answer: its status and body, `None` if the
/// connection closed before all of it came.
async fn whole_answer(stream: &mut TcpStream) -> Option<(u16, Vec<u8>)> {
    let mut buf = Vec::new();
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).into_owned();
            let length = content_length(&head);
            if buf.len() >= end + 4 + length {
                let status = head.split_whitespace().nth(1)?.parse().ok()?;
                return Some((status, buf[end + 4..end + 4 + length].to_vec()));
            }
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn opened(key: &str, body: &[u8]) -> Value {
    let token = base64::engine::general_purpose::STANDARD
        .decode(body)
        .expect("base64 reply");
    let fernet = fernet::Fernet::new(key).expect("key");
    let plain = fernet
        .decrypt(std::str::from_utf8(&token).expect("token"))
        .expect("a whole, authentic reply");
    serde_json::from_slice(&plain).expect("JSON reply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_and_stops_within_the_deadline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (scratch, db_url) = database(dir.path()).await;
    let port = free_port();
    let mut child = serve(dir.path(), port, &db_url).await;
    let key = std::fs::read_to_string(dir.path().join("authnzd.key")).expect("key");
    let key = key.trim().to_owned();
    let url = format!("http://127.0.0.1:{port}/");
    let client = Client::new(&url, &key).expect("client");

    // Writers flat out until the server is gone.
    let acked = Arc::new(Mutex::new(Vec::new()));
    let mut writers = Vec::new();
    for _ in 0..4 {
        let (client, acked) = (client.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            loop {
                match client
                    .request("session-new", session_new_body(None, 1))
                    .await
                {
                    Ok(r) if r.success => acked.lock().expect("lock").push(token_of(&r.response)),
                    Ok(r) => assert!(r.status != 200, "refused: {r:?}"),
                    Err(e) => {
                        let network = matches!(e, authnzd_client::ClientError::Transport(_));
                        assert!(network, "a mangled reply: {e:?}");
                        return;
                    }
                }
            }
        }));
    }
    // Slow requests, each on its own connection, in flight at the signal.
    let mut slow = Vec::new();
    for i in 0..6 {
        let session = token_of(
            &call(&client, "session-new", session_new_body(None, 1))
                .await
                .response,
        );
        let reqid = format!("slow-{i}-{}", random_suffix());
        let body = sealed_login(&key, &session, &reqid);
        let mut stream = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        let request = format!(
            "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).await.expect("send");
        slow.push((reqid, stream));
    }
    // Stalled clients: half a head, and a body that never ends.
    let mut stalled = Vec::new();
    for bytes in [
        &b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le"[..],
        &b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n\r\nabcd"[..],
    ] {
        let mut s = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        s.write_all(bytes).await.expect("send");
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;

    let signalled = Instant::now();
    let pid = child.0.id().to_string();
    let sent = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(sent.success());
    let acked_at_signal = acked.lock().expect("lock").len();

    // Every slow request gets its whole, authentic answer.
    for (reqid, mut stream) in slow {
        let (status, body) = whole_answer(&mut stream)
            .await
            .unwrap_or_else(|| panic!("{reqid}: cut off by the shutdown"));
        assert_eq!(status, 200);
        let reply = opened(&key, &body);
        assert_eq!(reply["reqid"], reqid.as_str());
        assert_eq!(reply["success"], false);
        assert_eq!(reply["failure_reason"], Refusal::WrongPassword.as_str());
    }
    // The process ends by the drain deadline though stalled clients remain.
    let status = loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(DRAIN_SECONDS + 5),
            "still running {:?} after SIGTERM",
            signalled.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(status.success(), "exit status {status}");
    for w in writers {
        w.await.expect("writer");
    }
    for mut s in stalled {
        let mut rest = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(1), s.read_to_end(&mut rest)).await;
    }
    assert!(
        TcpStream::connect(("127.0.0.1", port)).await.is_err(),
        "accepting after shutdown"
    );

    // Nothing acknowledged is lost.
    let acked = acked.lock().expect("lock").clone();
    assert!(acked.len() >= acked_at_signal && !acked.is_empty());
    let _child = serve(dir.path(), port, &db_url).await;
    let client = Client::new(&url, &key).expect("client");
    for token in &acked {
        let r = call(&client, "session-exists", json!({"session_token": token})).await;
        assert!(r.success, "acknowledged session lost at shutdown: {r:?}");
    }
    drop(_child);
    if let Some(s) = scratch {
        s.drop_database().await;
    }
}
