//! The audit log: security actions write events, `audit-list` reads them
//! back newest first with its filters, nothing personal is stored in clear,
//! and old events are pruned.

mod common;

use authnzd_proto::Refusal;
use std::time::Duration;

use common::{PW, PW2, TestServer, session_new_body};
use serde_json::{Value, json};

/// `audit-list` with `body`, asserted to succeed: the events.
async fn listed(s: &TestServer, body: Value) -> Vec<Value> {
    s.ok("audit-list", body).await["events"]
        .as_array()
        .expect("events")
        .clone()
}

fn names(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().expect("event"))
        .collect()
}

#[tokio::test]
async fn security_actions_are_listed_newest_first_with_filters() {
    let s = TestServer::with_lockout(5, 0).await;
    let email = "audited@example.com";
    let uid = s.verified_user(email, PW).await;
    let other = s.verified_user("bystander@example.com", PW).await;
    assert!(!s.try_login(email, "not the password at all").await.success);
    let (_, session) = s.login(email, PW).await.expect("login");
    s.ok(
        "user-changepass",
        json!({"user_id": uid, "session_token": session, "email": email, "full_name": "Test Person",
               "current_password": PW, "new_password": PW2}),
    )
    .await;
    s.ok(
        "user-resetpass-nosession",
        json!({"email_address": email, "new_password": PW, "required_active": true}),
    )
    .await;
    s.lock_user(uid, "lock").await;
    s.lock_user(uid, "unlock").await;
    s.login("bystander@example.com", PW).await.expect("login");

    let all = listed(&s, json!({})).await;
    let ids: Vec<i64> = all.iter().map(|e| e["id"].as_i64().expect("id")).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let mine = listed(&s, json!({"user_id": uid})).await;
    assert_eq!(
        names(&mine),
        [
            "user-unlocked",
            "user-locked",
            "password-reset",
            "password-changed",
            "login",
            "login-failed"
        ]
    );
    assert!(mine.iter().all(|e| e["user_id"] == uid));
    assert_eq!(mine[1]["detail"]["by"], "internal");
    assert_eq!(mine[5]["detail"]["reason"], Refusal::WrongPassword.as_str());
    let logins = listed(&s, json!({"event": "login"})).await;
    assert_eq!(logins.len(), 2);
    assert_eq!(logins[0]["user_id"], other, "the later login first");
    let two = listed(&s, json!({"limit": 2})).await;
    assert_eq!(two, all[..2].to_vec());

    // Emails and IPs only as keyed digests.
    let text = serde_json::to_string(&all).expect("json");
    assert!(!text.contains('@'), "an email in the audit log: {text}");
    assert!(!text.contains(common::IP), "an IP in the audit log: {text}");
    let email_digest = &mine[4]["detail"]["email"];
    assert_eq!(email_digest.as_str().map(str::len), Some(64));
    assert_eq!(&mine[5]["detail"]["email"], email_digest, "it correlates");

    // `since`: nothing from the future, everything from the past.
    let later = (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339();
    assert!(listed(&s, json!({"since": later})).await.is_empty());
    let earlier = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    assert_eq!(listed(&s, json!({"since": earlier})).await.len(), all.len());
    for bad in [
        json!({"limit": 0}),
        json!({"limit": 1001}),
        json!({"limit": -1}),
        json!({"since": "yesterday"}),
    ] {
        let reason = s.refused("audit-list", bad.clone()).await;
        assert!(matches!(reason, Refusal::Invalid(_)), "{bad}: {reason}");
    }
    s.refuses(
        "audit-list",
        json!({"limit": "10"}),
        Refusal::InvalidParameters,
    )
    .await;
    assert_eq!(listed(&s, json!({"limit": 1000})).await.len(), all.len());
}

#[tokio::test]
async fn a_lockout_is_audited_with_its_failures() {
    let s = TestServer::with_lockout(2, 0).await;
    let email = "locked-out@example.com";
    let uid = s.verified_user(email, PW).await;
    for _ in 0..3 {
        s.try_login(email, "wrong wrong wrong wrong").await;
    }
    // Two tries, both wrong; the third guess finds none left, locks the
    // account and is not compared.
    let events = listed(&s, json!({"user_id": uid, "event": "account-locked"})).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["failures"], 2);
    let failed = listed(&s, json!({"user_id": uid, "event": "login-failed"})).await;
    assert_eq!(failed.len(), 3);
    assert_eq!(
        failed[0]["detail"]["reason"],
        Refusal::AccountLocked.as_str()
    );
}

#[tokio::test]
async fn rate_limit_hits_are_audited_once_a_minute_per_client_and_limit() {
    let s = TestServer::with_session_new_limit(2).await;
    let mut limited = 0;
    for _ in 0..6 {
        let r = s.call("session-new", session_new_body(None, 1)).await;
        limited += usize::from(r.status == 429);
    }
    assert_eq!(limited, 4);
    let events = listed(&s, json!({"event": "rate-limited"})).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail"]["request"], "session-new");
    assert_eq!(events[0]["detail"]["limit"], "action");
    assert_eq!(events[0]["ip_hash"].as_str().map(str::len), Some(64));
    // Another client's hit is its own event.
    let other = s.client_from("198.51.100.9");
    for _ in 0..3 {
        common::call(&other, "session-new", session_new_body(None, 1)).await;
    }
    assert_eq!(listed(&s, json!({"event": "rate-limited"})).await.len(), 2);
}

#[tokio::test]
async fn events_older_than_the_retention_are_pruned() {
    let mut s = TestServer::start_with(|c| c.ops.audit_retention_days = 1).await;
    let uid = s.verified_user("pruned@example.com", PW).await;
    s.lock_user(uid, "lock").await;
    assert_eq!(
        names(&listed(&s, json!({"user_id": uid})).await),
        ["user-locked"]
    );
    s.clock.advance(chrono::Duration::hours(25));
    s.lock_user(uid, "unlock").await;
    // The prune runs at start-up (and hourly). The first server's start-up
    // pass may itself land after the clock moved (a busy machine), so only
    // the end state is asserted: the old event gone, the new one kept.
    s.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let left = listed(&s, json!({"user_id": uid})).await;
        if names(&left) == ["user-unlocked"] {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not pruned: {left:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
