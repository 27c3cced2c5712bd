//! Slow and hostile clients, and shutdown: the accept loop's connection cap,
//! header-read and idle timeout, the body deadline, the drain deadline.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{TestServer, call, content_length, http, session_new_body};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::RwLock;
use tokio::task::JoinSet;

/// The descriptor count is the whole process's: the flood test runs alone
/// (write), the others alongside each other (read).
static DESCRIPTORS: RwLock<()> = RwLock::const_new(());

/// Reads until the server closes the connection; returns what it sent.
async fn read_until_closed(stream: &mut TcpStream, within: Duration) -> Option<String> {
    let mut buf = Vec::new();
    let read = tokio::time::timeout(within, stream.read_to_end(&mut buf)).await;
    match read {
        Ok(_) => Some(String::from_utf8_lossy(&buf).into_owned()),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_stalled_half_header_neither_delays_others_nor_holds_shutdown() {
    let _shared = DESCRIPTORS.read().await;
    // The header timeout is far longer than the test: only the drain
    // deadline can end the stalled connections.
    let s = TestServer::start_with(|c| {
        c.server.header_read_timeout = 600;
        c.server.drain_timeout = 1;
    })
    .await;
    let mut stalled = Vec::new();
    for partial in [
        &b"POS"[..],
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
    ] {
        let mut conn = TcpStream::connect(s.addr()).await.unwrap();
        conn.write_all(partial).await.unwrap();
        stalled.push(conn);
    }
    for _ in 0..10 {
        s.assert_serving().await;
    }
    let started = Instant::now();
    s.stop().await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(30),
        "shutdown took {took:?} with a 1 s drain deadline"
    );
    for mut conn in stalled {
        assert!(
            read_until_closed(&mut conn, Duration::from_secs(5))
                .await
                .is_some(),
            "stalled connection left open after shutdown"
        );
    }
}

#[tokio::test]
async fn a_client_that_never_finishes_its_header_is_cut_off() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start_with(|c| c.server.header_read_timeout = 1).await;
    // Nothing at all, half an HTTP/2 preface (the server is still working
    // out which protocol it speaks), a whole preface and no SETTINGS, a
    // partial request line, a partial head.
    for partial in [
        &b""[..],
        b"PRI * HTTP/2.0\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"POS",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n",
    ] {
        let mut conn = TcpStream::connect(s.addr()).await.unwrap();
        conn.write_all(partial).await.unwrap();
        let closed = read_until_closed(&mut conn, Duration::from_secs(10)).await;
        assert!(
            closed.is_some(),
            "connection sending {:?} still open long after the header timeout",
            String::from_utf8_lossy(partial)
        );
    }
}

/// One HTTP/1.1 answer read off a raw connection.
#[derive(Debug)]
struct Answer {
    status: u16,
    head: String,
    body: String,
}

/// A raw HTTP/1.1 connection that keeps what it read past one answer (for
/// pipelining).
struct Raw {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    async fn connect(s: &TestServer) -> Raw {
        Raw {
            stream: TcpStream::connect(s.addr()).await.expect("connect"),
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// The next answer, or `None` if the server closed first.
    async fn answer(&mut self) -> Option<Answer> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&self.buf[..end]).into_owned();
                let length = content_length(&head);
                if self.buf.len() >= end + 4 + length {
                    let body =
                        String::from_utf8_lossy(&self.buf[end + 4..end + 4 + length]).into_owned();
                    self.buf.drain(..end + 4 + length);
                    let status = head
                        .split_whitespace()
                        .nth(1)
                        .and_then(|c| c.parse().ok())
                        .expect("status code");
                    return Some(Answer { status, head, body });
                }
            }
            let mut chunk = [0u8; 4096];
            match self.stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return None,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
            }
        }
    }

    /// The next answer within `within`; `None` if none came (or it closed).
    async fn answer_within(&mut self, within: Duration) -> Option<Answer> {
        tokio::time::timeout(within, self.answer())
            .await
            .ok()
            .flatten()
    }

    /// Waits for the server to close; how long that took, `None` if it did
    /// not within `within`.
    async fn closed_within(&mut self, within: Duration) -> Option<Duration> {
        let started = Instant::now();
        read_until_closed(&mut self.stream, within)
            .await
            .map(|_| started.elapsed())
    }
}

