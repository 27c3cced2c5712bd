//! Both API-key families over the wire: issue, verify, tampering, expiry and
//! not-before with the settable clock, revoke, revoke-all, refresh rotation,
//! and what the database keeps.

mod common;

use authnzd::security::tokens;
use authnzd_proto::Refusal;
use chrono::Duration;
use common::apikeys::{ANONYMOUS, Holder, Key, SUPERUSER, member};
use common::{IP, PW, TestServer, invalid_naming};
use sea_orm::{ConnectionTrait, Database, Statement};
use serde_json::json;

/// A verified user and a session of theirs lasting `days`.
async fn user_with_session(s: &TestServer, email: &str, days: i64) -> (i64, String) {
    let id = s.verified_user(email, PW).await;
    (id, s.session_for(Some(id), days * 24).await)
}

/// Issues a key by `request` with `body`.
async fn issue(s: &TestServer, request: &str, body: serde_json::Value) -> Key {
    Key::from_reply(&s.call(request, body).await)
}

/// Whether `request` accepts `key` presented by `by`.
async fn accepted(s: &TestServer, request: &str, key: &Key, by: Holder<'_>) -> bool {
    s.call(request, by.present(key)).await.success
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
    let (owner, bystander) = (member(uid), member(other));

    let key = issue(&s, "apikey-new", owner.session_key(&session, 7, 0.0)).await;
    let dict = &key.dict;
    for claim in [
        "iss", "ver", "uid", "rol", "usa", "aud", "sub", "ipa", "tkn", "iat", "nbf", "exp",
    ] {
        assert!(dict.contains_key(claim), "{claim} in {dict:?}");
    }
    assert_eq!(dict["uid"], uid);
    assert_eq!(dict["aud"], "api.example.com");
    assert_eq!(key.token().len(), 43, "secrets.token_urlsafe(32) shape");
    assert_eq!(key.response["expires"], dict["exp"]);
    // Only the digest is stored.
    assert_eq!(
        stored(&s, "apikeys", "apikey_hash").await,
        vec![tokens::digest(key.token())]
    );

    let r = s.call("apikey-verify", owner.present(&key)).await;
    assert!(r.success, "{r:?}");
    assert!(r.messages[0].starts_with("API key verified successfully"));

    // Any edited claim, or another token, is refused.
    for (claim, value) in [
        ("aud", json!("evil.example.com")),
        ("iss", json!("someone-else")),
        ("exp", json!("2099-01-01T00:00:00+00:00")),
        ("tkn", json!("A".repeat(43))),
    ] {
        let forged = key.with(claim, value);
        let r = s.call("apikey-verify", owner.present(&forged)).await;
        assert!(!r.success, "edited {claim} passed");
        assert_eq!(r.refusal(), Some(Refusal::ApikeyNotVerified));
    }
    // Another authenticated user may not look at it; a superuser may.
    s.refuses(
        "apikey-verify",
        bystander.present(&key),
        Refusal::ApikeyNotPermitted,
    )
    .await;
    s.ok("apikey-verify", SUPERUSER.present(&key)).await;

    // Expiry follows the server's clock.
    s.clock.advance(Duration::days(7) + Duration::seconds(1));
    let passed = accepted(&s, "apikey-verify", &key, owner).await;
    assert!(!passed, "expired key passed");

    // Revoke: the key is gone, a second revoke finds nothing.
    let key = issue(&s, "apikey-new", owner.session_key(&session, 7, 0.0)).await;
    let passed = accepted(&s, "apikey-revoke", &key, bystander).await;
    assert!(!passed, "a bystander revoked it");
    s.ok("apikey-revoke", owner.present(&key)).await;
    assert!(!accepted(&s, "apikey-verify", &key, owner).await);
    assert!(!accepted(&s, "apikey-revoke", &key, owner).await);
}

#[tokio::test]
async fn session_bound_keys_need_the_session_and_die_with_it() {
    let s = TestServer::start().await;
    let (uid, session) = user_with_session(&s, "keyholder@example.com", 30).await;
    let owner = member(uid);

    // The session must be the caller's, as it stands.
    let mut body = owner.session_key(&session, 7, 0.0);
    body["user_agent"] = json!("curl/8");
    s.refuses("apikey-new", body, Refusal::ApikeyInvalidSession)
        .await;
    let anon = s.anon_session().await;
    s.refused("apikey-new", owner.session_key(&anon, 7, 0.0))
        .await;
    // Anonymous users may not have keys at all.
    s.refuses(
        "apikey-new",
        ANONYMOUS.session_key(&anon, 7, 0.0),
        Refusal::ApikeyNotAllowed,
    )
    .await;
    // Lifetimes are bounded.
    let reason = s
        .refused("apikey-new", owner.session_key(&session, 0, 0.0))
        .await;
    assert!(invalid_naming(&reason, "expires_days"), "{reason}");
    let reason = s
        .refused("apikey-new", owner.session_key(&session, 7, -5.0))
        .await;
    assert!(invalid_naming(&reason, "not_valid_before"), "{reason}");

    // Not valid before an hour from now.
    let key = issue(&s, "apikey-new", owner.session_key(&session, 7, 3600.0)).await;
    let passed = accepted(&s, "apikey-verify", &key, owner).await;
    assert!(!passed, "verified before not_valid_before");
    s.clock.advance(Duration::seconds(3601));
    s.ok("apikey-verify", owner.present(&key)).await;

    // Logging the session out ends the key.
    s.ok("session-delete", json!({"session_token": session}))
        .await;
    let passed = accepted(&s, "apikey-verify", &key, owner).await;
    assert!(!passed, "key outlived its session");
}

