//! session-new / session-exists / session-delete over the wire.

mod common;

use authnzd::security::tokens;
use chrono::Duration;
use common::{TestServer, session_new_body};
use entity::sessions;
use sea_orm::EntityTrait;
use serde_json::json;

#[tokio::test]
async fn session_lifecycle() {
    let s = TestServer::start().await;
    let c = &s.client;

    let created = c
        .request("session-new", session_new_body(None, 1))
        .await
        .unwrap();
    assert!(created.success, "{created:?}");
    let token = created.response["session_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(token.len() >= 43, "256-bit token");
    assert!(
        created.response["expires"]
            .as_str()
            .unwrap()
            .ends_with("+00:00")
    );

    let found = c
        .request("session-exists", json!({"session_token": token}))
        .await
        .unwrap();
    assert!(found.success, "{found:?}");
    let info = &found.response["session_info"];
    for field in [
        "user_id",
        "system_id",
        "full_name",
        "email",
        "extra_info",
        "email_verified",
        "emailverify_sent_datetime",
        "is_active",
        "last_login_try",
        "last_login_success",
        "created_on",
        "user_role",
        "session_token",
        "ip_address",
        "user_agent",
        "created",
        "expires",
        "extra_info_json",
    ] {
        assert!(
            info.get(field).is_some(),
            "session_info lacks {field}: {info}"
        );
    }
    // A null user_id is the anonymous user, as in authnzerver.
    assert_eq!(info["user_id"], 2);
    assert_eq!(info["user_role"], "anonymous");
    assert_eq!(info["email"], "anonuser@localhost");
    assert_eq!(info["session_token"], token.as_str());
    assert_eq!(info["ip_address"], "203.0.113.7");
    assert_eq!(info["extra_info_json"], json!({"purpose": "test"}));

    let deleted = c
        .request("session-delete", json!({"session_token": token}))
        .await
        .unwrap();
    assert!(deleted.success, "{deleted:?}");
    let gone = c
        .request("session-exists", json!({"session_token": token}))
        .await
        .unwrap();
    assert!(!gone.success);
    assert_eq!(
        gone.failure_reason.as_deref(),
        Some("session does not exist or expired")
    );
    let again = c
        .request("session-delete", json!({"session_token": token}))
        .await
        .unwrap();
    assert!(
        !again.success,
        "deleting twice reports the session was not there"
    );
}

#[tokio::test]
async fn sessions_for_a_real_user_and_for_missing_users() {
    let s = TestServer::start().await;
    let su = s
        .client
        .request("session-new", session_new_body(Some(1), 1))
        .await
        .unwrap();
    let token = su.response["session_token"].as_str().unwrap();
    let info = s
        .client
        .request("session-exists", json!({"session_token": token}))
        .await
        .unwrap();
    assert_eq!(info.response["session_info"]["user_role"], "superuser");
    assert_eq!(info.response["session_info"]["email"], "admin@localhost");

    let nobody = s
        .client
        .request("session-new", session_new_body(Some(999_999), 1))
        .await
        .unwrap();
    assert!(!nobody.success);
    assert_eq!(nobody.failure_reason.as_deref(), Some("no such user"));
}

#[tokio::test]
async fn only_the_token_digest_is_stored() {
    let s = TestServer::start().await;
    let r = s
        .client
        .request("session-new", session_new_body(None, 1))
        .await
        .unwrap();
    let token = r.response["session_token"].as_str().unwrap();
    let rows = sessions::Entity::find()
        .all(&s.running().app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash, tokens::digest(token));
    assert!(!format!("{rows:?}").contains(token));
}

#[tokio::test]
async fn expiry_is_honoured_even_for_cached_sessions() {
    let s = TestServer::start().await;
    let past = s
        .client
        .request("session-new", session_new_body(None, -1))
        .await
        .unwrap();
    assert!(past.success);
    let t = past.response["session_token"].as_str().unwrap();
    let r = s
        .client
        .request("session-exists", json!({"session_token": t}))
        .await
        .unwrap();
    assert!(
        !r.success,
        "a session created already expired does not exist"
    );

    // Expires in 30 minutes; looked up (and cached); then the clock passes it.
    let mut body = session_new_body(None, 0);
    body["expires"] = json!((chrono::Utc::now() + Duration::minutes(30)).to_rfc3339());
    let soon = s.client.request("session-new", body).await.unwrap();
    let t = soon.response["session_token"].as_str().unwrap();
    assert!(
        s.client
            .request("session-exists", json!({"session_token": t}))
            .await
            .unwrap()
            .success
    );
    s.clock.advance(Duration::minutes(31));
    let r = s
        .client
        .request("session-exists", json!({"session_token": t}))
        .await
        .unwrap();
    assert!(!r.success, "expired while cached");
}

#[tokio::test]
async fn expires_accepts_every_iso_shape() {
    let s = TestServer::start().await;
    for expires in [
        "2099-01-01T00:00:00",
        "2099-01-01T00:00:00Z",
        "2099-01-01T00:00:00.5+02:00",
    ] {
        let mut body = session_new_body(None, 1);
        body["expires"] = json!(expires);
        let r = s.client.request("session-new", body).await.unwrap();
        assert!(r.success, "{expires}: {r:?}");
    }
    let mut body = session_new_body(None, 1);
    body["expires"] = json!("next tuesday");
    let r = s.client.request("session-new", body).await.unwrap();
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("invalid expires datetime")
    );
    let mut body = session_new_body(None, 1);
    body["ip_address"] = json!("999.1.1.1");
    let r = s.client.request("session-new", body).await.unwrap();
    assert_eq!(r.failure_reason.as_deref(), Some("invalid ip_address"));
}

