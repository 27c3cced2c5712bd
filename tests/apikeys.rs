//! Both API-key families over the wire: issue, verify, tampering, expiry and
//! not-before with the settable clock, revoke, revoke-all, refresh rotation,
//! and what the database keeps.

mod common;

use authnzd::security::tokens;
use authnzd_client::Reply;
use chrono::Duration;
use common::{TestServer, session_new_body};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::{Map, Value, json};

const PW: &str = "tangerine-Voyage-8713-quartz";
const IP: &str = "203.0.113.7";
const UA: &str = "Mozilla/5.0 (integration test)";

async fn call(s: &TestServer, request: &str, body: Value) -> Reply {
    s.client.request(request, body).await.expect(request)
}

/// A verified user and a session of theirs lasting `days`.
async fn user_with_session(s: &TestServer, email: &str, days: i64) -> (i64, String) {
    let id = s.verified_user(email, PW).await;
    let made = call(s, "session-new", session_new_body(Some(id), days * 24)).await;
    assert!(made.success, "{made:?}");
    (
        id,
        made.response["session_token"].as_str().unwrap().to_owned(),
    )
}

fn key_dict(r: &Reply) -> Map<String, Value> {
    assert!(r.success, "{r:?}");
    let text = r.response["apikey"]
        .as_str()
        .expect("apikey is a JSON string");
    serde_json::from_str(text).expect("apikey JSON")
}

fn key_body(dict: &Map<String, Value>, user_id: i64, role: &str) -> Value {
    json!({"apikey_dict": dict, "user_id": user_id, "user_role": role})
}

fn new_body(user_id: i64, role: &str, session: &str, days: i64, nbf: f64) -> Value {
    json!({"issuer": "authnzd-tests", "audience": "api.example.com", "subject": "/api/v1",
           "apiversion": 1, "expires_days": days, "not_valid_before": nbf,
           "user_id": user_id, "user_role": role, "ip_address": IP, "user_agent": UA,
           "session_token": session})
}

fn new_free_body(
    user_id: i64,
    role: &str,
    expires: i64,
    refresh_expires: i64,
    refresh_nbf: f64,
) -> Value {
    json!({"issuer": "authnzd-tests", "audience": "api.example.com", "subject": "/api/v1",
           "apiversion": "v1", "expires_seconds": expires, "not_valid_before": 0,
           "user_id": user_id, "user_role": role, "ip_address": IP,
           "refresh_expires": refresh_expires, "refresh_nbf": refresh_nbf})
}

/// The hashes stored in `table`'s `column`.
async fn stored(s: &TestServer, table: &str, column: &str) -> Vec<String> {
    let db = Database::connect(&s.config.database.database_url)
        .await
        .unwrap();
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            format!("SELECT {column} FROM {table}"),
        ))
        .await
        .unwrap();
    let out = rows
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect();
    db.close().await.ok();
    out
}

#[tokio::test]
async fn session_bound_key_lifecycle() {
    let s = TestServer::start().await;
    let (uid, session) = user_with_session(&s, "keyholder@example.com", 30).await;
    let (other, _) = user_with_session(&s, "bystander@example.com", 30).await;

    let made = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &session, 7, 0.0),
    )
    .await;
    let dict = key_dict(&made);
    for claim in [
        "iss", "ver", "uid", "rol", "usa", "aud", "sub", "ipa", "tkn", "iat", "nbf", "exp",
    ] {
        assert!(dict.contains_key(claim), "{claim} in {dict:?}");
    }
    assert_eq!(dict["uid"], uid);
    assert_eq!(dict["aud"], "api.example.com");
    let token = dict["tkn"].as_str().unwrap();
    assert_eq!(token.len(), 43, "secrets.token_urlsafe(32) shape");
    assert_eq!(made.response["expires"], dict["exp"]);
    // Only the digest is stored.
    assert_eq!(
        stored(&s, "apikeys", "apikey_hash").await,
        vec![tokens::digest(token)]
    );

    let ok = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(ok.success, "{ok:?}");
    assert!(ok.messages[0].starts_with("API key verified successfully"));

    // Any edited claim, or another token, is refused.
    for (claim, value) in [
        ("aud", json!("evil.example.com")),
        ("iss", json!("someone-else")),
        ("exp", json!("2099-01-01T00:00:00+00:00")),
        ("tkn", json!("A".repeat(43))),
    ] {
        let mut forged = dict.clone();
        forged.insert(claim.into(), value);
        let r = call(&s, "apikey-verify", key_body(&forged, uid, "authenticated")).await;
        assert!(!r.success, "edited {claim} passed");
        assert_eq!(
            r.failure_reason.as_deref(),
            Some("key validation failed, provided key does not match stored key or has expired")
        );
    }
    // Another authenticated user may not look at it; a superuser may.
    let r = call(&s, "apikey-verify", key_body(&dict, other, "authenticated")).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("originating user is not allowed to operate on this API key")
    );
    let r = call(&s, "apikey-verify", key_body(&dict, 1, "superuser")).await;
    assert!(r.success, "{r:?}");

    // Expiry follows the server's clock.
    s.clock.advance(Duration::days(7) + Duration::seconds(1));
    let r = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(!r.success, "expired key passed");

    // Revoke: the key is gone, a second revoke finds nothing.
    let made = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &session, 7, 0.0),
    )
    .await;
    let dict = key_dict(&made);
    let r = call(&s, "apikey-revoke", key_body(&dict, other, "authenticated")).await;
    assert!(!r.success, "a bystander revoked it");
    let r = call(&s, "apikey-revoke", key_body(&dict, uid, "authenticated")).await;
    assert!(r.success, "{r:?}");
    let r = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(!r.success);
    let r = call(&s, "apikey-revoke", key_body(&dict, uid, "authenticated")).await;
    assert!(!r.success);
    s.stop().await;
}

