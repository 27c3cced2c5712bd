//! Two processes on one database behave as one.
//!
//! On PostgreSQL (the local server whatever the backend the other tests
//! use; CI runs it): what one deletes, locks or edits the other's cache
//! stops serving within a second (LISTEN / NOTIFY), also after the listener
//! lost its connection; lockout and passwordless windows count across both.
//!
//! On the backend the other tests use (one SQLite file by default, MariaDB
//! or PostgreSQL with `AUTHNZD_TEST_DATABASE_URL`): a logout or a lock
//! through one is refused by the other within two seconds (the
//! invalidation log), also when the outbox overflowed or the log refused
//! writes for a while; the log is pruned but never loses its newest id.

mod common;

use authnzd_proto::Refusal;
use std::time::{Duration, Instant};

use common::concurrency::at_once;
use common::{PW, Scratch, TestServer, postgres_admin_url};
use serde_json::{Value, json};

/// The bound the README promises for PostgreSQL.
const WITHIN: Duration = Duration::from_secs(1);
/// The bound the tests hold every backend to: the log is read every second.
const WITHIN_POLL: Duration = Duration::from_secs(2);

/// Polls `check` on `s` until it holds; how long that took (panics past
/// `bound`).
async fn until(bound: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    loop {
        if check().await {
            let took = started.elapsed();
            eprintln!("{}: {what} after {took:?}", backend());
            return took;
        }
        assert!(started.elapsed() < bound, "{what}: not within {bound:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `token` deleted through `a`: `b` refuses it within `WITHIN`.
async fn deleted_through(a: &TestServer, b: &TestServer, token: &str, what: &str) {
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    until(WITHIN, what, async || !b.session_alive(token).await).await;
}

async fn pair(
    tweak: impl Fn(&mut authnzd::config::Config) + Copy,
) -> (Scratch, TestServer, TestServer) {
    let (scratch, url) = Scratch::create(&postgres_admin_url()).await;
    let a = TestServer::start_on(&url, tweak).await;
    let b = TestServer::start_beside(&a, tweak).await;
    (scratch, a, b)
}

/// Two processes on the database the other tests use (the second on the
/// first's SQLite file, or its scratch database). Stop `b` first: `a`
/// owns the database.
async fn pair_here(
    tweak: impl Fn(&mut authnzd::config::Config) + Copy,
) -> (TestServer, TestServer) {
    let a = TestServer::start_with(tweak).await;
    let b = TestServer::start_beside(&a, tweak).await;
    (a, b)
}

fn backend() -> String {
    std::env::var("AUTHNZD_TEST_DATABASE_URL")
        .ok()
        .and_then(|u| u.split_once(':').map(|(scheme, _)| scheme.to_owned()))
        .unwrap_or_else(|| "sqlite".into())
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
    deleted_through(&a, &b, &token, "deleted session refused by B").await;

    // A user edited through A.
    let token = a.session_for(Some(uid), 1).await;
    assert_eq!(full_name(&b.session_exists(&token).await), "Test Person");
    a.edit_user(uid, json!({"full_name": "Renamed Person"}))
        .await;
    until(WITHIN, "edit seen by B", async || {
        full_name(&b.session_exists(&token).await) == "Renamed Person"
    })
    .await;

    // A user locked through A: B refuses the user's sessions.
    assert!(b.session_alive(&token).await);
    a.lock_user(uid, "lock").await;
    until(WITHIN, "locked user's session refused by B", async || {
        !b.session_alive(&token).await
    })
    .await;
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
    deleted_through(&a, &b, &token, "delete after the reconnection").await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_or_lock_through_one_is_refused_by_the_other_within_two_seconds() {
    // A cache TTL far longer than the test: only the log (or NOTIFY) can
    // explain what the other process sees.
    let (a, b) = pair_here(|c| c.sessions.session_cache_ttl = 3600).await;
    let uid = a.verified_user("shared-here@example.com", PW).await;

    // A logout through A, seen by B.
    let (_, token) = a
        .login("shared-here@example.com", PW)
        .await
        .expect("logs in");
    assert!(b.session_alive(&token).await, "B admits it (and caches it)");
    assert!(b.session_alive(&token).await);
    a.ok(
        "user-logout",
        json!({"session_token": token, "user_id": uid}),
    )
    .await;
    assert!(!a.session_alive(&token).await, "A refuses it at once");
    until(WITHIN_POLL, "logged-out session refused by B", async || {
        !b.session_alive(&token).await
    })
    .await;

    // The other way: a lock through B, seen by A.
    let token = a.session_for(Some(uid), 1).await;
    assert!(a.session_alive(&token).await);
    assert!(b.session_alive(&token).await);
    b.lock_user(uid, "lock").await;
    until(
        WITHIN_POLL,
        "locked user's session refused by A",
        async || !a.session_alive(&token).await,
    )
    .await;
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logouts_the_full_outbox_had_no_room_for_still_reach_the_other_within_two_seconds() {
    // An outbox of one: a burst of logouts overflows it, and what did not
    // fit reaches B only as "drop everything".
    let (a, b) = pair_here(|c| {
        c.sessions.session_cache_ttl = 3600;
        c.sessions.invalidation_outbox = 1;
    })
    .await;
    let uid = a.verified_user("burst@example.com", PW).await;
    let overflowed = || a.running().app.metrics.invalidations.outbox_full.get();
    let mut bursts = 0;
    while overflowed() == 0 {
        bursts += 1;
        assert!(bursts <= 10, "ten bursts never overflowed an outbox of one");
        let mut tokens = Vec::new();
        for _ in 0..48 {
            tokens.push(a.session_for(Some(uid), 1).await);
        }
        for t in &tokens {
            assert!(b.session_alive(t).await, "B admits (and caches) each first");
        }
        let deletes = tokens.iter().map(|t| json!({"session_token": t}));
        for r in at_once(&a.client, "session-delete", deletes).await {
            assert!(r.success, "{r:?}");
        }
        let took = until(
            WITHIN_POLL,
            "every deleted session refused by B",
            async || {
                for t in &tokens {
                    if b.session_alive(t).await {
                        return false;
                    }
                }
                true
            },
        )
        .await;
        eprintln!(
            "{}: burst {bursts} ({} invalidations found the outbox full so far) seen by the \
             other process after {took:?}",
            backend(),
            overflowed()
        );
    }
    let published = a
        .running()
        .app
        .metrics
        .invalidations
        .flush_all_published
        .get();
    assert!(published >= 1, "the overflow was replaced by a flush-all");
    b.stop().await;
    a.stop().await;
}

/// Statements that make the log refuse every insert (a trigger), and undo it.
fn refuse_log_inserts(backend: sea_orm::DbBackend) -> (Vec<&'static str>, Vec<&'static str>) {
    match backend {
        sea_orm::DbBackend::Sqlite => (
            vec![
                "CREATE TRIGGER refuse_log BEFORE INSERT ON cache_invalidations \
                 BEGIN SELECT RAISE(ABORT, 'refused by the test'); END",
            ],
            vec!["DROP TRIGGER refuse_log"],
        ),
        sea_orm::DbBackend::MySql => (
            vec![
                "CREATE TRIGGER refuse_log BEFORE INSERT ON cache_invalidations FOR EACH ROW \
                 SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused by the test'",
            ],
            vec!["DROP TRIGGER refuse_log"],
        ),
        _ => (
            vec![
                "CREATE FUNCTION refuse_log() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$",
                "CREATE TRIGGER refuse_log BEFORE INSERT ON cache_invalidations \
                 FOR EACH STATEMENT EXECUTE FUNCTION refuse_log()",
            ],
            vec![
                "DROP TRIGGER refuse_log ON cache_invalidations",
                "DROP FUNCTION refuse_log()",
            ],
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_the_log_refused_reaches_the_other_once_the_log_takes_writes_again() {
    use sea_orm::ConnectionTrait;
    let (a, b) = pair_here(|c| c.sessions.session_cache_ttl = 3600).await;
    let uid = a.verified_user("refused-log@example.com", PW).await;
    let token = a.session_for(Some(uid), 1).await;
    assert!(b.session_alive(&token).await, "B admits (and caches) it");

    let db = sea_orm::Database::connect(&a.config.database.database_url)
        .await
        .expect("a connection of the test's own");
    let (refuse, allow) = refuse_log_inserts(db.get_database_backend());
    for sql in refuse {
        db.execute_unprepared(sql).await.expect("trigger made");
    }
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    let failed = || a.running().app.metrics.invalidations.publish_failed.get();
    until(
        Duration::from_secs(5),
        "A gave up writing the logout",
        async || failed() >= 1,
    )
    .await;
    assert!(
        b.session_alive(&token).await,
        "B cannot know yet (its cache is all it has)"
    );

    for sql in allow {
        db.execute_unprepared(sql).await.expect("trigger dropped");
    }
    // A keeps trying to publish "drop everything" (its retries wait up to
    // 1.5 s), and B reads it within a second.
    until(
        Duration::from_secs(4),
        "deleted session refused by B once the log took writes",
        async || !b.session_alive(&token).await,
    )
    .await;
    assert!(
        a.running()
            .app
            .metrics
            .invalidations
            .flush_all_published
            .get()
            >= 1
    );
    db.close().await.ok();
    b.stop().await;
    a.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_is_pruned_but_its_newest_row_stays() {
    use sea_orm::ConnectionTrait;
    let a = TestServer::start_with(|_| {}).await;
    let app = a.running().app.clone();
    let uid = a.verified_user("pruned@example.com", PW).await;
    for _ in 0..3 {
        let token = a.session_for(Some(uid), 1).await;
        a.ok("session-delete", json!({"session_token": token}))
            .await;
    }
    let published = || app.metrics.invalidations.published.get();
    until(WITHIN_POLL, "the deletes written to the log", async || {
        published() >= 3
    })
    .await;
    let db = sea_orm::Database::connect(&a.config.database.database_url)
        .await
        .expect("a connection of the test's own");
    let count_and_newest = async || {
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                "SELECT COUNT(*), MAX(id) FROM cache_invalidations",
            ))
            .await
            .expect("log read")
            .expect("one row");
        (
            row.try_get_by_index::<i64>(0).expect("count"),
            row.try_get_by_index::<i64>(1).expect("newest id"),
        )
    };
    let (rows, newest) = count_and_newest().await;
    assert!(rows >= 3, "{rows} rows");

    // Recent rows stay; once older than five minutes all but the newest go.
    authnzd::instances::prune(&app).await;
    assert_eq!(count_and_newest().await, (rows, newest));
    a.clock.advance(chrono::Duration::minutes(6));
    authnzd::instances::prune(&app).await;
    assert_eq!(count_and_newest().await, (1, newest));

    // Ids go on from there.
    let token = a.session_for(Some(uid), 1).await;
    a.ok("session-delete", json!({"session_token": token}))
        .await;
    until(WITHIN_POLL, "the next delete written", async || {
        count_and_newest().await.1 > newest
    })
    .await;
    db.close().await.ok();
    a.stop().await;
}
