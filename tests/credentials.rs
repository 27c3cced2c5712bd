//! Credentials under a hostile client, over the wire on every backend: a
//! burst of guesses gets no more comparisons than the tries left, addresses
//! without an account lock as accounts do (across a restart too), sign-up
//! data cannot become a role, a changed email is not asserted as verified,
//! sessions record how they were signed in, and a new password revokes the
//! account's other credentials.

mod common;

use authnzd_proto::Refusal;
use std::time::Duration;

use authnzd_client::Reply;
use common::{PW, PW2, TestServer, all_at_once, tally};
use serde_json::{Value, json};

/// A server locking after 3 tries, each failure answered after `delay_ms`.
async fn three_tries(delay_ms: u64) -> TestServer {
    TestServer::start_with(|c| {
        c.lockout.user_lock_tries = 3;
        c.lockout.failed_login_delay_ms = delay_ms;
        c.limits.rate_limits = "none".into();
    })
    .await
}

fn hashes(s: &TestServer) -> u64 {
    s.running().app.credentials.hasher.runs()
}

async fn user_row(s: &TestServer, user_id: i64) -> entity::users::Model {
    use sea_orm::EntityTrait;
    entity::users::Entity::find_by_id(user_id)
        .one(&s.running().app.db)
        .await
        .expect("users")
        .expect("the user")
}

/// Waits (polling, at most 30 s) until `check` holds.
async fn until(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "never: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_sixty_wrong_passwords_and_the_right_one_gets_three_comparisons() {
    // Each failure waits a second, so the burst is still in flight when the
    // right password arrives.
    let s = three_tries(1000).await;
    let email = "burst@example.org";
    let uid = s.verified_user(email, PW).await;
    let before = s.settled_hashes().await;
    let wrong = json!({"email": email, "password": "not the password at all"});
    let burst = {
        let client = s.client.clone();
        let calls: Vec<_> = (0..60)
            .map(|_| ("user-passcheck-nosession", wrong.clone()))
            .collect();
        tokio::spawn(async move { all_at_once(&client, calls).await })
    };
    until("the three tries taken", async || {
        user_row(&s, uid).await.failed_login_tries >= 3
    })
    .await;
    let right = s
        .call(
            "user-passcheck-nosession",
            json!({"email": email, "password": PW}),
        )
        .await;
    let burst: Vec<Reply> = burst
        .await
        .expect("burst")
        .into_iter()
        .map(|r| r.expect("a reply"))
        .collect();
    assert_eq!(right.refusal(), Some(Refusal::AccountLocked), "{right:?}");
    let t = tally(&burst);
    assert_eq!(t.of(Refusal::WrongPassword), 3, "{t:?}");
    assert_eq!(t.of(Refusal::AccountLocked), 57, "{t:?}");
    assert_eq!(hashes(&s) - before, 3, "guesses compared");
    let row = user_row(&s, uid).await;
    assert_eq!(row.failed_login_tries, 3);
    assert!(row.lock_expires.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_against_an_unknown_address_is_counted_the_same() {
    let s = three_tries(200).await;
    let before = s.settled_hashes().await;
    let wrong = json!({"email": "no-account@example.org", "password": PW});
    let replies = s.repeated("user-passcheck-nosession", wrong, 40).await;
    let t = tally(&replies);
    assert_eq!(t.of(Refusal::WrongPassword), 3, "{t:?}");
    assert_eq!(t.of(Refusal::AccountLocked), 37, "{t:?}");
    assert_eq!(hashes(&s) - before, 3);
}

#[tokio::test]
async fn an_unknown_address_stays_locked_across_a_restart() {
    let mut s = three_tries(0).await;
    let nobody = "nobody@example.org";
    for _ in 0..2 {
        assert_eq!(
            s.try_login(nobody, PW).await.refusal(),
            Some(Refusal::WrongPassword)
        );
    }
    s.restart().await;
    assert_eq!(
        s.try_login(nobody, PW).await.refusal(),
        Some(Refusal::WrongPassword)
    );
    let r = s.try_login(nobody, PW).await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked), "{r:?}");
    assert_eq!(r.response["retry_after"], 3600);
    s.restart().await;
    let r = s.try_login(nobody, PW).await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked), "{r:?}");
    // Forgotten once the lock and the longest delay are over.
    s.clock.advance(chrono::Duration::hours(2));
    authnzd::actions::password_check::prune(&s.running().app)
        .await
        .expect("prune");
    use sea_orm::{EntityTrait, PaginatorTrait};
    let left = entity::address_failures::Entity::find()
        .count(&s.running().app.db)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_limit_lowered_below_the_count_locks_at_the_next_guess_and_ends_sessions() {
    let mut s = TestServer::with_lockout(10, 0).await;
    let email = "lowered@example.org";
    let uid = s.verified_user(email, PW).await;
    let (_, session) = s.login(email, PW).await.unwrap();
    for _ in 0..5 {
        assert!(!s.try_login(email, "wrong wrong wrong").await.success);
    }
    s.config.lockout.user_lock_tries = 3;
    s.restart().await;
    let r = s.try_login(email, PW).await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked), "{r:?}");
    assert!(!s.session_alive(&session).await, "the lock ended it");
    let locked: Vec<_> = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, u, _)| e == "account-locked" && *u == Some(uid))
        .collect();
    assert_eq!(locked.len(), 1, "{locked:?}");
}

