//! authnzerver's email requests over real SMTP (aiosmtpd): the sign-up
//! verification mail and the forgot-password mail, with the fixes of
//! requests.md (either verify-URL name, real sending, 24 h rule).

mod common;

use authnzd::config::{MailTransport, SmtpTls};
use authnzd_client::Reply;
use chrono::Duration;
use common::TestServer;
use common::mailsink::{MailSink, free_port, parse};
use serde_json::{Value, json};

const PW: &str = "tangerine-Voyage-8713-quartz";
const TOKEN: &str =
    "verification-token-0123456789abcdefghijklmnopqrstuvwxyz-0123456789abcdefghijklmnopqrstuvwxyz";

async fn server(port: u16) -> TestServer {
    TestServer::start_with(|c| {
        c.mail.mail_transport = MailTransport::Smtp;
        c.mail.smtp_host = "127.0.0.1".into();
        c.mail.smtp_port = port;
        c.mail.smtp_tls = SmtpTls::None;
        c.mail.mail_from = "Example <accounts@example.com>".into();
        c.mail.mail_timeout = 5;
    })
    .await
}

async fn call(s: &TestServer, name: &str, body: Value) -> Reply {
    s.client.request(name, body).await.expect(name)
}

fn signup_body(session: &str, created: &Value, url_key: &str) -> Value {
    let mut body = json!({
        "email_address": "ada@example.com", "session_token": session,
        "created_info": created, "server_name": "Example", "server_baseurl": "https://example.com",
        "verification_token": TOKEN, "verification_expiry": 900,
    });
    body[url_key] = json!("/users/verify");
    body
}

#[tokio::test]
async fn signup_mail_is_sent_and_the_account_then_verifies() {
    let sink = MailSink::start();
    let s = server(sink.port).await;
    let created = call(
        &s,
        "user-new",
        json!({"full_name": "Ada", "email": "ada@example.com", "password": PW}),
    )
    .await;
    assert!(created.success, "{created:?}");
    let session = s.anon_session().await;

    // authnzerver's action read `account_verify_url`; its schema said
    // `server_verify_url`. Both work.
    let sent = call(
        &s,
        "user-sendemail-signup",
        signup_body(&session, &created.response, "account_verify_url"),
    )
    .await;
    assert!(sent.success, "{sent:?}");
    assert_eq!(sent.response["user_id"], created.response["user_id"]);
    assert!(sent.response["emailverify_sent_datetime"].is_string());
    let m = parse(&sink.wait_for(1));
    assert_eq!(m.header("To"), Some("ada@example.com"));
    assert_eq!(m.header("From"), Some("Example <accounts@example.com>"));
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

    let again = call(
        &s,
        "user-sendemail-signup",
        signup_body(&session, &created.response, "server_verify_url"),
    )
    .await;
    assert!(again.success, "{again:?}");
    sink.wait_for(2);

    // The frontend checks the token it generated, then verifies the address.
    let verified = call(
        &s,
        "user-set-emailverified",
        json!({"email": "ada@example.com"}),
    )
    .await;
    assert!(verified.success, "{verified:?}");
    // A verified account gets no more sign-up mail.
    let r = call(
        &s,
        "user-sendemail-signup",
        signup_body(&session, &created.response, "account_verify_url"),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("target user for verification email already active and verified")
    );
    // Neither URL name: a clear error.
    let mut body = signup_body(&session, &created.response, "account_verify_url");
    body.as_object_mut().unwrap().remove("account_verify_url");
    let r = call(&s, "user-sendemail-signup", body).await;
    assert!(r.failure_reason.unwrap().contains("account_verify_url"));
    // created_info must be an object, email_address a string.
    let mut body = signup_body(&session, &created.response, "account_verify_url");
    body["created_info"] = json!("user 4");
    let r = call(&s, "user-sendemail-signup", body).await;
    assert!(!r.success && r.response["problems"].is_array(), "{r:?}");
    s.stop().await;
}