#[tokio::test]
async fn session_bound_keys_need_the_session_and_die_with_it() {
    let s = TestServer::start().await;
    let (uid, session) = user_with_session(&s, "keyholder@example.com", 30).await;

    // The session must be the caller's, as it stands.
    let mut body = new_body(uid, "authenticated", &session, 7, 0.0);
    body["user_agent"] = json!("curl/8");
    let r = call(&s, "apikey-new", body).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("invalid session for user requesting API key issuance")
    );
    let anon = s.anon_session().await;
    let r = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &anon, 7, 0.0),
    )
    .await;
    assert!(!r.success);
    // Anonymous users may not have keys at all.
    let r = call(&s, "apikey-new", new_body(2, "anonymous", &anon, 7, 0.0)).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("user not allowed to issue API key")
    );
    // Lifetimes are bounded.
    let r = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &session, 0, 0.0),
    )
    .await;
    assert!(!r.success && r.failure_reason.unwrap().contains("expires_days"));
    let r = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &session, 7, -5.0),
    )
    .await;
    assert!(!r.success && r.failure_reason.unwrap().contains("not_valid_before"));

    // Not valid before an hour from now.
    let made = call(
        &s,
        "apikey-new",
        new_body(uid, "authenticated", &session, 7, 3600.0),
    )
    .await;
    let dict = key_dict(&made);
    let r = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(!r.success, "verified before not_valid_before");
    s.clock.advance(Duration::seconds(3601));
    let r = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(r.success, "{r:?}");

    // Logging the session out ends the key.
    let r = call(&s, "session-delete", json!({"session_token": session})).await;
    assert!(r.success, "{r:?}");
    let r = call(&s, "apikey-verify", key_body(&dict, uid, "authenticated")).await;
    assert!(!r.success, "key outlived its session");
    s.stop().await;
}

#[tokio::test]
async fn session_less_key_refresh_rotates_and_expires() {
    let s = TestServer::start().await;
    let uid = s.verified_user("robot@example.com", PW).await;

    let made = call(
        &s,
        "apikey-new-nosession",
        new_free_body(uid, "authenticated", 600, 86_400, 300.0),
    )
    .await;
    let dict = key_dict(&made);
    assert!(!dict.contains_key("usa"));
    let refresh = made.response["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh.len(), 43);
    assert!(made.response["refresh_token_expires"].is_string());
    assert_eq!(
        stored(&s, "apikeys_nosession", "refresh_token_hash").await,
        vec![tokens::digest(&refresh)]
    );
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&dict, uid, "authenticated"),
    )
    .await;
    assert!(r.success, "{r:?}");

    let refresh_body = |dict: &Map<String, Value>, token: &str, ip: &str| {
        json!({"apikey_dict": dict, "user_id": uid, "user_role": "authenticated",
               "refresh_token": token, "ip_address": ip, "expires_seconds": 600,
               "not_valid_before": 0, "refresh_expires": 86_400, "refresh_nbf": 300})
    };
    // Not before refresh_nbf.
    let r = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&dict, &refresh, "198.51.100.4"),
    )
    .await;
    assert!(!r.success, "refreshed before refresh_nbf");
    s.clock.advance(Duration::seconds(301));
    // A wrong refresh token, or an edited key, is refused.
    let r = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&dict, &"B".repeat(43), "198.51.100.4"),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("provided refresh token does not match stored refresh token")
    );
    let mut forged = dict.clone();
    forged.insert("sub".into(), json!("/admin"));
    let r = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&forged, &refresh, "198.51.100.4"),
    )
    .await;
    assert!(!r.success, "an edited key was refreshed");

    // The access key may expire; its refresh token still works.
    s.clock.advance(Duration::seconds(600));
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&dict, uid, "authenticated"),
    )
    .await;
    assert!(!r.success, "expired key passed");
    let fresh = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&dict, &refresh, "198.51.100.4"),
    )
    .await;
    let new_dict = key_dict(&fresh);
    assert_ne!(new_dict["tkn"], dict["tkn"]);
    assert_eq!(new_dict["ipa"], "198.51.100.4");
    assert_eq!(new_dict["sub"], dict["sub"]);
    let new_refresh = fresh.response["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new_refresh, refresh);
    // The old pair is spent.
    let r = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&dict, &refresh, "198.51.100.4"),
    )
    .await;
    assert!(!r.success, "a spent refresh token worked twice");
    s.clock.advance(Duration::seconds(301));
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&new_dict, uid, "authenticated"),
    )
    .await;
    assert!(r.success, "{r:?}");
    assert_eq!(
        stored(&s, "apikeys_nosession", "apikey_hash").await.len(),
        1
    );

    // After refresh_expires the refresh token is dead too.
    s.clock.advance(Duration::seconds(86_400));
    let r = call(
        &s,
        "apikey-refresh-nosession",
        refresh_body(&new_dict, &new_refresh, IP),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("provided API key has no stored refresh token, probably invalid")
    );
    s.stop().await;
}

