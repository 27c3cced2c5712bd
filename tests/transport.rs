//! Slow clients and shutdown: the accept loop's header-read timeout and
//! drain deadline.

mod common;

use std::time::{Duration, Instant};

use common::{TestServer, session_new_body};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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
    // The header timeout is far longer than the test: only the drain
    // deadline can end the stalled connections.
    let s = TestServer::start_with(|c| {
        c.header_read_timeout = 600;
        c.drain_timeout = 1;
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
        let r = s
            .client
            .request("session-new", session_new_body(None, 1))
            .await
            .unwrap();
        assert!(r.success);
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
    let s = TestServer::start_with(|c| c.header_read_timeout = 1).await;
    for partial in [&b"POS"[..], b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n"] {
        let mut conn = TcpStream::connect(s.addr()).await.unwrap();
        conn.write_all(partial).await.unwrap();
        let closed = read_until_closed(&mut conn, Duration::from_secs(30)).await;
        assert!(
            closed.is_some(),
            "connection still open long after the header timeout"
        );
    }
    s.stop().await;
}