#[tokio::test]
async fn a_deleted_session_is_not_served_from_the_cache() {
    let s = TestServer::start().await;
    for _ in 0..20 {
        let r = s
            .client
            .request("session-new", session_new_body(None, 1))
            .await
            .unwrap();
        let t = r.response["session_token"].as_str().unwrap().to_owned();
        // Race a lookup against the delete, then check the delete won.
        let c1 = s.client.clone();
        let t1 = t.clone();
        let lookup = tokio::spawn(async move {
            c1.request("session-exists", json!({"session_token": t1}))
                .await
        });
        let del = s
            .client
            .request("session-delete", json!({"session_token": t}))
            .await
            .unwrap();
        assert!(del.success);
        lookup.await.unwrap().unwrap();
        let after = s
            .client
            .request("session-exists", json!({"session_token": t}))
            .await
            .unwrap();
        assert!(!after.success);
    }
}

#[tokio::test]
async fn sessions_long_expired_are_pruned_after_session_expiry_days() {
    use sea_orm::PaginatorTrait;
    let mut s = TestServer::start_with(|c| c.session_expiry_days = 30).await;
    let short = s
        .client
        .request("session-new", session_new_body(None, 1))
        .await
        .unwrap();
    let long = s
        .client
        .request("session-new", session_new_body(None, 24 * 40))
        .await
        .unwrap();
    let count = |s: &TestServer| {
        let db = s.running().app.db.clone();
        async move { sessions::Entity::find().count(&db).await.unwrap() }
    };
    let before = count(&s).await;
    // 29 days on: the short one has expired but is kept.
    s.clock.advance(chrono::Duration::days(29));
    s.restart().await;
    assert_eq!(count(&s).await, before);
    // 31 days after it expired it goes at the next start (and hourly).
    s.clock.advance(chrono::Duration::days(2));
    s.restart().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while count(&s).await != before - 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "expired session not pruned"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let alive = s
        .client
        .request(
            "session-exists",
            json!({"session_token": long.response["session_token"]}),
        )
        .await
        .unwrap();
    assert!(alive.success, "{alive:?}");
    let gone = s
        .client
        .request(
            "session-exists",
            json!({"session_token": short.response["session_token"]}),
        )
        .await
        .unwrap();
    assert!(!gone.success);
}
