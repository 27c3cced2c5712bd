//! The account lifecycle over the wire, role rules for edits, and lockout.

mod common;

use chrono::Duration;
use common::{TestServer, session_new_body};
use serde_json::json;

const PW: &str = "tangerine-Voyage-8713-quartz";
const PW2: &str = "lantern+Orchid=5521/basalt";

#[tokio::test]
async fn full_lifecycle() {
    let s = TestServer::start().await;
    let c = &s.client;
    let email = "Jane.Doe@Example.org";

    let made = c
        .request(
            "user-new",
            json!({"full_name": "Jane Doe", "email": email, "password": PW}),
        )
        .await
        .unwrap();
    assert!(made.success, "{made:?}");
    assert_eq!(
        made.response["user_email"], "jane.doe@example.org",
        "stored normalised"
    );
    assert_eq!(made.response["send_verification"], true);
    let user_id = made.response["user_id"].as_i64().unwrap();
    assert!(user_id >= 4);

    // Refused while unverified.
    let refused = s.login(email, PW).await.unwrap_err();
    assert!(!refused.success);

    let verified = c
        .request("user-set-emailverified", json!({"email": email}))
        .await
        .unwrap();
    assert!(verified.success, "{verified:?}");
    assert_eq!(verified.response["user_role"], "authenticated");
    assert_eq!(verified.response["is_active"], true);

    // session-new → user-login → session-new for the user.
    let anon = s.anon_session().await;
    let login = c
        .request(
            "user-login",
            json!({"session_token": anon, "email": "jane.doe@example.org", "password": PW}),
        )
        .await
        .unwrap();
    assert!(login.success, "{login:?}");
    assert_eq!(login.response["user_id"], user_id);
    assert_eq!(login.response["user_role"], "authenticated");
    let old = c
        .request("session-exists", json!({"session_token": anon}))
        .await
        .unwrap();
    assert!(!old.success, "the pre-login session is gone");

    let (_, first) = s.login(email, PW).await.unwrap();
    let (_, second) = s.login(email, PW).await.unwrap();
    // Both sessions looked up (so cached) before the password changes.
    let cached = c
        .request("session-exists", json!({"session_token": second}))
        .await
        .unwrap();
    assert!(cached.success);
    let info = c
        .request("session-exists", json!({"session_token": first}))
        .await
        .unwrap();
    assert_eq!(info.response["session_info"]["user_id"], user_id);
    assert_eq!(
        info.response["session_info"]["email"],
        "jane.doe@example.org"
    );
    assert!(info.response["session_info"]["last_login_success"].is_string());

    // Change the password from `first`: `second` is logged out.
    let changed = c
        .request(
            "user-changepass",
            json!({"user_id": user_id, "session_token": first, "full_name": "Jane Doe",
                   "email": email, "current_password": PW, "new_password": PW2}),
        )
        .await
        .unwrap();
    assert!(changed.success, "{changed:?}");
    assert!(
        c.request("session-exists", json!({"session_token": first}))
            .await
            .unwrap()
            .success
    );
    assert!(
        !c.request("session-exists", json!({"session_token": second}))
            .await
            .unwrap()
            .success
    );
    assert!(
        s.login(email, PW).await.is_err(),
        "old password no longer works"
    );

    let out = c
        .request(
            "user-logout",
            json!({"session_token": first, "user_id": user_id}),
        )
        .await
        .unwrap();
    assert!(out.success, "{out:?}");
    assert!(
        !c.request("session-exists", json!({"session_token": first}))
            .await
            .unwrap()
            .success
    );

    let deleted = c
        .request(
            "user-delete",
            json!({"email": email, "user_id": user_id, "password": PW2}),
        )
        .await
        .unwrap();
    assert!(deleted.success, "{deleted:?}");
    assert!(s.login(email, PW2).await.is_err());
    let gone = c
        .request("user-lookup-email", json!({"email": email}))
        .await
        .unwrap();
    assert!(!gone.success);
    s.stop().await;
}

#[tokio::test]
async fn changepass_requires_the_users_own_session() {
    let s = TestServer::start().await;
    let a = s.verified_user("alice@example.org", PW).await;
    s.verified_user("bob@example.org", PW).await;
    let (_, bob_session) = s.login("bob@example.org", PW).await.unwrap();
    let r = s
        .client
        .request(
            "user-changepass",
            json!({"user_id": a, "session_token": bob_session, "full_name": "x",
                   "email": "alice@example.org", "current_password": PW, "new_password": PW2}),
        )
        .await
        .unwrap();
    assert!(!r.success, "bob's session cannot change alice's password");
    assert!(s.login("alice@example.org", PW).await.is_ok());
    s.stop().await;
}

