//! Several processes with one Redis behave as one: a request token
//! accepted by one is refused by the other and by either after a restart;
//! a per-address limit is counted once for both; Redis going away does what
//! the operator chose, and coming back is noticed. Without Redis a restart
//! still refuses tokens sealed before it. Real `redis-server`, real
//! processes on one database (whichever backend the suite runs on).

mod common;

use std::time::{Duration, Instant};

use authnzd::config::{Config, Fallback};
use authnzd_client::Client;
use common::redis::Redis;
use common::{TestServer, post_raw, session_new_body};
use serde_json::{Value, json};

/// The HTTP status `request` gets through `client`.
async fn status(client: &Client, request: &str, body: Value) -> u16 {
    match client.request(request, body).await {
        Ok(reply) => reply.status,
        Err(e) => panic!("{request}: {e}"),
    }
}

/// A Redis, and two processes on one database sharing it, each
/// configured by `tweak` too.
async fn two_on_redis(tweak: fn(&mut Config)) -> (Redis, TestServer, TestServer) {
    let redis = Redis::start().await;
    let url = redis.url();
    let both = |c: &mut Config| {
        c.redis.redis_url = Some(url.as_str().into());
        tweak(c);
    };
    let a = TestServer::start_with(both).await;
    let b = TestServer::start_beside(&a, both).await;
    (redis, a, b)
}