#[tokio::test]
async fn session_less_key_refresh_rotates_and_expires() {
    let s = TestServer::start().await;
    let owner = member(s.verified_user("robot@example.com", PW).await);
    let refresh = |key: &Key, token: &str, ip: &str| owner.refresh(key, token, ip);
    const ELSEWHERE: &str = "198.51.100.4";

    let key = issue(
        &s,
        "apikey-new-nosession",
        owner.free_key(600, 86_400, 300.0),
    )
    .await;
    assert!(!key.dict.contains_key("usa"));
    assert_eq!(key.refresh().len(), 43);
    assert!(key.response["refresh_token_expires"].is_string());
    assert_eq!(
        stored(&s, "apikeys_nosession", "refresh_token_hash").await,
        vec![tokens::digest(key.refresh())]
    );
    s.ok("apikey-verify-nosession", owner.present(&key)).await;

    // Not before refresh_nbf.
    let body = refresh(&key, key.refresh(), ELSEWHERE);
    let r = s.call("apikey-refresh-nosession", body).await;
    assert!(!r.success, "refreshed before refresh_nbf");
    s.clock.advance(Duration::seconds(301));
    // A wrong refresh token, or an edited key, is refused.
    let body = refresh(&key, &"B".repeat(43), ELSEWHERE);
    s.refuses(
        "apikey-refresh-nosession",
        body,
        Refusal::RefreshTokenMismatch,
    )
    .await;
    let forged = key.with("sub", json!("/admin"));
    let body = refresh(&forged, key.refresh(), ELSEWHERE);
    let r = s.call("apikey-refresh-nosession", body).await;
    assert!(!r.success, "an edited key was refreshed");

    // The access key may expire; its refresh token still works.
    s.clock.advance(Duration::seconds(600));
    let passed = accepted(&s, "apikey-verify-nosession", &key, owner).await;
    assert!(!passed, "expired key passed");
    let body = refresh(&key, key.refresh(), ELSEWHERE);
    let fresh = issue(&s, "apikey-refresh-nosession", body).await;
    assert_ne!(fresh.dict["tkn"], key.dict["tkn"]);
    assert_eq!(fresh.dict["ipa"], ELSEWHERE);
    assert_eq!(fresh.dict["sub"], key.dict["sub"]);
    assert_ne!(fresh.refresh(), key.refresh());
    // The old pair is spent.
    let body = refresh(&key, key.refresh(), ELSEWHERE);
    let r = s.call("apikey-refresh-nosession", body).await;
    assert!(!r.success, "a spent refresh token worked twice");
    s.clock.advance(Duration::seconds(301));
    s.ok("apikey-verify-nosession", owner.present(&fresh)).await;
    assert_eq!(
        stored(&s, "apikeys_nosession", "apikey_hash").await.len(),
        1
    );

    // After refresh_expires the refresh token is dead too.
    s.clock.advance(Duration::seconds(86_400));
    let body = refresh(&fresh, fresh.refresh(), IP);
    let reason = s.refused("apikey-refresh-nosession", body).await;
    assert_eq!(reason, Refusal::ApikeyNoRefreshToken);
}

#[tokio::test]
async fn session_less_revoke_and_revoke_all() {
    let s = TestServer::start().await;
    let owner = member(s.verified_user("robot@example.com", PW).await);
    let other = member(s.verified_user("bystander@example.com", PW).await);
    let mut keys = Vec::new();
    for _ in 0..3 {
        let body = owner.free_key(3600, 86_400, 0.0);
        keys.push(issue(&s, "apikey-new-nosession", body).await);
    }
    let body = other.free_key(3600, 86_400, 0.0);
    let theirs = issue(&s, "apikey-new-nosession", body).await;

    // One revoked.
    s.ok("apikey-revoke-nosession", owner.present(&keys[0]))
        .await;
    assert!(!accepted(&s, "apikey-verify-nosession", &keys[0], owner).await);

    // Revoke-all needs a valid key: a revoked or edited one is refused.
    assert!(!accepted(&s, "apikey-revokeall-nosession", &keys[0], owner).await);
    let forged = keys[1].with("rol", json!("superuser"));
    assert!(!accepted(&s, "apikey-revokeall-nosession", &forged, owner).await);
    s.refuses(
        "apikey-revokeall-nosession",
        other.present(&keys[1]),
        Refusal::ApikeyDeleteNotAllowed,
    )
    .await;
    let r = s
        .ok("apikey-revokeall-nosession", owner.present(&keys[1]))
        .await;
    assert_eq!(r["revoked_keys"], 2);
    for k in &keys {
        assert!(!accepted(&s, "apikey-verify-nosession", k, owner).await);
    }
    // Other users' keys are untouched.
    s.ok("apikey-verify-nosession", other.present(&theirs))
        .await;

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
    s.lock_user(other.user_id, "lock").await;
    let passed = accepted(&s, "apikey-verify-nosession", &theirs, SUPERUSER).await;
    assert!(!passed, "a locked user's key passed");
}

#[tokio::test]
async fn keys_are_refused_to_roles_the_policy_excludes() {
    let s = TestServer::start().await;
    s.refuses(
        "apikey-new-nosession",
        ANONYMOUS.free_key(600, 3600, 0.0),
        Refusal::ApikeyIssueNotAllowed,
    )
    .await;
    // A user claiming a role it does not hold is refused too.
    let uid = s.verified_user("robot@example.com", PW).await;
    let staff = Holder::new(uid, "staff");
    s.refused("apikey-new-nosession", staff.free_key(600, 3600, 0.0))
        .await;
    let body = member(uid).free_key(0, 3600, 0.0);
    let reason = s.refused("apikey-new-nosession", body).await;
    assert!(invalid_naming(&reason, "expires_seconds"), "{reason}");
}
