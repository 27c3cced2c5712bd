//! authnzerver's email requests over real SMTP (aiosmtpd): the sign-up
//! verification mail and the forgot-password mail, with the fixes of
//! requests.md (either verify-URL name, real sending, 24 h rule).

mod common;

use authnzd_proto::Refusal;
use chrono::Duration;
use common::mail::MAIL_FROM;
use common::mailsink::{free_port, parse};
use common::{PW, TestServer, counts, invalid_naming, tally};
use serde_json::{Value, json};

const TOKEN: &str =
    "verification-token-0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz";

fn signup_body(session: &str, created: &Value, url_key: &str) -> Value {
    let mut body = json!({
        "email_address": "ada@example.com", "session_token": session,
        "created_info": created, "server_name": "Example", "server_baseurl": "https://example.com",
        "verification_token": TOKEN, "verification_expiry": 900,
    });
    body[url_key] = json!("/users/verify");
    body
}

fn forgot_body(session: &str) -> Value {
    json!({
        "email_address": "ada@example.com", "session_token": session, "server_name": "Example",
        "server_baseurl": "https://example.com", "password_forgot_url": "/password/reset",
        "verification_token": TOKEN, "verification_expiry": 900,
    })
}

/// Ada signed up (not verified) on `s`, an anonymous session, and Ada's
/// user-new response.
async fn signed_up(s: &TestServer) -> (String, Value) {
    let created = s.sign_up("ada@example.com", PW).await;
    assert!(created.success, "{created:?}");
    (s.anon_session().await, created.response)
}

#[tokio::test]
async fn signup_mail_is_sent_and_the_account_then_verifies() {
    let (s, sink) = TestServer::with_mail().await;
    let (session, created) = signed_up(&s).await;

    // authnzerver's action read `account_verify_url`; its schema said
    // `server_verify_url`. Both work.
    let body = signup_body(&session, &created, "account_verify_url");
    let sent = s.ok("user-sendemail-signup", body).await;
    assert_eq!(sent["user_id"], created["user_id"]);
    assert!(sent["emailverify_sent_datetime"].is_string());
    let m = parse(&sink.wait_for(1).await);
    assert_eq!(m.header("To"), Some("ada@example.com"));
    assert_eq!(m.header("From"), Some(MAIL_FROM));
    assert_eq!(
        m.header("Subject"),
        Some("[Example] Please verify your account sign up request")
    );
    assert!(m.header("Message-ID").is_some() && m.header("Date").is_some());
    assert!(
        m.text.contains("https://example.com/users/verify"),
        "{}",
        m.text
    );
    assert!(
        m.text.contains("203.0.113.7"),
        "the session's IP is in the mail"
    );
    // The token is wrapped at 70 columns, as authnzerver does.
    assert!(!m.text.contains(TOKEN), "the long token was not wrapped");
    assert!(
        m.text.replace(['\r', '\n'], "").contains(TOKEN),
        "{}",
        m.text
    );

    let body = signup_body(&session, &created, "server_verify_url");
    s.ok("user-sendemail-signup", body).await;
    sink.wait_for(2).await;

    // The frontend checks the token it generated, then verifies the address.
    s.ok(
        "user-set-emailverified",
        json!({"email": "ada@example.com"}),
    )
    .await;
    // A verified account gets no more sign-up mail.
    let body = signup_body(&session, &created, "account_verify_url");
    s.refuses("user-sendemail-signup", body, Refusal::AlreadyVerified)
        .await;
    // Neither URL name: a clear error.
    let mut body = signup_body(&session, &created, "account_verify_url");
    body.as_object_mut().unwrap().remove("account_verify_url");
    let reason = s.refused("user-sendemail-signup", body).await;
    assert!(invalid_naming(&reason, "account_verify_url"), "{reason}");
    // created_info must be an object, email_address a string.
    let mut body = signup_body(&session, &created, "account_verify_url");
    body["created_info"] = json!("user 4");
    let r = s.call("user-sendemail-signup", body).await;
    assert!(!r.success && r.response["problems"].is_array(), "{r:?}");
}

#[tokio::test]
async fn forgot_password_mail_at_most_once_a_day() {
    let (s, sink) = TestServer::with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    let body = forgot_body(&s.anon_session().await);
    s.ok("user-sendemail-forgotpass", body.clone()).await;
    let m = parse(&sink.wait_for(1).await);
    assert_eq!(
        m.header("Subject"),
        Some("[Example] Please verify your password reset request")
    );
    assert!(m.text.contains("https://example.com/password/reset"));
    let reason = s.refused("user-sendemail-forgotpass", body.clone()).await;
    assert_eq!(reason, Refusal::ForgotpassTooSoon);
    s.clock.advance(Duration::hours(24) + Duration::seconds(1));
    // A session made on the server's (moved) clock.
    let session = s.session_for(None, 48).await;
    s.ok("user-sendemail-forgotpass", forgot_body(&session))
        .await;
    sink.wait_for(2).await;
    // Unknown addresses and unverified accounts get nothing.
    let mut other = body;
    other["email_address"] = json!("nobody@example.com");
    s.refuses(
        "user-sendemail-forgotpass",
        other,
        Refusal::ForgotpassInvalidUser,
    )
    .await;
}

#[tokio::test]
async fn a_dead_smtp_server_is_a_clear_failure() {
    let s = TestServer::with_smtp(free_port(), |_| {}).await;
    let (session, created) = signed_up(&s).await;
    let body = signup_body(&session, &created, "account_verify_url");
    let r = s.call("user-sendemail-signup", body).await;
    assert_eq!(r.refusal(), Some(Refusal::VerificationMailFailed));
    assert!(r.response["emailverify_sent_datetime"].is_null());
    assert!(s.session_alive(&session).await);
}

#[tokio::test]
async fn concurrent_forgot_password_requests_send_one_mail() {
    let (s, sink) = TestServer::with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    let body = forgot_body(&s.anon_session().await);
    let asked = s.repeated("user-sendemail-forgotpass", body, 8).await;
    let sent = counts(1, [(Refusal::ForgotpassTooSoon, 7)]);
    assert_eq!(tally(&asked), sent, "reset mails sent at once");
    sink.wait_for(1).await;
    assert_eq!(sink.settled_count().await, 1);
}

#[tokio::test]
async fn a_failed_reset_mail_does_not_use_up_the_day() {
    let s = TestServer::with_smtp(free_port(), |_| {}).await;
    s.verified_user("ada@example.com", PW).await;
    let body = forgot_body(&s.anon_session().await);
    let r = s.call("user-sendemail-forgotpass", body).await;
    assert_eq!(r.refusal(), Some(Refusal::ForgotpassMailFailed));
    assert!(r.response["emailforgotpass_sent_datetime"].is_null());
    let found = s
        .call("user-lookup-email", json!({"email": "ada@example.com"}))
        .await;
    assert!(
        found.response["user_info"]["emailforgotpass_sent_datetime"].is_null(),
        "{found:?}"
    );
}