#[tokio::test]
async fn sign_up_data_cannot_plant_a_role_or_server_keys() {
    let s = TestServer::start().await;
    let planted = json!({
        "full_name": "Mallory",
        "email": "mallory@example.org",
        "password": PW,
        "extra_info": {"previous_user_roles": ["superuser"], "provenance": "operator-created",
                       "type": "staff-user", "verify_retry_wait": 0, "likes": "tea"},
    });
    let made = s.ok("user-new", planted).await;
    let uid = made["user_id"].as_i64().unwrap();
    let found = s
        .ok("user-lookup-email", json!({"email": "mallory@example.org"}))
        .await;
    let extra = &found["user_info"]["extra_info"];
    assert_eq!(extra["likes"], "tea", "{extra}");
    assert_eq!(extra["provenance"], "request-created");
    assert_eq!(extra["type"], "normal-user");
    assert_eq!(extra.get("previous_user_roles"), None, "{extra}");

    // internal-user-edit cannot write them either.
    let edit = json!({"target_userid": uid,
                      "update_dict": {"extra_info": {"previous_user_roles": ["superuser"]}}});
    s.ok("internal-user-edit", edit).await;
    // An admin unlocks the pending sign-up, then its address is verified:
    // an ordinary account.
    let unlocked = s.lock_user(uid, "unlock").await;
    assert_eq!(unlocked["user_role"], "authenticated");
    let verified = s
        .ok(
            "user-set-emailverified",
            json!({"email": "mallory@example.org"}),
        )
        .await;
    assert_eq!(verified["user_role"], "authenticated");
    // Only a role the operator names comes back above that.
    let staff = s.user_with_role("ops@example.org", "staff").await;
    s.lock_user(staff, "lock").await;
    let back = s
        .ok(
            "internal-user-lock",
            json!({"target_userid": staff, "action": "unlock"}),
        )
        .await;
    assert_eq!(back["user_info"]["user_role"], "authenticated");
    s.lock_user(staff, "lock").await;
    let named = json!({"target_userid": staff, "action": "unlock", "restore_role": "staff"});
    let back = s.ok("internal-user-lock", named).await;
    assert_eq!(back["user_info"]["user_role"], "staff");
    let bad = json!({"target_userid": staff, "action": "lock", "restore_role": "staff"});
    assert!(matches!(
        s.refused("internal-user-lock", bad).await,
        Refusal::Invalid(_)
    ));
}

async fn gateway(s: &TestServer, token: &str) -> reqwest::Response {
    common::http()
        .get(format!("{}auth/verify", s.url()))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .expect("GET /auth/verify")
}

fn header(r: &reqwest::Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
}