#[tokio::test]
async fn forgot_password_mail_at_most_once_a_day() {
    let sink = MailSink::start();
    let s = server(sink.port).await;
    s.verified_user("ada@example.com", PW).await;
    let session = s.anon_session().await;
    let body = json!({
        "email_address": "ada@example.com", "session_token": session, "server_name": "Example",
        "server_baseurl": "https://example.com", "password_forgot_url": "/password/reset",
        "verification_token": TOKEN, "verification_expiry": 900,
    });
    let r = call(&s, "user-sendemail-forgotpass", body.clone()).await;
    assert!(r.success, "{r:?}");
    let m = parse(&sink.wait_for(1));
    assert_eq!(
        m.header("Subject"),
        Some("[Example] Please verify your password reset request")
    );
    assert!(m.text.contains("https://example.com/password/reset"));
    let r = call(&s, "user-sendemail-forgotpass", body.clone()).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("forgot-pass verification email sent less than 24 hours ago")
    );
    s.clock.advance(Duration::hours(24) + Duration::seconds(1));
    // A session made on the server's (moved) clock.
    let made = call(&s, "session-new", common::session_new_body(None, 48)).await;
    let session = made.response["session_token"].clone();
    let mut next = body.clone();
    next["session_token"] = json!(session);
    let r = call(&s, "user-sendemail-forgotpass", next).await;
    assert!(r.success, "{r:?}");
    sink.wait_for(2);
    // Unknown addresses and unverified accounts get nothing.
    let mut other = body.clone();
    other["email_address"] = json!("nobody@example.com");
    let r = call(&s, "user-sendemail-forgotpass", other).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("invalid user for forgot-pass email request")
    );
    s.stop().await;
}

#[tokio::test]
async fn a_dead_smtp_server_is_a_clear_failure() {
    let s = server(free_port()).await;
    let created = call(
        &s,
        "user-new",
        json!({"full_name": "Ada", "email": "ada@example.com", "password": PW}),
    )
    .await;
    let session = s.anon_session().await;
    let r = call(
        &s,
        "user-sendemail-signup",
        signup_body(&session, &created.response, "account_verify_url"),
    )
    .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("verification email could not be sent because of an email server problem")
    );
    assert!(r.response["emailverify_sent_datetime"].is_null());
    assert!(
        call(&s, "session-exists", json!({"session_token": session}))
            .await
            .success
    );
    s.stop().await;
}

#[tokio::test]
async fn concurrent_forgot_password_requests_send_one_mail() {
    let sink = MailSink::start();
    let s = server(sink.port).await;
    s.verified_user("ada@example.com", PW).await;
    let session = s.anon_session().await;
    let body = json!({
        "email_address": "ada@example.com", "session_token": session, "server_name": "Example",
        "server_baseurl": "https://example.com", "password_forgot_url": "/password/reset",
        "verification_token": TOKEN, "verification_expiry": 900,
    });
    let asks = (0..8)
        .map(|_| {
            let (client, body) = (s.client.clone(), body.clone());
            tokio::spawn(async move {
                client
                    .request("user-sendemail-forgotpass", body)
                    .await
                    .unwrap()
            })
        })
        .collect::<Vec<_>>();
    let mut sent = 0;
    for a in asks {
        let r = a.await.unwrap();
        if r.success {
            sent += 1;
        } else {
            assert_eq!(
                r.failure_reason.as_deref(),
                Some("forgot-pass verification email sent less than 24 hours ago")
            );
        }
    }
    assert_eq!(sent, 1, "reset mails sent at once");
    sink.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(sink.messages().len(), 1);
    s.stop().await;
}

#[tokio::test]
async fn a_failed_reset_mail_does_not_use_up_the_day() {
    let port = free_port();
    let s = server(port).await;
    s.verified_user("ada@example.com", PW).await;
    let session = s.anon_session().await;
    let body = json!({
        "email_address": "ada@example.com", "session_token": session, "server_name": "Example",
        "server_baseurl": "https://example.com", "password_forgot_url": "/password/reset",
        "verification_token": TOKEN, "verification_expiry": 900,
    });
    let r = call(&s, "user-sendemail-forgotpass", body.clone()).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("forgot-pass verification email could not be sent because email server issue")
    );
    assert!(r.response["emailforgotpass_sent_datetime"].is_null());
    let found = call(&s, "user-lookup-email", json!({"email": "ada@example.com"})).await;
    assert!(
        found.response["user_info"]["emailforgotpass_sent_datetime"].is_null(),
        "{found:?}"
    );
    s.stop().await;
}
