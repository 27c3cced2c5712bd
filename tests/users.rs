//! The account lifecycle over the wire, role rules for edits, and lockout.

mod common;

use authnzd_proto::Refusal;
use chrono::Duration;
use common::{PW, PW2, TestServer, login_body};
use serde_json::json;

#[tokio::test]
async fn full_lifecycle() {
    let s = TestServer::start().await;
    let email = "Jane.Doe@Example.org";

    let signup = json!({"full_name": "Jane Doe", "email": email, "password": PW});
    let made = s.ok("user-new", signup).await;
    assert_eq!(
        made["user_email"], "jane.doe@example.org",
        "stored normalised"
    );
    assert_eq!(made["send_verification"], true);
    let user_id = made["user_id"].as_i64().unwrap();
    assert!(user_id >= 4);

    // Refused while unverified.
    let refused = s.login(email, PW).await.unwrap_err();
    assert!(!refused.success);

    let verified = s
        .ok("user-set-emailverified", json!({"email": email}))
        .await;
    assert_eq!(verified["user_role"], "authenticated");
    assert_eq!(verified["is_active"], true);

    // session-new → user-login → session-new for the user.
    let anon = s.anon_session().await;
    let body = login_body(&anon, "jane.doe@example.org", PW);
    let login = s.ok("user-login", body).await;
    assert_eq!(login["user_id"], user_id);
    assert_eq!(login["user_role"], "authenticated");
    let old = s.session_alive(&anon).await;
    assert!(!old, "the pre-login session is gone");

    let (_, first) = s.login(email, PW).await.unwrap();
    let (_, second) = s.login(email, PW).await.unwrap();
    // Both sessions looked up (so cached) before the password changes.
    assert!(s.session_alive(&second).await);
    let info = s.session_exists(&first).await.response;
    assert_eq!(info["session_info"]["user_id"], user_id);
    assert_eq!(info["session_info"]["email"], "jane.doe@example.org");
    assert!(info["session_info"]["last_login_success"].is_string());

    // Change the password from `first`: `second` is logged out.
    let change = json!({"user_id": user_id, "session_token": first, "full_name": "Jane Doe",
                        "email": email, "current_password": PW, "new_password": PW2});
    s.ok("user-changepass", change).await;
    assert!(s.session_alive(&first).await);
    assert!(!s.session_alive(&second).await);
    assert!(
        s.login(email, PW).await.is_err(),
        "old password no longer works"
    );

    let logout = json!({"session_token": first, "user_id": user_id});
    s.ok("user-logout", logout).await;
    assert!(!s.session_alive(&first).await);

    let delete = json!({"email": email, "user_id": user_id, "password": PW2});
    s.ok("user-delete", delete).await;
    assert!(s.login(email, PW2).await.is_err());
    let gone = s.call("user-lookup-email", json!({"email": email})).await;
    assert!(!gone.success);
}

#[tokio::test]
async fn changepass_requires_the_users_own_session() {
    let s = TestServer::start().await;
    let a = s.verified_user("alice@example.org", PW).await;
    s.verified_user("bob@example.org", PW).await;
    let (_, bob_session) = s.login("bob@example.org", PW).await.unwrap();
    let change = json!({"user_id": a, "session_token": bob_session, "full_name": "x",
                        "email": "alice@example.org", "current_password": PW, "new_password": PW2});
    let r = s.call("user-changepass", change).await;
    assert!(!r.success, "bob's session cannot change alice's password");
    assert!(s.login("alice@example.org", PW).await.is_ok());
}

