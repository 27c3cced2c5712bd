//! Two processes on one PostgreSQL database (the local server whatever the
//! backend the other tests use; CI runs it) behave as one: what one deletes,
//! locks or edits the other's cache stops serving within a second (LISTEN /
//! NOTIFY), also after the listener lost its connection; lockout and
//! passwordless windows count across both.

mod common;

use authnzd_proto::Refusal;
use std::time::{Duration, Instant};

use common::{PW, Scratch, TestServer, postgres_admin_url};
use serde_json::{Value, json};

/// The bound the README promises for PostgreSQL.
const WITHIN: Duration = Duration::from_secs(1);

/// Polls `check` on `s` until it holds; how long that took (panics past
/// `bound`).
async fn until(bound: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            return started.elapsed();
        }
        assert!(started.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn pair(
    tweak: impl Fn(&mut authnzd::config::Config) + Copy,
) -> (Scratch, TestServer, TestServer) {
    let (scratch, url) = Scratch::create(&postgres_admin_url()).await;
    let a = TestServer::start_on(&url, tweak).await;
    let b = TestServer::start_beside(&a, tweak).await;
    (scratch, a, b)
}

fn full_name(r: &authnzd_client::Reply) -> Value {
    r.response["session_info"]["full_name"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_locks_and_edits_through_one_are_seen_by_the_other_within_a_second() {
    // A cache TTL far longer than the test: only invalidation can explain
    // what B sees.
    let (scratch, a, b) = pair(|c| c.sessions.session_cache_ttl = 3600).await;
    let uid = a.verified_user("shared@example.com", PW).await;

    // A session deleted through A.
    let token = a.session_for(Some(uid), 1).await;
    assert!(b.session_alive(&token).await, "B caches it");
    assert!(b.session_alive(&token).await);
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    let took = until(WITHIN, "deleted session refused by B", async || {
        !b.session_alive(&token).await
    })
    .await;
    eprintln!("session delete seen by the other process after {took:?}");

    // A user edited through A.
    let token = a.session_for(Some(uid), 1).await;
    assert_eq!(full_name(&b.session_exists(&token).await), "Test Person");
    a.edit_user(uid, json!({"full_name": "Renamed Person"}))
        .await;
    let took = until(WITHIN, "edit seen by B", async || {
        full_name(&b.session_exists(&token).await) == "Renamed Person"
    })
    .await;
    eprintln!("user edit seen by the other process after {took:?}");

    // A user locked through A: B refuses the user's sessions.
    assert!(b.session_alive(&token).await);
    a.lock_user(uid, "lock").await;
    let took = until(WITHIN, "locked user's session refused by B", async || {
        !b.session_alive(&token).await
    })
    .await;
    eprintln!("user lock seen by the other process after {took:?}");
    a.lock_user(uid, "unlock").await;

    // The listener's connection killed: notifications meanwhile are lost,
    // and the reconnection flushes B's cache.
    let token = a.session_for(Some(uid), 1).await;
    assert!(b.session_alive(&token).await);
    let admin = sea_orm::Database::connect(&postgres_admin_url())
        .await
        .expect("admin connection");
    use sea_orm::ConnectionTrait;
    let killed = admin
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DbBackend::Postgres,
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = '{}' AND query LIKE 'LISTEN%'",
                scratch.name
            ),
        ))
        .await
        .expect("terminate listeners");
    assert_eq!(killed.len(), 2, "one listener per process");
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    until(
        Duration::from_secs(5),
        "session refused by B after its listener came back",
        async || !b.session_alive(&token).await,
    )
    .await;
    // And invalidations flow again.
    let token = a.session_for(Some(uid), 1).await;
    assert!(b.session_alive(&token).await);
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    until(WITHIN, "delete after the reconnection", async || {
        !b.session_alive(&token).await
    })
    .await;
    admin.close().await.ok();
    a.stop().await;
    b.stop().await;
    scratch.drop_database().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lockout_and_passwordless_windows_hold_across_both() {
    let (scratch, a, b) = pair(|c| {
        c.lockout.user_lock_tries = 2;
        c.lockout.failed_login_delay_ms = 0;
        c.passwordless.passwordless_per_address = 3;
    })
    .await;
    let email = "guessed@example.com";
    a.verified_user(email, PW).await;
    for s in [&a, &b, &a] {
        assert!(!s.try_login(email, "wrong wrong wrong").await.success);
    }
    let r = b.try_login(email, PW).await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked), "{r:?}");

    // An address without an account locks after as many failures, in
    // either process: the answers do not tell which addresses have one.
    let nobody = "nobody-here@example.com";
    let mut reasons = Vec::new();
    for s in [&a, &b, &a, &b] {
        let r = s.try_login(nobody, "wrong wrong wrong").await;
        reasons.push(r.refusal());
    }
    let known: Vec<Option<Refusal>> = {
        let twin = "twin@example.com";
        a.verified_user(twin, PW).await;
        let mut v = Vec::new();
        for s in [&a, &b, &a, &b] {
            let r = s.try_login(twin, "wrong wrong wrong").await;
            v.push(r.refusal());
        }
        v
    };
    assert_eq!(
        reasons, known,
        "an unknown address and an account answer alike"
    );
    assert_eq!(reasons[2], Some(Refusal::AccountLocked), "{reasons:?}");

    let start = json!({"channel": "email", "address": "magic@example.com", "create_user": true});
    for s in [&a, &b, &a] {
        s.ok("passwordless-start", start.clone()).await;
    }
    assert_eq!(
        b.refused("passwordless-start", start.clone()).await,
        a.refused("passwordless-start", start).await,
        "both refuse the fourth"
    );
    a.stop().await;
    b.stop().await;
    scratch.drop_database().await;
}
