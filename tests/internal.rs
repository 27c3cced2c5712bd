//! Ports of authnzerver's `test_internal_user_edit.py`,
//! `test_internal_session_edit.py` and `test_auth_passcheck.py`.

mod common;

use common::{TestServer, session_new_body};
use serde_json::json;

const PW: &str = "tangerine-Voyage-8713-quartz";

#[tokio::test]
async fn internal_user_edit_merges_extra_info_and_refuses_identity_keys() {
    let s = TestServer::start().await;
    let made = s
        .client
        .request(
            "user-new",
            json!({"full_name": "Test User", "email": "testuser-userinfo@test.org", "password": PW,
                                     "extra_info": {"pref_advancedbits": "on"}}),
        )
        .await
        .unwrap();
    assert!(made.success, "{made:?}");
    let uid = made.response["user_id"].as_i64().unwrap();
    let edited = s
        .client
        .request(
            "internal-user-edit",
            json!({"target_userid": uid, "update_dict": {
                "extra_info": {"this": "is", "a": "test", "pref_thing_always_private": false, "pref_advancedbits": "__delete__"},
                "is_active": true, "email_verified": true, "full_name": "Test Middle Named User"}}),
        )
        .await
        .unwrap();
    assert!(edited.success, "{edited:?}");
    let info = &edited.response["user_info"];
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

    let refused = s
        .client
        .request(
            "internal-user-edit",
            json!({"target_userid": uid, "update_dict": {"user_id": 10, "system_id": "pwned", "password": "pwnedx2"}}),
        )
        .await
        .unwrap();
    assert!(!refused.success);
    let reason = refused.failure_reason.unwrap();
    assert!(
        reason.starts_with("invalid request: disallowed keys in update_dict"),
        "{reason}"
    );
    for key in ["password", "user_id", "system_id"] {
        assert!(reason.contains(key), "{reason}");
    }
}

#[tokio::test]
async fn internal_session_edit_merges_and_is_seen_by_session_exists() {
    let s = TestServer::start().await;
    let uid = s.verified_user("testuser-sessioninfo@test.org", PW).await;
    let mut body = session_new_body(Some(uid), 1);
    body["extra_info_json"] = json!({"pref_advancedbits": "on", "keep": 1});
    let made = s.client.request("session-new", body).await.unwrap();
    let token = made.response["session_token"].as_str().unwrap();
    // Cache the session first, so the edit must invalidate it.
    assert!(
        s.client
            .request("session-exists", json!({"session_token": token}))
            .await
            .unwrap()
            .success
    );
    let edited = s
        .client
        .request(
            "internal-session-edit",
            json!({"target_session_token": token, "update_dict": {
                "this": "is", "a": "test", "pref_thing_always_private": false, "pref_advancedbits": "__delete__"}}),
        )
        .await
        .unwrap();
    assert!(edited.success, "{edited:?}");
    let extra = &edited.response["session_info"]["extra_info_json"];
    assert_eq!(extra["this"], "is");
    assert_eq!(extra["keep"], 1);
    assert!(extra.get("pref_advancedbits").is_none());
    let check = s
        .client
        .request("session-exists", json!({"session_token": token}))
        .await
        .unwrap();
    assert_eq!(&check.response["session_info"]["extra_info_json"], extra);

    let nothing = s
        .client
        .request(
            "internal-session-edit",
            json!({"target_session_token": "no-such-token", "update_dict": {"a": 1}}),
        )
        .await
        .unwrap();
    assert_eq!(nothing.failure_reason.as_deref(), Some("no such session"));
}

#[tokio::test]
async fn passchecks_with_and_without_a_session() {
    let s = TestServer::start().await;
    let uid = s.verified_user("testuser-passcheck@test.org", PW).await;
    let (_, token) = s.login("testuser-passcheck@test.org", PW).await.unwrap();
    let ok = s
        .client
        .request(
            "user-passcheck",
            json!({"session_token": token, "password": PW}),
        )
        .await
        .unwrap();
    assert!(ok.success, "{ok:?}");
    assert_eq!(ok.response["user_id"], uid);
    let bad = s
        .client
        .request(
            "user-passcheck",
            json!({"session_token": token, "password": "wrong-password-here"}),
        )
        .await
        .unwrap();
    assert!(!bad.success);
    let nosession = s
        .client
        .request(
            "user-passcheck",
            json!({"session_token": "nope", "password": PW}),
        )
        .await
        .unwrap();
    assert_eq!(
        nosession.failure_reason.as_deref(),
        Some("session does not exist")
    );

    s.clock.advance(chrono::Duration::seconds(2));
    let ok = s
        .client
        .request(
            "user-passcheck-nosession",
            json!({"email": "TestUser-Passcheck@test.org", "password": PW}),
        )
        .await
        .unwrap();
    assert!(ok.success, "{ok:?}");
    let unknown = s
        .client
        .request(
            "user-passcheck-nosession",
            json!({"email": "nobody@test.org", "password": PW}),
        )
        .await
        .unwrap();
    assert_eq!(
        unknown.failure_reason.as_deref(),
        Some("user does not exist or password doesn't match")
    );
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
        .client
        .request("user-lookup-email", json!({"email": "LOOKUP@test.org"}))
        .await
        .unwrap();
    assert_eq!(by_email.response["user_info"]["user_id"], uid);
    assert!(
        by_email.response["user_info"].get("password").is_none(),
        "never the hash"
    );
    let matched = s
        .client
        .request(
            "user-lookup-match",
            json!({"by": "extra_info", "match": {"type": "normal-user"}}),
        )
        .await
        .unwrap();
    assert_eq!(matched.response["user_info"].as_array().unwrap().len(), 1);
    let by_role = s
        .client
        .request(
            "user-lookup-match",
            json!({"by": "user_role", "match": "superuser"}),
        )
        .await
        .unwrap();
    assert_eq!(by_role.response["user_info"][0]["user_id"], 1);
    let by_password = s
        .client
        .request("user-lookup-match", json!({"by": "password", "match": "x"}))
        .await
        .unwrap();
    assert!(!by_password.success, "the hash column is not matchable");
    let all = s
        .client
        .request("user-list", json!({"user_id": null}))
        .await
        .unwrap();
    assert_eq!(all.response["user_info"].as_array().unwrap().len(), 4);

    let (_, session) = s.login("lookup@test.org", PW).await.unwrap();
    let reset = s
        .client
        .request("user-resetpass-nosession", json!({"email_address": "lookup@test.org", "new_password": "lantern+Orchid=5521/basalt", "required_active": true}))
        .await
        .unwrap();
    assert!(reset.success, "{reset:?}");
    assert!(
        !s.client
            .request("session-exists", json!({"session_token": session}))
            .await
            .unwrap()
            .success,
        "reset logs out"
    );
    assert!(
        s.login("lookup@test.org", "lantern+Orchid=5521/basalt")
            .await
            .is_ok()
    );
    let insecure = s
        .client
        .request("user-resetpass-nosession", json!({"email_address": "lookup@test.org", "new_password": "password", "required_active": true}))
        .await
        .unwrap();
    assert!(!insecure.success);
    let validate = s
        .client
        .request("user-validatepass", json!({"password": "short", "email": "a@b.org", "full_name": "A", "min_pass_length": 4}))
        .await
        .unwrap();
    assert!(
        !validate.messages.iter().any(|m| m.contains("too short")),
        "override applies: {validate:?}"
    );
}