#[tokio::test]
async fn edits_follow_roles() {
    let s = TestServer::start().await;
    let alice = s.verified_user("alice@example.org", PW).await;
    let bob = s.verified_user("bob@example.org", PW).await;
    let (_, alice_session) = s.login("alice@example.org", PW).await.unwrap();
    let as_alice = (alice, "authenticated", alice_session.as_str());

    // Own name: allowed.
    let r = edit(&s, as_alice, alice, json!({"full_name": "Alice A."})).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_info"]["full_name"], "Alice A.");
    // Own role: refused.
    let r = edit(&s, as_alice, alice, json!({"user_role": "superuser"})).await;
    assert!(!r.success);
    // Someone else: refused.
    let r = edit(&s, as_alice, bob, json!({"full_name": "Hacked"})).await;
    assert!(!r.success);
    // Claiming superuser without a superuser session: refused.
    let claiming = (alice, "superuser", alice_session.as_str());
    let r = edit(&s, claiming, bob, json!({"user_role": "staff"})).await;
    assert!(!r.success);

    // The superuser may change roles, and the change is visible at once.
    let su_session = s.session_for(Some(1), 1).await;
    let as_su = (1, "superuser", su_session.as_str());
    let (_, bob_session) = s.login("bob@example.org", PW).await.unwrap();
    let before = s.session_exists(&bob_session).await.response;
    assert_eq!(before["session_info"]["user_role"], "authenticated");
    let r = edit(&s, as_su, bob, json!({"user_role": "staff"})).await;
    assert!(r.success, "{r:?}");
    let after = s.session_exists(&bob_session).await.response;
    assert_eq!(
        after["session_info"]["user_role"], "staff",
        "cache saw the edit"
    );
    let r = edit(&s, as_su, bob, json!({"user_role": "emperor"})).await;
    assert!(!r.success, "unknown roles are refused");
    let r = edit(&s, as_su, 2, json!({"full_name": "x"})).await;
    assert!(!r.success, "the anonymous user cannot be edited");
}

/// `user-edit` by `(user_id, user_role, session_token)` of `target`.
async fn edit(
    s: &TestServer,
    by: (i64, &str, &str),
    target: i64,
    update: serde_json::Value,
) -> authnzd_client::Reply {
    let (user_id, role, token) = by;
    s.call(
        "user-edit",
        json!({"user_id": user_id, "user_role": role, "session_token": token,
               "target_userid": target, "update_dict": update}),
    )
    .await
}

#[tokio::test]
async fn lockout_survives_a_restart_and_ends_with_its_time() {
    let mut s = TestServer::start_with(|c| {
        c.lockout.user_lock_tries = 3;
        c.lockout.user_lock_time = 600;
        c.lockout.failed_login_delay_ms = 10;
    })
    .await;
    s.verified_user("carol@example.org", PW).await;
    // As authnzerver: three failures answered (after their delays), the
    // fourth locks.
    for _ in 0..4 {
        let refused = s
            .login("carol@example.org", "wrong-password-entirely")
            .await;
        assert!(!refused.unwrap_err().success);
    }
    let r = s.login("carol@example.org", PW).await.unwrap_err();
    assert!(r.messages[0].contains("locked"), "{r:?}");

    s.restart().await;
    let r = s.login("carol@example.org", PW).await.unwrap_err();
    assert!(
        r.messages[0].contains("locked"),
        "still locked after a restart: {r:?}"
    );

    s.clock.advance(Duration::seconds(601));
    let ok = s.login("carol@example.org", PW).await;
    assert!(ok.is_ok(), "unlocked after the lock time: {ok:?}");
}

#[tokio::test]
async fn a_lock_logs_the_user_out_everywhere() {
    let s = TestServer::with_lockout(2, 10).await;
    s.verified_user("dave@example.org", PW).await;
    let (_, session) = s.login("dave@example.org", PW).await.unwrap();
    assert!(s.session_alive(&session).await);
    for _ in 0..3 {
        let _ = s.login("dave@example.org", "not-the-password-at-all").await;
    }
    assert!(
        !s.session_alive(&session).await,
        "sessions of a locked account are gone, cached or not"
    );
}