#[tokio::test]
async fn session_less_revoke_and_revoke_all() {
    let s = TestServer::start().await;
    let uid = s.verified_user("robot@example.com", PW).await;
    let other = s.verified_user("bystander@example.com", PW).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let made = call(
            &s,
            "apikey-new-nosession",
            new_free_body(uid, "authenticated", 3600, 86_400, 0.0),
        )
        .await;
        keys.push(key_dict(&made));
    }
    let theirs = key_dict(
        &call(
            &s,
            "apikey-new-nosession",
            new_free_body(other, "authenticated", 3600, 86_400, 0.0),
        )
        .await,
    );

    // One revoked.
    let r = call(
        &s,
        "apikey-revoke-nosession",
        key_body(&keys[0], uid, "authenticated"),
    )
    .await;
    assert!(r.success, "{r:?}");
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&keys[0], uid, "authenticated"),
    )
    .await;
    assert!(!r.success);

    // Revoke-all needs a valid key: a revoked or edited one is refused.
    let r = call(
        &s,
        "apikey-revokeall-nosession",
        key_body(&keys[0], uid, "authenticated"),
    )
    .await;
    assert!(!r.success);
    let mut forged = keys[1].clone();
    forged.insert("rol".into(), json!("superuser"));
    let r = call(
        &s,
        "apikey-revokeall-nosession",
        key_body(&forged, uid, "authenticated"),
    )
    .await;
    assert!(!r.success);
    let r = call(
        &s,
        "apikey-revokeall-nosession",
        key_body(&keys[1], other, "authenticated"),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("originating user is not allowed to delete API keys")
    );
    let r = call(
        &s,
        "apikey-revokeall-nosession",
        key_body(&keys[1], uid, "authenticated"),
    )
    .await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["revoked_keys"], 2);
    for k in &keys {
        let r = call(
            &s,
            "apikey-verify-nosession",
            key_body(k, uid, "authenticated"),
        )
        .await;
        assert!(!r.success);
    }
    // Other users' keys are untouched.
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&theirs, other, "authenticated"),
    )
    .await;
    assert!(r.success, "{r:?}");

    // Issues and revocations are in the audit log.
    let mut events = stored(&s, "audit_events", "event").await;
    events.sort();
    assert_eq!(
        events,
        [
            "apikey-issue",
            "apikey-issue",
            "apikey-issue",
            "apikey-issue",
            "apikey-revoke",
            "apikey-revoke-all"
        ]
    );

    // A locked owner's keys stop verifying.
    let r = call(
        &s,
        "internal-user-lock",
        json!({"target_userid": other, "action": "lock"}),
    )
    .await;
    assert!(r.success, "{r:?}");
    let r = call(
        &s,
        "apikey-verify-nosession",
        key_body(&theirs, 1, "superuser"),
    )
    .await;
    assert!(!r.success, "a locked user's key passed");
    s.stop().await;
}

#[tokio::test]
async fn keys_are_refused_to_roles_the_policy_excludes() {
    let s = TestServer::start().await;
    let r = call(
        &s,
        "apikey-new-nosession",
        new_free_body(2, "anonymous", 600, 3600, 0.0),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("originating user is not allowed to issue an API key")
    );
    // A user claiming a role it does not hold is refused too.
    let uid = s.verified_user("robot@example.com", PW).await;
    let r = call(
        &s,
        "apikey-new-nosession",
        new_free_body(uid, "staff", 600, 3600, 0.0),
    )
    .await;
    assert!(!r.success);
    let r = call(
        &s,
        "apikey-new-nosession",
        new_free_body(uid, "authenticated", 0, 3600, 0.0),
    )
    .await;
    assert!(r.failure_reason.unwrap().contains("expires_seconds"));
    s.stop().await;
}