#[tokio::test]
async fn edits_follow_roles() {
    let s = TestServer::start().await;
    let c = &s.client;
    let alice = s.verified_user("alice@example.org", PW).await;
    let bob = s.verified_user("bob@example.org", PW).await;
    let (_, alice_session) = s.login("alice@example.org", PW).await.unwrap();

    // Own name: allowed.
    let r = edit(
        &s,
        (alice, "authenticated", &alice_session),
        alice,
        json!({"full_name": "Alice A."}),
    )
    .await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_info"]["full_name"], "Alice A.");
    // Own role: refused.
    let r = edit(
        &s,
        (alice, "authenticated", &alice_session),
        alice,
        json!({"user_role": "superuser"}),
    )
    .await;
    assert!(!r.success);
    // Someone else: refused.
    let r = edit(
        &s,
        (alice, "authenticated", &alice_session),
        bob,
        json!({"full_name": "Hacked"}),
    )
    .await;
    assert!(!r.success);
    // Claiming superuser without a superuser session: refused.
    let r = edit(
        &s,
        (alice, "superuser", &alice_session),
        bob,
        json!({"user_role": "staff"}),
    )
    .await;
    assert!(!r.success);

    // The superuser may change roles, and the change is visible at once.
    let su = c
        .request("session-new", session_new_body(Some(1), 1))
        .await
        .unwrap();
    let su_session = su.response["session_token"].as_str().unwrap().to_owned();
    let (_, bob_session) = s.login("bob@example.org", PW).await.unwrap();
    let before = c
        .request("session-exists", json!({"session_token": bob_session}))
        .await
        .unwrap();
    assert_eq!(
        before.response["session_info"]["user_role"],
        "authenticated"
    );
    let r = edit(
        &s,
        (1, "superuser", &su_session),
        bob,
        json!({"user_role": "staff"}),
    )
    .await;
    assert!(r.success, "{r:?}");
    let after = c
        .request("session-exists", json!({"session_token": bob_session}))
        .await
        .unwrap();
    assert_eq!(
        after.response["session_info"]["user_role"], "staff",
        "cache saw the edit"
    );
    let r = edit(
        &s,
        (1, "superuser", &su_session),
        bob,
        json!({"user_role": "emperor"}),
    )
    .await;
    assert!(!r.success, "unknown roles are refused");
    let r = edit(
        &s,
        (1, "superuser", &su_session),
        2,
        json!({"full_name": "x"}),
    )
    .await;
    assert!(!r.success, "the anonymous user cannot be edited");
    s.stop().await;
}

/// `user-edit` by `(user_id, user_role, session_token)` of `target`.
async fn edit(
    s: &TestServer,
    by: (i64, &str, &str),
    target: i64,
    update: serde_json::Value,
) -> authnzd_client::Reply {
    let (user_id, role, token) = by;
    s.client
        .request(
            "user-edit",
            json!({"user_id": user_id, "user_role": role, "session_token": token,
                   "target_userid": target, "update_dict": update}),
        )
        .await
        .unwrap()
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
        let r = s
            .login("carol@example.org", "wrong-password-entirely")
            .await
            .unwrap_err();
        assert!(!r.success);
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
    s.stop().await;
}

#[tokio::test]
async fn a_lock_logs_the_user_out_everywhere() {
    let s = TestServer::start_with(|c| {
        c.lockout.user_lock_tries = 2;
        c.lockout.failed_login_delay_ms = 10;
    })
    .await;
    s.verified_user("dave@example.org", PW).await;
    let (_, session) = s.login("dave@example.org", PW).await.unwrap();
    assert!(
        s.client
            .request("session-exists", json!({"session_token": session}))
            .await
            .unwrap()
            .success
    );
    for _ in 0..3 {
        let _ = s.login("dave@example.org", "not-the-password-at-all").await;
    }
    let r = s
        .client
        .request("session-exists", json!({"session_token": session}))
        .await
        .unwrap();
    assert!(
        !r.success,
        "sessions of a locked account are gone, cached or not"
    );
    s.stop().await;
}