/// A sealed `session-new` the test can send more than once.
fn captured(s: &TestServer) -> String {
    s.client.seal(&json!({
        "request": "session-new",
        "body": session_new_body(None, 1),
        "reqid": 1,
        "client_ipaddr": "198.51.100.7",
    }))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replay_is_refused_by_the_other_process_and_after_a_restart() {
    let (redis, a, mut b) = two_on_redis(|_| {}).await;

    let token = captured(&a);
    assert_eq!(
        post_raw(&a.url(), token.clone()).await.0,
        200,
        "first sight"
    );
    assert_eq!(
        post_raw(&a.url(), token.clone()).await.0,
        401,
        "same process"
    );
    assert_eq!(
        post_raw(&b.url(), token.clone()).await.0,
        401,
        "other process"
    );

    // Sent first to B this time, then to A.
    let other = captured(&a);
    assert_eq!(post_raw(&b.url(), other.clone()).await.0, 200);
    assert_eq!(post_raw(&a.url(), other.clone()).await.0, 401);

    b.restart().await;
    assert_eq!(post_raw(&b.url(), token).await.0, 401, "after a restart");
    assert_eq!(post_raw(&b.url(), other).await.0, 401, "after a restart");
    // New tokens still pass.
    assert_eq!(post_raw(&b.url(), captured(&a)).await.0, 200);
    assert!(redis.keys().await >= 3, "the replay keys live in Redis");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_token_sent_to_both_processes_at_once_is_accepted_once() {
    let (_redis, a, b) = two_on_redis(|_| {}).await;
    let token = captured(&a);
    let sends = (0..16).map(|i| {
        let (to, token) = (if i % 2 == 0 { a.url() } else { b.url() }, token.clone());
        async move { post_raw(&to, token).await.0 }
    });
    let statuses = futures_util::future::join_all(sends).await;
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        15,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn without_redis_a_restart_refuses_tokens_sealed_before_it() {
    let mut s = TestServer::start().await;
    let token = captured(&s);
    assert_eq!(post_raw(&s.url(), token.clone()).await.0, 200);
    // Fernet stamps whole seconds: let one pass so the restart is later.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    s.restart().await;
    assert_eq!(post_raw(&s.url(), token).await.0, 401);
    assert_eq!(post_raw(&s.url(), captured(&s)).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_address_limit_is_counted_once_for_both_processes() {
    // 10 at once, then one a second, for `session` requests per address.
    let (_redis, a, b) =
        two_on_redis(|c| c.limits.rate_limits = "session:60; burst:10".into()).await;
    let (ca, cb) = (a.client_from("203.0.113.9"), b.client_from("203.0.113.9"));
    let started = Instant::now();
    let mut admitted = 0;
    let mut limited_seen = 0;
    for i in 0..20 {
        let c = if i % 2 == 0 { &ca } else { &cb };
        match status(c, "session-exists", json!({"session_token": "none"})).await {
            200 => admitted += 1,
            429 => limited_seen += 1,
            other => panic!("unexpected status {other}"),
        }
    }
    // One more may have replenished for each second the loop took.
    let slack = started.elapsed().as_secs() as usize + 1;
    assert!(
        (10..=10 + slack).contains(&admitted),
        "{admitted} of 20 admitted across two processes ({limited_seen} limited)"
    );
    // Another address has its own count.
    let other = a.client_from("203.0.113.10");
    assert_eq!(
        status(&other, "session-exists", json!({"session_token": "x"})).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_going_away_does_what_the_operator_chose_and_its_return_is_noticed() {
    let mut redis = Redis::start().await;
    let url = redis.url();
    let refusing = TestServer::start_with(|c| {
        c.redis.redis_url = Some(url.clone().into());
        c.redis.redis_timeout_ms = 200;
    })
    .await;
    let local = TestServer::start_beside(&refusing, |c| {
        c.redis.redis_url = Some(url.clone().into());
        c.redis.redis_timeout_ms = 200;
        c.redis.redis_replay_fallback = Fallback::Local;
    })
    .await;
    refusing.assert_serving().await;
    local.assert_serving().await;
    let (code, health) = refusing.health().await;
    assert_eq!(
        (code, &health["redis"]["up"]),
        (200, &json!(true)),
        "{health}"
    );

    redis.stop();
    let body = || session_new_body(None, 1);
    // The default: no replay check, no request (503, which a client retries).
    assert_eq!(status(&refusing.client, "session-new", body()).await, 503);
    assert_eq!(status(&refusing.client, "session-new", body()).await, 503);
    let down = |_: u16, h: &Value| h["redis"]["up"] == json!(false);
    let (code, health) = refusing.health_until(down).await;
    assert_eq!(
        (code, &health["redis"]["up"]),
        (503, &json!(false)),
        "{health}"
    );
    // `local`: this process's own memory decides, and a replay to it is
    // still refused.
    assert_eq!(status(&local.client, "session-new", body()).await, 200);
    let token = captured(&local);
    assert_eq!(post_raw(&local.url(), token.clone()).await.0, 200);
    assert_eq!(post_raw(&local.url(), token).await.0, 401);
    let (code, health) = local.health_until(down).await;
    assert_eq!(
        (code, &health["redis"]["up"]),
        (200, &json!(false)),
        "{health}"
    );

    redis.start_again().await;
    let started = Instant::now();
    while status(&refusing.client, "session-new", body()).await != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "requests pass again once Redis is back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(refusing.health_until(|code, _| code == 200).await.0, 200);
    let metrics = common::http()
        .get(format!("{}metrics", refusing.url()))
        .send()
        .await
        .expect("GET /metrics")
        .text()
        .await
        .expect("metrics text");
    let failures: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("authnzd_redis_failures_total "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no redis failure count in {metrics}"));
    assert!(failures >= 2, "{failures} failures counted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_forward_auth_limit_is_counted_once_for_both_processes() {
    // 5 a second per address, 10 at once.
    let (_redis, a, b) = two_on_redis(|c| c.gateway.gateway_rate_limit = 5).await;
    let started = Instant::now();
    let mut admitted = 0;
    for i in 0..40 {
        let s = if i % 2 == 0 { &a } else { &b };
        let res = common::http()
            .get(format!("{}auth/verify", s.url()))
            .send()
            .await
            .expect("GET /auth/verify");
        if res.status() != 429 {
            admitted += 1;
        }
    }
    let slack = 5 * (started.elapsed().as_secs() as usize + 1);
    assert!(
        (10..=10 + slack).contains(&admitted),
        "{admitted} of 40 forward-auth checks admitted across two processes"
    );
}