#[tokio::test]
async fn admin_lock_and_unlock_restore_the_role() {
    let s = TestServer::start().await;
    let frank = s.verified_user("frank@example.org", PW).await;
    let locked = s.lock_user(frank, "lock").await;
    assert_eq!(locked["user_role"], "locked");
    assert!(s.login("frank@example.org", PW).await.is_err());
    // Re-verifying the email must not unlock an admin-locked account.
    let again = json!({"email": "frank@example.org"});
    s.call("user-set-emailverified", again).await;
    assert!(s.login("frank@example.org", PW).await.is_err());
    let unlocked = s.lock_user(frank, "unlock").await;
    assert_eq!(unlocked["user_role"], "authenticated");
    assert!(s.login("frank@example.org", PW).await.is_ok());
}

#[tokio::test]
async fn session_delete_userid_honours_keep_current_session() {
    let s = TestServer::start().await;
    let g = s.verified_user("gina@example.org", PW).await;
    let (_, one) = s.login("gina@example.org", PW).await.unwrap();
    let (_, two) = s.login("gina@example.org", PW).await.unwrap();
    let delete =
        |keep: bool| json!({"session_token": one, "user_id": g, "keep_current_session": keep});
    s.ok("session-delete-userid", delete(true)).await;
    assert!(s.session_alive(&one).await);
    assert!(!s.session_alive(&two).await);
    s.ok("session-delete-userid", delete(false)).await;
    assert!(!s.session_alive(&one).await);
}

#[tokio::test]
async fn signup_refusals() {
    let s = TestServer::start().await;
    let signup = |name: &str, email: &str, password: &str| json!({"full_name": name, "email": email, "password": password});
    let reason = s.refused("user-new", signup("X", "not-an-email", PW)).await;
    assert_eq!(reason, Refusal::InvalidEmail);
    let r = s
        .call("user-new", signup("X", "x@example.org", "short"))
        .await;
    assert_eq!(r.refusal(), Some(Refusal::InvalidPassword));
    assert!(r.messages.iter().any(|m| m.contains("too short")), "{r:?}");
    let spam = signup("Visit http://spam.example", "y@example.org", PW);
    s.refuses("user-new", spam, Refusal::InvalidFullName).await;

    // A second sign-up for a taken address says so and sends nothing...
    s.verified_user("zed@example.org", PW).await;
    let again = s
        .call("user-new", signup("Z", "ZED@example.org", PW2))
        .await;
    assert_eq!(again.refusal(), Some(Refusal::UserExists));
    assert_eq!(again.response["send_verification"], false);
    // ...but a stale unverified one is replaced after verify_retry_wait.
    let stale = |password: &str| {
        let mut body = signup("Q", "q@example.org", password);
        body["verify_retry_wait"] = json!(1);
        body
    };
    let first = s.call("user-new", stale(PW)).await;
    s.clock.advance(Duration::hours(2));
    let retry = s.call("user-new", stale(PW2)).await;
    assert_eq!(retry.response["send_verification"], true);
    assert_eq!(retry.response["user_id"], first.response["user_id"]);
}

#[tokio::test]
async fn a_login_rehashes_a_password_made_with_old_parameters() {
    let mut s = TestServer::start().await;
    let uid = s.verified_user("hal@example.org", PW).await;
    let stored = |s: &TestServer| {
        let db = s.running().app.db.clone();
        async move {
            use sea_orm::EntityTrait;
            entity::users::Entity::find_by_id(uid)
                .one(&db)
                .await
                .unwrap()
                .unwrap()
                .password
        }
    };
    let before = stored(&s).await;
    assert!(before.contains("m=1024,t=1,p=1"), "{before}");
    s.config.hashing.argon2_memory_kib = 2048;
    s.config.hashing.argon2_iterations = 2;
    s.restart().await;
    assert!(s.login("hal@example.org", PW).await.is_ok());
    let after = stored(&s).await;
    assert!(after.contains("m=2048,t=2,p=1"), "{after}");
}
