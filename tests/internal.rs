//! Ports of authnzerver's `test_internal_user_edit.py`,
//! `test_internal_session_edit.py` and `test_auth_passcheck.py`.

mod common;

use authnzd_proto::Refusal;
use common::{PW, PW2, TestServer, session_new_body, token_of};
use serde_json::json;

#[tokio::test]
async fn internal_user_edit_merges_extra_info_and_refuses_identity_keys() {
    let s = TestServer::start().await;
    let made = s
        .ok(
            "user-new",
            json!({"full_name": "Test User", "email": "testuser-userinfo@test.org", "password": PW,
                   "extra_info": {"pref_advancedbits": "on"}}),
        )
        .await;
    let uid = made["user_id"].as_i64().unwrap();
    let info = s
        .edit_user(
            uid,
            json!({"extra_info": {"this": "is", "a": "test", "pref_thing_always_private": false,
                                  "pref_advancedbits": "__delete__"},
                   "is_active": true, "email_verified": true, "full_name": "Test Middle Named User"}),
        )
        .await;
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["is_active"], true);
    assert_eq!(info["extra_info"]["this"], "is");
    assert_eq!(info["extra_info"]["a"], "test");
    assert_eq!(info["extra_info"]["pref_thing_always_private"], false);
    assert!(info["extra_info"].get("pref_advancedbits").is_none());
    assert_eq!(
        info["extra_info"]["provenance"], "request-created",
        "existing keys kept"
    );

    let identity = json!({"user_id": 10, "system_id": "pwned", "password": "pwnedx2"});
    let refused = s.try_edit_user(uid, identity).await;
    assert!(!refused.success);
    let reason = refused.refusal().unwrap();
    assert!(
        matches!(&reason, Refusal::Invalid(why) if why.starts_with("invalid request: disallowed keys in update_dict")),
        "{reason}"
    );
    for key in ["password", "user_id", "system_id"] {
        assert!(reason.as_str().contains(key), "{reason}");
    }
}

#[tokio::test]
async fn internal_session_edit_merges_and_is_seen_by_session_exists() {
    let s = TestServer::start().await;
    let uid = s.verified_user("testuser-sessioninfo@test.org", PW).await;
    let mut body = session_new_body(Some(uid), 1);
    body["extra_info_json"] = json!({"pref_advancedbits": "on", "keep": 1});
    let token = token_of(&s.call("session-new", body).await.response);
    // Cache the session first, so the edit must invalidate it.
    assert!(s.session_alive(&token).await);
    let edited = s
        .ok(
            "internal-session-edit",
            json!({"target_session_token": token, "update_dict": {
                "this": "is", "a": "test", "pref_thing_always_private": false,
                "pref_advancedbits": "__delete__"}}),
        )
        .await;
    let extra = &edited["session_info"]["extra_info_json"];
    assert_eq!(extra["this"], "is");
    assert_eq!(extra["keep"], 1);
    assert!(extra.get("pref_advancedbits").is_none());
    let check = s.session_exists(&token).await.response;
    assert_eq!(&check["session_info"]["extra_info_json"], extra);

    let nothing = json!({"target_session_token": "no-such-token", "update_dict": {"a": 1}});
    let reason = s.refused("internal-session-edit", nothing).await;
    assert_eq!(reason, Refusal::NoSuchSession);
}

#[tokio::test]
async fn passchecks_with_and_without_a_session() {
    let s = TestServer::start().await;
    let uid = s.verified_user("testuser-passcheck@test.org", PW).await;
    let (_, token) = s.login("testuser-passcheck@test.org", PW).await.unwrap();
    let passcheck =
        |token: &str, password: &str| json!({"session_token": token, "password": password});
    let ok = s.ok("user-passcheck", passcheck(&token, PW)).await;
    assert_eq!(ok["user_id"], uid);
    let bad = s
        .call("user-passcheck", passcheck(&token, "wrong-password-here"))
        .await;
    assert!(!bad.success);
    let nosession = s.refused("user-passcheck", passcheck("nope", PW)).await;
    assert_eq!(nosession, Refusal::SessionNotFound);

    s.clock.advance(chrono::Duration::seconds(2));
    let by_email = |email: &str| json!({"email": email, "password": PW});
    let body = by_email("TestUser-Passcheck@test.org");
    s.ok("user-passcheck-nosession", body).await;
    let unknown = s
        .call("user-passcheck-nosession", by_email("nobody@test.org"))
        .await;
    assert_eq!(unknown.refusal(), Some(Refusal::WrongPassword));
    assert_eq!(
        unknown.messages, bad.messages,
        "same words for unknown users and wrong passwords"
    );
}

#[tokio::test]
async fn lookups_list_and_reset() {
    let s = TestServer::start().await;
    let uid = s.verified_user("lookup@test.org", PW).await;
    let by_email = s
        .call("user-lookup-email", json!({"email": "LOOKUP@test.org"}))
        .await
        .response;
    assert_eq!(by_email["user_info"]["user_id"], uid);
    assert!(
        by_email["user_info"].get("password").is_none(),
        "never the hash"
    );
    let lookup_match = |by: &str, value: serde_json::Value| json!({"by": by, "match": value});
    let body = lookup_match("extra_info", json!({"type": "normal-user"}));
    let matched = s.call("user-lookup-match", body).await.response;
    assert_eq!(matched["user_info"].as_array().unwrap().len(), 1);
    let body = lookup_match("user_role", json!("superuser"));
    let by_role = s.call("user-lookup-match", body).await.response;
    assert_eq!(by_role["user_info"][0]["user_id"], 1);
    let body = lookup_match("password", json!("x"));
    let by_password = s.call("user-lookup-match", body).await;
    assert!(!by_password.success, "the hash column is not matchable");
    let all = s.call("user-list", json!({"user_id": null})).await.response;
    assert_eq!(all["user_info"].as_array().unwrap().len(), 4);

    let (_, session) = s.login("lookup@test.org", PW).await.unwrap();
    let reset = |password: &str| {
        json!({"email_address": "lookup@test.org", "new_password": password,
               "required_active": true})
    };
    s.ok("user-resetpass-nosession", reset(PW2)).await;
    assert!(!s.session_alive(&session).await, "reset logs out");
    assert!(s.login("lookup@test.org", PW2).await.is_ok());
    let insecure = s.call("user-resetpass-nosession", reset("password")).await;
    assert!(!insecure.success);
    let validate = s
        .call(
            "user-validatepass",
            json!({"password": "short", "email": "a@b.org", "full_name": "A",
                   "min_pass_length": 4}),
        )
        .await;
    assert!(
        !validate.messages.iter().any(|m| m.contains("too short")),
        "override applies: {validate:?}"
    );
}