const HEALTH: &[u8] = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// Raises this process's descriptor soft limit to its hard limit (the
/// server runs in this process: its sockets and ours share the limit).
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn raise_descriptor_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain getrlimit/setrlimit on a valid struct.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        lim.rlim_cur = lim.rlim_max;
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
    }
    lim.rlim_cur
}

/// Descriptors this process holds now.
#[cfg(target_os = "linux")]
fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .count()
}

/// What one abusive connection sends before it stalls.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Stall {
    /// A whole head announcing 60000 bytes of body, then 4 of them.
    Body,
    /// Half a request head.
    Head,
    /// Nothing at all.
    Silent,
    /// Half the HTTP/2 preface.
    Preface,
}

impl Stall {
    fn bytes(self) -> &'static [u8] {
        match self {
            Stall::Body => {
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60000\r\n\r\nabcd"
            }
            Stall::Head => b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Le",
            Stall::Silent => b"",
            Stall::Preface => b"PRI * HTTP/2.0\r\n",
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_stalled_connections_are_cut_off_while_others_are_served() {
    let _alone = DESCRIPTORS.write().await;
    let hard_limit = raise_descriptor_limit();
    const DEADLINE: Duration = Duration::from_secs(2);
    let s = TestServer::start_with(|c| {
        c.server.header_read_timeout = 2;
        c.server.body_read_timeout = 2;
    })
    .await;
    let health_url = format!("{}health", s.url());
    let web = http();
    // Warm up the pools, then count.
    s.assert_serving().await;
    assert_eq!(
        web.get(&health_url).send().await.expect("health").status(),
        200
    );
    let baseline = open_descriptors();

    // 2,000 stalled in the body, 2,000 in the head (1,000 half heads, 500
    // silent, 500 half prefaces).
    let mut kinds = vec![Stall::Body; 2000];
    kinds.extend([Stall::Head; 1000]);
    kinds.extend([Stall::Silent; 500]);
    kinds.extend([Stall::Preface; 500]);
    let total = kinds.len();
    let opened = Arc::new(AtomicUsize::new(0));
    let connecting = Arc::new(tokio::sync::Semaphore::new(200));
    let started = Instant::now();
    let mut stalled = JoinSet::new();
    for kind in kinds {
        let addr = s.addr();
        let opened = opened.clone();
        let connecting = connecting.clone();
        stalled.spawn(async move {
            let permit = connecting.acquire_owned().await.expect("semaphore");
            let mut conn = TcpStream::connect(addr).await.expect("connect");
            conn.write_all(kind.bytes()).await.expect("write");
            drop(permit);
            opened.fetch_add(1, Ordering::Relaxed);
            let at = Instant::now();
            let answer = read_until_closed(&mut conn, Duration::from_secs(30)).await;
            (kind, answer.map(|a| (a, at.elapsed())))
        });
    }

    // Normal clients meanwhile, until every stalled connection is gone.
    let done = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let normal = {
        let (done, peak, opened) = (done.clone(), peak.clone(), opened.clone());
        let client = s.client.clone();
        tokio::spawn(async move {
            let mut rpc = Vec::new();
            let mut health = Vec::new();
            let mut all_open_at = None;
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(open_descriptors(), Ordering::Relaxed);
                if all_open_at.is_none() && opened.load(Ordering::Relaxed) == total {
                    all_open_at = Some(started.elapsed());
                }
                let t = Instant::now();
                let r = call(&client, "session-new", session_new_body(None, 1)).await;
                assert!(r.success, "rpc during the abuse: {r:?}");
                rpc.push(t.elapsed());
                let t = Instant::now();
                let res = web
                    .get(&health_url)
                    .send()
                    .await
                    .expect("health during the abuse");
                assert_eq!(res.status(), 200);
                health.push(t.elapsed());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (rpc, health, all_open_at)
        })
    };

    let mut closed = Vec::new();
    while let Some(r) = stalled.join_next().await {
        closed.push(r.expect("stalled task"));
    }
    let all_closed_at = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let (rpc, health, all_open_at) = normal.await.expect("normal clients");

    for (kind, answer) in &closed {
        let (answer, after) = answer
            .as_ref()
            .unwrap_or_else(|| panic!("a {kind:?} stall still open after 30 s"));
        assert!(
            *after >= DEADLINE - Duration::from_millis(500) && *after < DEADLINE * 4,
            "a {kind:?} stall closed after {after:?}, deadline {DEADLINE:?}"
        );
        if *kind == Stall::Body {
            assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        }
    }
    let slowest = |v: &[Duration]| v.iter().max().copied().unwrap_or_default();
    assert!(
        rpc.len() >= 5 && health.len() >= 5,
        "{} RPCs, {} health checks",
        rpc.len(),
        health.len()
    );
    assert!(
        slowest(&rpc) < Duration::from_secs(2),
        "rpc {:?}",
        slowest(&rpc)
    );
    assert!(
        slowest(&health) < Duration::from_secs(2),
        "health {:?}",
        slowest(&health)
    );

    // Every descriptor comes back.
    let settle = Instant::now();
    let mut after = open_descriptors();
    while after > baseline + 16 && settle.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = open_descriptors();
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let (mut rpc, mut health) = (rpc, health);
    let closed_after: Vec<Duration> = closed
        .iter()
        .filter_map(|(_, a)| a.as_ref().map(|(_, d)| *d))
        .collect();
    eprintln!(
        "descriptor limit {hard_limit}; descriptors: baseline {baseline}, peak {}, after {after}; \
         {total} stalled open by {all_open_at:?}, all closed by {all_closed_at:?} \
         (each after {:?}..{:?}); {} RPCs median {:?} max {:?}; {} health median {:?} max {:?}",
        peak.load(Ordering::Relaxed),
        closed_after.iter().min(),
        closed_after.iter().max(),
        rpc.len(),
        median(&mut rpc),
        slowest(&rpc),
        health.len(),
        median(&mut health),
        slowest(&health),
    );
    assert!(
        peak.load(Ordering::Relaxed) > baseline + total,
        "the stalled connections were never all open at once"
    );
    assert!(
        after <= baseline + 16,
        "{after} descriptors open, {baseline} before the abuse"
    );
}

#[tokio::test]
async fn past_the_connection_cap_new_connections_wait_and_the_held_ones_are_served() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start_with(|c| {
        c.server.max_connections = Some(100);
        c.server.header_read_timeout = 60;
    })
    .await;
    let mut held = Vec::new();
    for _ in 0..100 {
        let mut conn = Raw::connect(&s).await;
        conn.send(HEALTH).await;
        let a = conn.answer_within(Duration::from_secs(5)).await;
        assert_eq!(a.expect("served under the cap").status, 200);
        held.push(conn);
    }
    // The 101st is connected (the kernel's backlog) but not served...
    let mut waiting = Raw::connect(&s).await;
    waiting.send(HEALTH).await;
    assert!(
        waiting
            .answer_within(Duration::from_millis(500))
            .await
            .is_none(),
        "served past the cap"
    );
    // ...and the 100 are, again and again.
    for _ in 0..2 {
        for conn in &mut held {
            conn.send(HEALTH).await;
            let a = conn.answer_within(Duration::from_secs(5)).await;
            assert_eq!(a.expect("held connection served").status, 200);
        }
    }
    // One leaves: the waiting one is served.
    drop(held.pop());
    let a = waiting.answer_within(Duration::from_secs(5)).await;
    assert_eq!(a.expect("served once a slot freed").status, 200);
    // All leave: new connections, and the RPC client, are served.
    drop(held);
    drop(waiting);
    for _ in 0..150 {
        let mut conn = Raw::connect(&s).await;
        conn.send(HEALTH).await;
        let a = conn.answer_within(Duration::from_secs(5)).await;
        assert_eq!(a.expect("served after the others left").status, 200);
    }
    s.assert_serving().await;
}

#[tokio::test]
async fn a_body_trickled_a_byte_a_second_gets_408_and_is_closed() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start_with(|c| c.server.body_read_timeout = 2).await;
    let conn = TcpStream::connect(s.addr()).await.expect("connect");
    let (mut read, mut write) = conn.into_split();
    write
        .write_all(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n")
        .await
        .expect("head");
    let started = Instant::now();
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if write.write_all(b"x").await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    });
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(15), read.read_to_end(&mut got)).await;
    let took = started.elapsed();
    trickle.abort();
    assert!(read.is_ok(), "a trickled body held the connection 15 s");
    let got = String::from_utf8_lossy(&got);
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(
        got.to_ascii_lowercase().contains("connection: close"),
        "{got}"
    );
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(6),
        "408 after {took:?} with a 2 s deadline"
    );
    // A body sent at once is not affected.
    s.assert_serving().await;
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_after_the_header_timeout() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start_with(|c| c.server.header_read_timeout = 2).await;
    let mut conn = Raw::connect(&s).await;
    for _ in 0..3 {
        // Pauses shorter than the timeout keep it.
        conn.send(HEALTH).await;
        let a = conn.answer_within(Duration::from_secs(5)).await;
        let a = a.expect("keep-alive answer");
        assert_eq!(a.status, 200);
        assert!(!a.head.to_ascii_lowercase().contains("connection: close"));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    conn.send(HEALTH).await;
    assert_eq!(conn.answer().await.expect("answer").status, 200);
    let after = conn.closed_within(Duration::from_secs(10)).await;
    let after = after.expect("idle keep-alive connection still open after 10 s");
    assert!(
        after >= Duration::from_millis(1500) && after < Duration::from_secs(5),
        "closed after {after:?} idle, timeout 2 s"
    );
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start().await;
    let mut conn = Raw::connect(&s).await;
    let mut pipeline = Vec::new();
    pipeline.extend_from_slice(HEALTH);
    pipeline.extend_from_slice(
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 11\r\n\r\nnot-a-token",
    );
    pipeline.extend_from_slice(b"GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    pipeline.extend_from_slice(HEALTH);
    conn.send(&pipeline).await;
    let mut answers = Vec::new();
    for _ in 0..4 {
        let a = conn.answer_within(Duration::from_secs(5)).await;
        answers.push(a.expect("pipelined answer"));
    }
    let statuses: Vec<u16> = answers.iter().map(|a| a.status).collect();
    assert_eq!(statuses, [200, 401, 404, 200]);
    assert!(answers[0].body.contains("\"status\""), "{:?}", answers[0]);
    assert_eq!(answers[2].body, "not found");
}

#[tokio::test]
async fn oversized_and_too_many_headers_get_431() {
    let _shared = DESCRIPTORS.read().await;
    let s = TestServer::start().await;
    let big = format!(
        "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(70 * 1024)
    );
    let mut many = String::from("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for i in 0..150 {
        many.push_str(&format!("X-Header-{i}: {i}\r\n"));
    }
    many.push_str("\r\n");
    for (what, request) in [("a 70 KiB header", big), ("150 headers", many)] {
        let mut conn = Raw::connect(&s).await;
        conn.send(request.as_bytes()).await;
        let a = conn.answer_within(Duration::from_secs(5)).await;
        let a = a.unwrap_or_else(|| panic!("no answer to {what}"));
        assert_eq!(a.status, 431, "{what}: {a:?}");
        assert!(
            conn.closed_within(Duration::from_secs(5)).await.is_some(),
            "{what}: connection left open"
        );
    }
    // The server is unharmed.
    let mut conn = Raw::connect(&s).await;
    conn.send(HEALTH).await;
    let a = conn.answer_within(Duration::from_secs(5)).await;
    assert_eq!(a.expect("health after the 431s").status, 200);
}