#[tokio::test]
async fn admin_lock_and_unlock_restore_the_role() {
    let s = TestServer::start().await;
    let frank = s.verified_user("frank@example.org", PW).await;
    let locked = s
        .client
        .request(
            "internal-user-lock",
            json!({"target_userid": frank, "action": "lock"}),
        )
        .await
        .unwrap();
    assert!(locked.success, "{locked:?}");
    assert_eq!(locked.response["user_info"]["user_role"], "locked");
    assert!(s.login("frank@example.org", PW).await.is_err());
    // Re-verifying the email must not unlock an admin-locked account.
    s.client
        .request(
            "user-set-emailverified",
            json!({"email": "frank@example.org"}),
        )
        .await
        .unwrap();
    assert!(s.login("frank@example.org", PW).await.is_err());
    let unlocked = s
        .client
        .request(
            "internal-user-lock",
            json!({"target_userid": frank, "action": "unlock"}),
        )
        .await
        .unwrap();
    assert_eq!(unlocked.response["user_info"]["user_role"], "authenticated");
    assert!(s.login("frank@example.org", PW).await.is_ok());
    s.stop().await;
}

#[tokio::test]
async fn session_delete_userid_honours_keep_current_session() {
    let s = TestServer::start().await;
    let g = s.verified_user("gina@example.org", PW).await;
    let (_, one) = s.login("gina@example.org", PW).await.unwrap();
    let (_, two) = s.login("gina@example.org", PW).await.unwrap();
    let r = s
        .client
        .request(
            "session-delete-userid",
            json!({"session_token": one, "user_id": g, "keep_current_session": true}),
        )
        .await
        .unwrap();
    assert!(r.success);
    assert!(
        s.client
            .request("session-exists", json!({"session_token": one}))
            .await
            .unwrap()
            .success
    );
    assert!(
        !s.client
            .request("session-exists", json!({"session_token": two}))
            .await
            .unwrap()
            .success
    );
    let r = s
        .client
        .request(
            "session-delete-userid",
            json!({"session_token": one, "user_id": g, "keep_current_session": false}),
        )
        .await
        .unwrap();
    assert!(r.success);
    assert!(
        !s.client
            .request("session-exists", json!({"session_token": one}))
            .await
            .unwrap()
            .success
    );
    s.stop().await;
}

#[tokio::test]
async fn signup_refusals() {
    let s = TestServer::start().await;
    let c = &s.client;
    let r = c
        .request(
            "user-new",
            json!({"full_name": "X", "email": "not-an-email", "password": PW}),
        )
        .await
        .unwrap();
    assert_eq!(r.failure_reason.as_deref(), Some("invalid email"));
    let r = c
        .request(
            "user-new",
            json!({"full_name": "X", "email": "x@example.org", "password": "short"}),
        )
        .await
        .unwrap();
    assert_eq!(r.failure_reason.as_deref(), Some("invalid password"));
    assert!(r.messages.iter().any(|m| m.contains("too short")), "{r:?}");
    let r = c
        .request("user-new", json!({"full_name": "Visit http://spam.example", "email": "y@example.org", "password": PW}))
        .await
        .unwrap();
    assert_eq!(r.failure_reason.as_deref(), Some("invalid full name"));

    // A second sign-up for a taken address says so and sends nothing...
    s.verified_user("zed@example.org", PW).await;
    let again = c
        .request(
            "user-new",
            json!({"full_name": "Z", "email": "ZED@example.org", "password": PW2}),
        )
        .await
        .unwrap();
    assert_eq!(again.failure_reason.as_deref(), Some("user exists"));
    assert_eq!(again.response["send_verification"], false);
    // ...but a stale unverified one is replaced after verify_retry_wait.
    let first = c
        .request("user-new", json!({"full_name": "Q", "email": "q@example.org", "password": PW, "verify_retry_wait": 1}))
        .await
        .unwrap();
    s.clock.advance(Duration::hours(2));
    let retry = c
        .request("user-new", json!({"full_name": "Q", "email": "q@example.org", "password": PW2, "verify_retry_wait": 1}))
        .await
        .unwrap();
    assert_eq!(retry.response["send_verification"], true);
    assert_eq!(retry.response["user_id"], first.response["user_id"]);
    s.stop().await;
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
    s.stop().await;
}
