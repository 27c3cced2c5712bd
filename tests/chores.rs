//! The hourly chore: passwordless attempts and second-factor tokens are
//! deleted once nothing can use them any more, and not before. The test
//! moves the server's clock and runs the chore itself (the server runs it
//! at start-up and every hour).

mod common;

use authnzd::clock::Clock as _;
use authnzd_proto::Refusal;
use chrono::Duration;
use common::{PW, TestServer};
use sea_orm::{EntityTrait, PaginatorTrait};
use serde_json::json;

async fn attempts(s: &TestServer) -> u64 {
    entity::passwordless_attempts::Entity::find()
        .count(&s.running().app.db)
        .await
        .unwrap()
}

async fn mfa_tokens(s: &TestServer) -> u64 {
    entity::mfa_tokens::Entity::find()
        .count(&s.running().app.db)
        .await
        .unwrap()
}

async fn chore(s: &TestServer) {
    authnzd::actions::chores::hourly(&s.running().app).await;
}

/// The TOTP code for the server's clock (RFC 6238, as an app computes it).
fn code(s: &TestServer, secret: &[u8]) -> String {
    let now = u64::try_from(s.clock.now().timestamp()).unwrap();
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, now)
}

/// A user with TOTP on, and its secret.
async fn enrolled(s: &TestServer, email: &str) -> Vec<u8> {
    let user_id = s.verified_user(email, PW).await;
    let started = s.ok("totp-enroll-start", json!({"user_id": user_id})).await;
    let uri = started["otpauth_uri"].as_str().unwrap();
    let b32 = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret=");
    let secret = base32::decode(base32::Alphabet::Rfc4648 { padding: false }, b32).unwrap();
    let code = code(s, &secret);
    s.ok(
        "totp-enroll-finish",
        json!({"user_id": user_id, "code": code}),
    )
    .await;
    secret
}

/// `user-login` with the right password: its second-factor token.
async fn first_factor(s: &TestServer, email: &str) -> String {
    let r = s.try_login(email, PW).await;
    assert_eq!(r.refusal(), Some(Refusal::SecondFactorRequired));
    r.response["mfa_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn expired_and_spent_second_factor_tokens_are_pruned() {
    let s = TestServer::start().await;
    let secret = enrolled(&s, "bob@example.com").await;
    let spent = first_factor(&s, "bob@example.com").await;
    let _pending = first_factor(&s, "bob@example.com").await;
    s.clock.advance(Duration::seconds(30));
    let now = code(&s, &secret);
    s.ok("user-login-mfa", json!({"mfa_token": spent, "code": now}))
        .await;
    assert_eq!(mfa_tokens(&s).await, 2);
    // Nothing has ended yet.
    chore(&s).await;
    assert_eq!(mfa_tokens(&s).await, 2);
    // Six minutes on, both are past use (tokens live five minutes); a new
    // one is not.
    s.clock.advance(Duration::minutes(6));
    let fresh = first_factor(&s, "bob@example.com").await;
    chore(&s).await;
    assert_eq!(mfa_tokens(&s).await, 1);
    s.clock.advance(Duration::seconds(30));
    let now = code(&s, &secret);
    s.ok("user-login-mfa", json!({"mfa_token": fresh, "code": now}))
        .await;
    s.clock.advance(Duration::minutes(6));
    chore(&s).await;
    assert_eq!(mfa_tokens(&s).await, 0);
}

#[tokio::test]
async fn passwordless_attempts_are_pruned_once_no_window_counts_them() {
    let s = TestServer::start().await;
    s.verified_user("ada@example.com", PW).await;
    let start = || {
        s.call(
            "passwordless-start",
            json!({"channel": "email", "address": "ada@example.com"}),
        )
    };
    for _ in 0..3 {
        assert!(start().await.success);
    }
    assert_eq!(attempts(&s).await, 3);
    // Past their 15 minutes the codes are dead, but the address's window
    // (3 per 12 h) still counts them: they stay, and it stays full.
    s.clock.advance(Duration::minutes(16));
    chore(&s).await;
    assert_eq!(attempts(&s).await, 3);
    assert_eq!(
        start().await.refusal(),
        Some(Refusal::TooManyCodesForAddress)
    );
    // Past the longer window (a client's, 24 h) nothing counts them.
    s.clock.advance(Duration::hours(24));
    chore(&s).await;
    assert_eq!(attempts(&s).await, 0);
    // A live attempt is left alone.
    assert!(start().await.success);
    chore(&s).await;
    assert_eq!(attempts(&s).await, 1);
}
