//! session-new / session-exists / session-delete over the wire.

mod common;

use authnzd::security::tokens;
use authnzd_proto::Refusal;
use chrono::Duration;
use common::{PW, TestServer, all_at_once, session_new_body, token_of};
use entity::sessions;
use sea_orm::EntityTrait;
use serde_json::json;

#[tokio::test]
async fn session_lifecycle() {
    let s = TestServer::start().await;

    let created = s.ok("session-new", session_new_body(None, 1)).await;
    let token = token_of(&created);
    assert!(token.len() >= 43, "256-bit token");
    common::assert_naive_utc(created["expires"].as_str().unwrap());

    let found = s.session_exists(&token).await;
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

    let delete = json!({"session_token": token});
    s.ok("session-delete", delete.clone()).await;
    let gone = s.session_exists(&token).await;
    assert!(!gone.success);
    assert_eq!(gone.refusal(), Some(Refusal::SessionExpired));
    let again = s.call("session-delete", delete).await;
    assert!(
        !again.success,
        "deleting twice reports the session was not there"
    );
}

#[tokio::test]
async fn sessions_for_a_real_user_and_for_missing_users() {
    let s = TestServer::start().await;
    let token = s.session_for(Some(1), 1).await;
    let info = s.session_exists(&token).await.response;
    assert_eq!(info["session_info"]["user_role"], "superuser");
    assert_eq!(info["session_info"]["email"], "admin@localhost");

    let nobody = session_new_body(Some(999_999), 1);
    s.refuses("session-new", nobody, Refusal::NoSuchUser).await;
}

#[tokio::test]
async fn only_the_token_digest_is_stored() {
    let s = TestServer::start().await;
    let token = s.anon_session().await;
    let rows = sessions::Entity::find()
        .all(&s.running().app.db)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].token_hash, tokens::digest(&token));
    assert!(!format!("{rows:?}").contains(&token));
}

#[tokio::test]
async fn expiry_is_honoured_even_for_cached_sessions() {
    let s = TestServer::start().await;
    let past = s.session_for(None, -1).await;
    assert!(
        !s.session_alive(&past).await,
        "a session created already expired does not exist"
    );

    // Expires in 30 minutes; looked up (and cached); then the clock passes it.
    let mut body = session_new_body(None, 0);
    body["expires"] = json!((chrono::Utc::now() + Duration::minutes(30)).to_rfc3339());
    let soon = token_of(&s.call("session-new", body).await.response);
    assert!(s.session_alive(&soon).await);
    s.clock.advance(Duration::minutes(31));
    assert!(!s.session_alive(&soon).await, "expired while cached");
}

#[tokio::test]
async fn expires_accepts_every_iso_shape() {
    let s = TestServer::start().await;
    let with = |field: &str, value: &str| {
        let mut body = session_new_body(None, 1);
        body[field] = json!(value);
        body
    };
    for expires in [
        "2099-01-01T00:00:00",
        "2099-01-01T00:00:00Z",
        "2099-01-01T00:00:00.5+02:00",
    ] {
        let r = s.call("session-new", with("expires", expires)).await;
        assert!(r.success, "{expires}: {r:?}");
    }
    let reason = s
        .refused("session-new", with("expires", "next tuesday"))
        .await;
    assert_eq!(reason, Refusal::InvalidExpires);
    let reason = s
        .refused("session-new", with("ip_address", "999.1.1.1"))
        .await;
    assert_eq!(reason, Refusal::InvalidIpAddress);
}

#[tokio::test]
async fn a_deleted_session_is_not_served_from_the_cache() {
    let s = TestServer::start().await;
    for _ in 0..20 {
        let t = s.anon_session().await;
        // Race a lookup against the delete, then check the delete won.
        let body = json!({"session_token": t});
        let calls = [("session-exists", body.clone()), ("session-delete", body)];
        let [lookup, del] = <[_; 2]>::try_from(all_at_once(&s.client, calls).await).unwrap();
        lookup.unwrap();
        assert!(del.unwrap().success);
        assert!(!s.session_alive(&t).await);
    }
}

#[tokio::test]
async fn sessions_long_expired_are_pruned_after_session_expiry_days() {
    use sea_orm::PaginatorTrait;
    let mut s = TestServer::start_with(|c| c.sessions.session_expiry_days = 30).await;
    let short = s.session_for(None, 1).await;
    let long = s.session_for(None, 24 * 40).await;
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
    let alive = s.session_exists(&long).await;
    assert!(alive.success, "{alive:?}");
    assert!(!s.session_alive(&short).await);
}

