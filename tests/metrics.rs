//! `GET /metrics`: scraped after real requests, its counters have moved by
//! what the requests did; it can be switched off or moved to its own port.

mod common;

use std::collections::HashMap;

use common::{PW, TestServer, post_raw, session_new_body};
use serde_json::json;

/// Every sample of an exposition text: `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_owned(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape_at(url: &str) -> (u16, String) {
    let res = common::http().get(url).send().await.expect("GET /metrics");
    let status = res.status().as_u16();
    (status, res.text().await.expect("metrics text"))
}

async fn scrape(s: &TestServer) -> HashMap<String, f64> {
    let (status, text) = scrape_at(&format!("{}metrics", s.url())).await;
    assert_eq!(status, 200, "{text}");
    assert!(text.ends_with("# EOF\n"), "OpenMetrics text: {text}");
    samples(&text)
}

fn value(m: &HashMap<String, f64>, key: &str) -> f64 {
    *m.get(key)
        .unwrap_or_else(|| panic!("no {key} in {:#?}", m.keys().collect::<Vec<_>>()))
}

#[tokio::test]
async fn counters_move_with_real_requests() {
    let s = TestServer::with_lockout(1, 0).await;
    let before = scrape(&s).await;
    let ok = r#"authnzd_requests_total{request="session-new",outcome="ok"}"#;
    assert_eq!(value(&before, ok), 0.0, "made at start-up");
    let token = s.session_for(None, 1).await;
    s.session_for(None, 1).await;
    s.session_for(None, 1).await;
    for _ in 0..3 {
        assert!(s.session_alive(&token).await);
    }
    assert!(!s.session_alive("no such token").await);
    assert_eq!(post_raw(&s.url(), "not an envelope").await.0, 401);
    let uid = s.verified_user("metered@example.com", PW).await;
    for _ in 0..2 {
        s.try_login("metered@example.com", "wrong wrong wrong")
            .await;
    }
    let m = scrape(&s).await;
    // Three, and the anonymous sessions the two logins started from.
    assert_eq!(value(&m, ok), 5.0);
    assert_eq!(
        value(
            &m,
            r#"authnzd_requests_total{request="session-exists",outcome="ok"}"#
        ),
        3.0
    );
    assert_eq!(
        value(
            &m,
            r#"authnzd_requests_total{request="session-exists",outcome="refused"}"#
        ),
        1.0
    );
    assert_eq!(
        value(
            &m,
            r#"authnzd_request_duration_seconds_count{request="session-new"}"#
        ),
        5.0
    );
    let sum = value(
        &m,
        r#"authnzd_request_duration_seconds_sum{request="session-new"}"#,
    );
    assert!(sum > 0.0, "latency observed: {sum}");
    assert_eq!(
        value(
            &m,
            r#"authnzd_request_duration_seconds_bucket{le="+Inf",request="session-new"}"#
        ),
        5.0
    );
    assert_eq!(
        value(&m, r#"authnzd_rejected_total{reason="unauthenticated"}"#),
        1.0
    );
    assert_eq!(
        value(&m, "authnzd_lockouts_total"),
        1.0,
        "user {uid} locked"
    );
    // The token's later lookups come from the cache.
    assert!(value(&m, "authnzd_session_cache_hits_total") >= 2.0);
    assert!(value(&m, "authnzd_session_cache_misses_total") >= 1.0);
    let ratio = value(&m, "authnzd_session_cache_hit_ratio");
    assert!(ratio > 0.0 && ratio < 1.0, "{ratio}");
    assert!(value(&m, "authnzd_connections_open") >= 1.0);
    assert!(value(&m, "authnzd_db_pool_connections") >= 1.0);
    assert!(m.contains_key("authnzd_db_pool_in_use"));
    assert_eq!(value(&m, "authnzd_hash_queue_depth"), 0.0);
    assert_eq!(value(&m, "authnzd_hash_workers_busy"), 0.0);
    assert_eq!(value(&m, "authnzd_mail_sent_total"), 0.0);
    assert_eq!(value(&m, "authnzd_sms_failed_total"), 0.0);
    // The lock's invalidations go to the log (counted once written).
    assert!(m.contains_key("authnzd_invalidations_published_total"));
    for none in [
        "authnzd_invalidation_publish_failed_total",
        "authnzd_invalidation_outbox_full_total",
        "authnzd_invalidation_flush_all_published_total",
        "authnzd_invalidations_applied_total",
        "authnzd_session_cache_flushes_total",
    ] {
        assert_eq!(value(&m, none), 0.0, "{none}");
    }
    let build = format!(
        r#"authnzd_build_info{{version="{}"}}"#,
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(value(&m, &build), 1.0);
}

#[tokio::test]
async fn rate_limit_rejections_are_counted_by_limit() {
    let s = TestServer::with_session_new_limit(1).await;
    for _ in 0..3 {
        s.call("session-new", session_new_body(None, 1)).await;
    }
    let m = scrape(&s).await;
    assert_eq!(
        value(&m, r#"authnzd_rate_limited_total{limit="action"}"#),
        2.0
    );
    assert_eq!(
        value(
            &m,
            r#"authnzd_requests_total{request="session-new",outcome="limited"}"#
        ),
        2.0
    );
    s.call("no-such-request", json!({})).await;
    let m = scrape(&s).await;
    assert_eq!(
        value(
            &m,
            r#"authnzd_requests_total{request="(unknown)",outcome="refused"}"#
        ),
        1.0
    );
}

#[tokio::test]
async fn metrics_can_be_switched_off_or_moved_to_their_own_address() {
    let off = TestServer::start_with(|c| c.ops.metrics = false).await;
    assert_eq!(scrape_at(&format!("{}metrics", off.url())).await.0, 404);
    assert_eq!(off.health().await.0, 200);

    let port = common::free_port();
    let moved = TestServer::start_with(|c| {
        c.ops.metrics_listen = Some(std::net::SocketAddr::from(([127, 0, 0, 1], port)))
    })
    .await;
    assert_eq!(scrape_at(&format!("{}metrics", moved.url())).await.0, 404);
    moved.assert_serving().await;
    let addr = moved.running().metrics_addr.expect("metrics address");
    assert_eq!(addr.port(), port);
    let (status, text) = scrape_at(&format!("http://{addr}/metrics")).await;
    assert_eq!(status, 200);
    let m = samples(&text);
    assert_eq!(
        value(
            &m,
            r#"authnzd_requests_total{request="session-new",outcome="ok"}"#
        ),
        1.0
    );
    assert_eq!(scrape_at(&format!("http://{addr}/")).await.0, 404);
}