#[tokio::test]
async fn an_email_the_user_changed_is_not_asserted_as_verified() {
    let s = TestServer::start_with(|c| c.gateway.forward_auth_remote_headers = true).await;
    let uid = s.verified_user("vera@example.org", PW).await;
    let (_, token) = s.login("vera@example.org", PW).await.unwrap();
    let before = gateway(&s, &token).await;
    assert_eq!(before.status(), 200);
    assert_eq!(
        header(&before, "x-auth-email").as_deref(),
        Some("vera@example.org")
    );
    assert_eq!(
        header(&before, "x-auth-email-verified").as_deref(),
        Some("true")
    );

    let edit = json!({"user_id": uid, "user_role": "authenticated", "session_token": token,
                      "target_userid": uid, "update_dict": {"email": "ceo@victim.example"}});
    let edited = s.call("user-edit", edit).await;
    assert!(edited.success, "{edited:?}");
    assert_eq!(edited.response["send_verification"], true);
    assert_eq!(edited.response["user_info"]["email_verified"], false);

    let after = gateway(&s, &token).await;
    assert_eq!(after.status(), 200, "still signed in");
    assert_eq!(header(&after, "x-auth-email"), None);
    assert_eq!(header(&after, "remote-email"), None);
    assert_eq!(
        header(&after, "x-auth-email-verified").as_deref(),
        Some("false")
    );
    let body: Value = after.json().await.unwrap();
    assert_eq!(body["user_email"], Value::Null, "{body}");

    // The frontend's verification mail for it is allowed, and verifying
    // makes it asserted again.
    s.ok(
        "user-set-emailverified",
        json!({"email": "ceo@victim.example"}),
    )
    .await;
    let verified = gateway(&s, &token).await;
    assert_eq!(
        header(&verified, "x-auth-email").as_deref(),
        Some("ceo@victim.example")
    );
}

#[tokio::test]
async fn sessions_record_how_they_were_signed_in() {
    let s = TestServer::start().await;
    let uid = s.verified_user("amy@example.org", PW).await;
    let login = s.try_login("amy@example.org", PW).await;
    assert_eq!(login.response["amr"], json!(["pwd"]), "{login:?}");
    // The frontend's session-new takes the sign-in over, once.
    let token = s.session_for(Some(uid), 1).await;
    let info = s.session_exists(&token).await.response["session_info"].clone();
    assert_eq!(info["amr"], json!(["pwd"]), "{info}");
    assert!(info["auth_time"].is_string(), "{info}");
    let second = s.session_for(Some(uid), 1).await;
    let info = s.session_exists(&second).await.response["session_info"].clone();
    assert_eq!(info["amr"], json!([]), "a second session was not signed in");
    assert_eq!(info["auth_time"], Value::Null);

    let g = gateway(&s, &token).await;
    assert_eq!(header(&g, "x-auth-amr").as_deref(), Some("pwd"));
    assert!(header(&g, "x-auth-time").is_some());

    let pair = s.ok("token-issue", json!({"session_token": token})).await;
    let jwt = pair["access_token"].as_str().unwrap();
    let claims: Value = {
        use base64::Engine as _;
        let payload = jwt.split('.').nth(1).unwrap();
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    };
    assert_eq!(claims["amr"], json!(["pwd"]), "{claims}");
    assert!(claims["auth_time"].is_i64(), "{claims}");
}

#[tokio::test]
async fn a_new_password_revokes_the_other_credentials() {
    let s = TestServer::start().await;
    let email = "rita@example.org";
    let uid = s.verified_user(email, PW).await;
    let holder = common::apikeys::member(uid);
    let issued = s
        .call("apikey-new-nosession", holder.free_key(3600, 86_400, 0.0))
        .await;
    let key = common::apikeys::Key::from_reply(&issued);
    let verify = holder.present(&key);
    s.ok("apikey-verify-nosession", verify.clone()).await;
    let reset = json!({"email_address": email, "new_password": PW2, "required_active": true});
    s.ok("user-resetpass-nosession", reset).await;
    assert!(
        !s.call("apikey-verify-nosession", verify).await.success,
        "the key outlived the reset"
    );
    assert!(s.login(email, PW2).await.is_ok());
}