#[tokio::test]
async fn session_list_shows_live_sessions_without_tokens_and_delete_others_keeps_one() {
    let s = TestServer::start().await;
    let user_id = s.verified_user("devices@example.org", PW).await;
    let other = s.verified_user("someone-else@example.org", PW).await;
    let phone = s.session_for(Some(user_id), 2).await;
    let laptop = s.session_for(Some(user_id), 3).await;
    let tablet = s.session_for(Some(user_id), 4).await;
    let theirs = s.session_for(Some(other), 2).await;

    let listed = s
        .ok(
            "session-list",
            json!({"user_id": user_id, "session_token": laptop}),
        )
        .await;
    let sessions = listed["sessions"].as_array().expect("a list");
    assert_eq!(sessions.len(), 3);
    let current: Vec<bool> = sessions
        .iter()
        .map(|x| x["current"].as_bool().unwrap())
        .collect();
    assert_eq!(current.iter().filter(|c| **c).count(), 1, "{sessions:?}");
    let text = listed.to_string();
    for token in [&phone, &laptop, &tablet] {
        assert!(!text.contains(token.as_str()), "a token in the list");
        assert!(
            !text.contains(&tokens::digest(token)),
            "a token digest in the list"
        );
    }
    // The typed client reads it too.
    let typed = s
        .client
        .session_list(&authnzd_client::params::SessionList {
            user_id,
            session_token: None,
        })
        .await
        .expect("session-list");
    assert!(
        typed
            .sessions
            .iter()
            .all(|x| !x.current && x.ip_address == "203.0.113.7")
    );

    // Someone else's session cannot log this user out elsewhere.
    s.refuses(
        "session-delete-others",
        json!({"session_token": theirs, "user_id": user_id}),
        Refusal::SessionNotOwned,
    )
    .await;
    // Five at once from the laptop: the others are gone, the laptop stays.
    let body = json!({"session_token": laptop, "user_id": user_id});
    let replies = s.repeated("session-delete-others", body, 5).await;
    let deleted: u64 = replies
        .iter()
        .map(|r| r.response["deleted"].as_u64().unwrap())
        .sum();
    assert!(replies.iter().all(|r| r.success), "{replies:?}");
    assert_eq!(deleted, 2, "each other session deleted once");
    assert!(s.session_alive(&laptop).await);
    assert!(!s.session_alive(&phone).await);
    assert!(!s.session_alive(&tablet).await);
    assert!(s.session_alive(&theirs).await);
    let left = s.ok("session-list", json!({"user_id": user_id})).await;
    assert_eq!(left["sessions"].as_array().unwrap().len(), 1);
    let audited = s.audit_events().await;
    assert!(
        audited
            .iter()
            .any(|(e, u, _)| e == "session-delete-others" && *u == Some(user_id))
    );
}

/// `session-new` is written in batches (group commit): sessions made at
/// once are each stored and served, and a user deleted behind the user
/// cache's back (as by another process) fails only its own request.
#[tokio::test]
async fn sessions_made_at_once_are_each_stored_and_a_vanished_user_fails_only_its_own() {
    use sea_orm::{ColumnTrait, PaginatorTrait, QueryFilter};
    let s = TestServer::start().await;
    let doomed = s
        .user_with_role("doomed@example.org", "authenticated")
        .await;
    // Its row is now in the user cache: session-new reads it from there.
    s.session_for(Some(doomed), 1).await;
    let db = s.running().app.db.clone();
    entity::users::Entity::delete_by_id(doomed)
        .exec(&db)
        .await
        .unwrap();

    const DOOMED_AT: usize = 12;
    let mut calls: Vec<_> = (0..24)
        .map(|_| ("session-new", session_new_body(None, 1)))
        .collect();
    calls.insert(
        DOOMED_AT,
        ("session-new", session_new_body(Some(doomed), 1)),
    );
    let replies = all_at_once(&s.client, calls).await;
    let mut made = Vec::new();
    for (i, reply) in replies.into_iter().enumerate() {
        let reply = reply.unwrap();
        if i == DOOMED_AT {
            assert!(!reply.success, "{reply:?}");
            assert_eq!(reply.refusal(), Some(Refusal::NoSuchUser));
        } else {
            assert!(reply.success, "{reply:?}");
            made.push(token_of(&reply.response));
        }
    }
    assert_eq!(made.len(), 24);
    for token in &made {
        assert!(s.session_alive(token).await);
    }
    let stored = sessions::Entity::find()
        .filter(sessions::Column::TokenHash.is_in(made.iter().map(|t| tokens::digest(t))))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(stored, 24);
    let orphans = sessions::Entity::find()
        .filter(sessions::Column::UserId.eq(doomed))
        .count(&db)
        .await
        .unwrap();
    assert_eq!(orphans, 0);
}
