//! Passwordless sign-in over real SMTP (aiosmtpd) and a local Twilio-style
//! server: codes and links complete sign-in; windows, wrong codes, expiry,
//! reuse and enumeration are refused as specified.

mod common;

use authnzd::config::{MailTransport, SmsSender, SmtpTls};
use authnzd_client::Reply;
use chrono::Duration;
use common::mail::LINK_BASE;
use common::mailsink::{MailSink, SinkTls, free_port, parse};
use common::{PW, TestServer, call, tally};
use serde_json::{Value, json};

const SENT_TOO_OFTEN: &str = "too many codes sent to this address; try again later";
const NOT_SENT: &str = "the code could not be sent";
const INACTIVE: &str = "user exists but is inactive or locked";
const WRONG: &str = "wrong code";
const TOO_MANY_WRONG: &str = "too many wrong codes; ask for a new one";

/// A server mailing a sink, from "Sign-in <signin@example.com>".
async fn server_with_mail() -> (TestServer, MailSink) {
    TestServer::with_mail_and(|c| c.mail.mail_from = "Sign-in <signin@example.com>".into()).await
}

/// A passwordless-start body by email.
fn by_email(address: &str) -> Value {
    json!({"channel": "email", "address": address})
}

async fn start(s: &TestServer, address: &str) -> Reply {
    s.call("passwordless-start", by_email(address)).await
}

/// The attempt id of a successful start.
async fn started(s: &TestServer, address: &str) -> Value {
    s.ok("passwordless-start", by_email(address)).await["attempt_id"].clone()
}

/// passwordless-finish of `attempt` with `code`.
async fn finish(s: &TestServer, attempt: &Value, code: &str) -> Reply {
    let body = json!({"attempt_id": attempt, "code": code});
    s.call("passwordless-finish", body).await
}

/// passwordless-finish by the link's token.
async fn follow(s: &TestServer, token: &str) -> Reply {
    s.call("passwordless-finish", json!({"link_token": token}))
        .await
}

/// The 6-digit code and the link token in a delivered message.
fn code_and_link(raw: &[u8]) -> (String, String) {
    let m = parse(raw);
    let code = m
        .text
        .split_whitespace()
        .find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit()))
        .expect("a 6-digit code")
        .to_owned();
    let link = m
        .text
        .split_whitespace()
        .find(|w| w.starts_with(&format!("{LINK_BASE}?token=")))
        .expect("a link")
        .to_owned();
    let token = link.split_once("token=").expect("token").1.to_owned();
    (code, token)
}

/// A server mailing a sink, Ada's account, and one sign-in attempt of hers
/// with the code it mailed.
struct Attempt {
    s: TestServer,
    sink: MailSink,
    uid: i64,
    attempt: Value,
    code: String,
}

async fn ada_signing_in() -> Attempt {
    let (s, sink) = server_with_mail().await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let attempt = started(&s, "ada@example.com").await;
    let (code, _) = code_and_link(&sink.wait_for(1));
    Attempt {
        s,
        sink,
        uid,
        attempt,
        code,
    }
}

/// A code that is not `code`.
fn other_than(code: &str) -> &'static str {
    if code == "123456" { "654321" } else { "123456" }
}

#[tokio::test]
async fn code_and_link_arrive_by_smtp_and_each_signs_in_once() {
    let (s, sink) = server_with_mail().await;
    let uid = s.verified_user("ada@example.com", PW).await;

    let first = s
        .ok("passwordless-start", by_email("Ada@Example.com"))
        .await;
    let attempt = first["attempt_id"].clone();
    assert!(attempt.is_string(), "{first}");
    assert_eq!(first["channel"], "email");
    let raw = sink.wait_for(1);
    let m = parse(&raw);
    assert_eq!(m.header("To"), Some("ada@example.com"));
    assert_eq!(m.header("From"), Some("Sign-in <signin@example.com>"));
    assert!(
        m.header("Message-ID").is_some_and(|v| v.contains('@')),
        "{:?}",
        m.headers
    );
    assert!(m.header("Date").is_some());
    let (code, token) = code_and_link(&raw);
    let subject = format!("[Example] Your sign-in code: {code}");
    assert_eq!(m.header("Subject"), Some(subject.as_str()));
    assert!(m.html.contains(&code), "the HTML part carries the code too");

    let anon = s.anon_session().await;
    let body = json!({"attempt_id": attempt, "code": code, "session_token": anon});
    let done = s.ok("passwordless-finish", body).await;
    assert_eq!(done["user_id"], uid);
    assert_eq!(done["user_role"], "authenticated");
    // The anonymous session is gone, as after user-login.
    assert!(!s.session_alive(&anon).await);
    // The code, and the link of the same attempt, are spent.
    assert!(!finish(&s, &attempt, &code).await.success);
    let r = follow(&s, &token).await;
    assert!(!r.success, "the link of a used attempt worked");

    // A second attempt, finished by its link; the link works once.
    assert!(start(&s, "ada@example.com").await.success);
    let (_, token) = code_and_link(&sink.wait_for(2));
    let r = follow(&s, &token).await;
    assert!(r.success, "{r:?}");
    let r = follow(&s, &token).await;
    assert!(!r.success, "a link worked twice");
    // Two sends and two finishes are in the audit log, by user.
    let events: Vec<(String, Option<i64>)> = s
        .audit_events()
        .await
        .into_iter()
        .map(|(e, u, _)| (e, u))
        .collect();
    let send = ("passwordless-send".to_owned(), Some(uid));
    let finish = ("passwordless-finish".to_owned(), Some(uid));
    assert_eq!(events, [send.clone(), finish.clone(), send, finish]);
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let (s, sink) = server_with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    let known = start(&s, "ada@example.com").await;
    sink.wait_for(1);
    let unknown = start(&s, "nobody@example.com").await;
    assert_eq!(known.success, unknown.success);
    assert_eq!(known.messages, unknown.messages);
    assert_eq!(known.failure_reason, unknown.failure_reason);
    let keys = |r: &Reply| {
        let mut k: Vec<String> = r.response.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(&known), keys(&unknown));
    let mailed = sink.settled_count();
    assert_eq!(mailed, 1, "mail went to an address without an account");
    // Guessing codes for it gets the same refusal as for a real attempt.
    let r = finish(&s, &unknown.response["attempt_id"], "000000").await;
    assert_eq!(r.failure_reason.as_deref(), Some(WRONG));
}

#[tokio::test]
async fn five_wrong_codes_end_the_attempt_and_codes_expire() {
    let Attempt {
        s,
        sink,
        attempt,
        code,
        ..
    } = ada_signing_in().await;
    let wrong = other_than(&code);
    for i in 1..=5 {
        let r = finish(&s, &attempt, wrong).await;
        assert!(!r.success);
        let expected = if i < 5 { WRONG } else { TOO_MANY_WRONG };
        assert_eq!(r.failure_reason.as_deref(), Some(expected), "try {i}");
    }
    let r = finish(&s, &attempt, &code).await;
    assert!(!r.success, "the right code worked after five wrong ones");

    // Expiry (15 minutes by default) on the server's clock.
    let attempt = started(&s, "ada@example.com").await;
    let (code, token) = code_and_link(&sink.wait_for(2));
    s.clock
        .advance(Duration::minutes(15) + Duration::seconds(1));
    let r = finish(&s, &attempt, &code).await;
    assert!(!r.success, "an expired code worked");
    let r = follow(&s, &token).await;
    assert!(!r.success, "an expired link worked");
}

#[tokio::test]
async fn send_windows_hold_across_a_restart() {
    let (mut s, sink) = server_with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    for i in 1..=3 {
        let r = start(&s, "ada@example.com").await;
        assert!(r.success, "send {i}: {r:?}");
    }
    let fourth = start(&s, "ada@example.com").await;
    assert_eq!(fourth.failure_reason.as_deref(), Some(SENT_TOO_OFTEN));
    s.restart().await;
    let r = start(&s, "ada@example.com").await;
    assert!(!r.success, "the window was forgotten by a restart");
    // Unknown addresses count the same way (no enumeration through limits).
    for _ in 0..3 {
        assert!(start(&s, "ghost@example.com").await.success);
    }
    assert!(!start(&s, "ghost@example.com").await.success);
    s.clock.advance(Duration::hours(12) + Duration::seconds(1));
    let r = start(&s, "ada@example.com").await;
    assert!(r.success, "{r:?}");
    assert_eq!(sink.messages().len(), 4);
}

#[tokio::test]
async fn create_user_makes_a_verified_account_on_first_success() {
    let (s, sink) = server_with_mail().await;
    let body = json!({"channel": "email", "address": "new@example.com", "create_user": true,
                      "redirect_url": "/welcome"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let (code, _) = code_and_link(&sink.wait_for(1));
    let done = finish(&s, &attempt, &code).await;
    assert!(done.success, "{done:?}");
    assert_eq!(done.response["redirect_url"], "/welcome");
    let found = s
        .call("user-lookup-email", json!({"email": "new@example.com"}))
        .await;
    let info = &found.response["user_info"];
    assert_eq!(info["user_id"], done.response["user_id"]);
    assert_eq!(info["email_verified"], true);
    assert_eq!(info["is_active"], true);
    assert_eq!(info["user_role"], "authenticated");
    // Disposable and reserved addresses are not signed up.
    let body = json!({"channel": "email", "address": "root@example.com", "create_user": true});
    s.refused("passwordless-start", body).await;
}

#[tokio::test]
async fn smtp_down_is_a_clear_failure_and_the_server_keeps_serving() {
    let s = TestServer::with_smtp(free_port(), |_| {}).await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let reason = s
        .refused("passwordless-start", by_email("ada@example.com"))
        .await;
    assert_eq!(reason, NOT_SENT);
    let anon = s.anon_session().await;
    let r = s.session_exists(&anon).await;
    assert!(r.success, "the server stopped serving: {r:?}");
    // The failure is counted where operators look.
    let (_, health) = s.health().await;
    assert_eq!(health["delivery"]["mail"], json!({"sent": 0, "failed": 1}));
    let events = s.audit_events().await;
    assert!(
        events
            .iter()
            .any(|(e, u, _)| e == "passwordless-send-failed" && *u == Some(uid)),
        "{events:?}"
    );
}

#[tokio::test]
async fn sms_codes_go_through_twilios_api_and_sign_in() {
    let (s, twilio) = TestServer::with_twilio().await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let info = s.edit_user(uid, json!({"phone": "(201) 555-0123"})).await;
    assert_eq!(info["phone"], "+12015550123");
    let r = s.try_edit_user(uid, json!({"phone": "12"})).await;
    assert!(!r.success, "a bad number was stored");
    // One number, one account: SMS sign-in must know whom it signs in.
    let bob = s.verified_user("bob@example.com", PW).await;
    let r = s
        .try_edit_user(bob, json!({"phone": "+1 201 555 0123"}))
        .await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("phone number already in use")
    );

    let body = json!({"channel": "sms", "address": "+1 201 555 0123"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let sent = twilio.messages();
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert_eq!(
        m.path,
        "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json"
    );
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("AC0123456789abcdef:secret-token");
    assert_eq!(
        m.authorization.as_deref(),
        Some(format!("Basic {basic}").as_str())
    );
    assert!(
        m.content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/x-www-form-urlencoded"))
    );
    assert_eq!(m.field("To"), Some("+12015550123"));
    assert_eq!(m.field("From"), Some("+12015550100"));
    let body = m.field("Body").unwrap();
    let code: String = body.chars().take_while(char::is_ascii_digit).collect();
    assert_eq!(code.len(), 6, "{body}");
    let done = finish(&s, &attempt, &code).await;
    assert!(done.success, "{done:?}");
    assert_eq!(done.response["user_id"], uid);

    // A bad number is a clear error; create_user needs email.
    let body = json!({"channel": "sms", "address": "call me"});
    let reason = s.refused("passwordless-start", body).await;
    assert_eq!(reason, "invalid request: address");
    let body = json!({"channel": "sms", "address": "+12015550199", "create_user": true});
    s.refused("passwordless-start", body).await;
}

#[tokio::test]
async fn the_file_transport_and_the_typed_client() {
    use authnzd_client::params;
    let mail_dir = tempfile::tempdir().unwrap();
    let dir = mail_dir.path().to_owned();
    let s = TestServer::start_with(move |c| {
        c.mail.mail_transport = MailTransport::File;
        c.mail.mail_dir = dir;
        c.passwordless.passwordless_link_base_url = LINK_BASE.into();
    })
    .await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let started = s
        .client
        .passwordless_start(&params::PasswordlessStart {
            channel: "email".into(),
            address: "ada@example.com".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let files = emls(mail_dir.path());
    assert_eq!(files.len(), 1, "one .eml written");
    let (code, _) = code_and_link(&std::fs::read(&files[0]).unwrap());
    let signed_in = s
        .client
        .passwordless_finish(&params::PasswordlessFinish {
            attempt_id: Some(started.attempt_id),
            code: Some(code.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(signed_in.user_id, uid);
}

/// The `.eml` files the file transport wrote in `dir`.
fn emls(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect()
}

#[tokio::test]
async fn the_sms_webhook_gets_json() {
    let (s, hook) = TestServer::with_sms_webhook().await;
    let uid = s.verified_user("ada@example.com", PW).await;
    s.edit_user(uid, json!({"phone": "+442079460958"})).await;
    let body = json!({"channel": "sms", "address": "+44 20 7946 0958"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let sent = hook.messages();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].path, "/sms-hook");
    assert!(
        sent[0]
            .content_type
            .as_deref()
            .is_some_and(|c| c.starts_with("application/json"))
    );
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["to"], "+442079460958");
    let code: String = body["body"].as_str().unwrap().chars().take(6).collect();
    let done = finish(&s, &attempt, &code).await;
    assert!(done.success, "{done:?}");
}

#[tokio::test]
async fn mail_goes_over_starttls_and_implicit_tls() {
    for (mode, tls) in [
        (SinkTls::Starttls, SmtpTls::Starttls),
        (SinkTls::Implicit, SmtpTls::Tls),
    ] {
        let sink = MailSink::start_with(mode);
        let (port, ca) = (sink.port, sink.cert_path());
        let s = TestServer::with_smtp(port, |c| {
            c.mail.smtp_tls = tls;
            c.mail.smtp_ca_file = Some(ca);
        })
        .await;
        s.verified_user("ada@example.com", PW).await;
        let first = start(&s, "ada@example.com").await;
        assert!(first.success, "{mode:?}: {first:?}");
        let (code, _) = code_and_link(&sink.wait_for(1));
        let done = finish(&s, &first.response["attempt_id"], &code).await;
        assert!(done.success, "{mode:?}: {done:?}");
        s.stop().await;

        // Without the sink's certificate trusted, nothing is sent in clear.
        let s = TestServer::with_smtp(port, |c| c.mail.smtp_tls = tls).await;
        s.verified_user("ada@example.com", PW).await;
        let r = start(&s, "ada@example.com").await;
        assert_eq!(r.failure_reason.as_deref(), Some(NOT_SENT), "{mode:?}");
        assert_eq!(sink.messages().len(), 1);
        s.stop().await;
    }
}

#[tokio::test]
async fn the_per_client_window_counts_every_address() {
    let s = TestServer::start_with(|c| c.passwordless.passwordless_per_ip = 2).await;
    let one = s.client_from("198.51.100.1");
    for n in 0..2 {
        let r = call(
            &one,
            "passwordless-start",
            by_email(&format!("a{n}@example.com")),
        )
        .await;
        assert!(r.success, "{r:?}");
    }
    let r = call(&one, "passwordless-start", by_email("a9@example.com")).await;
    assert_eq!(
        r.failure_reason.as_deref(),
        Some("too many codes requested from this client; try again later")
    );
    let another = s.client_from("198.51.100.2");
    let r = call(&another, "passwordless-start", by_email("a9@example.com")).await;
    assert!(r.success, "another client was refused: {r:?}");
}

#[tokio::test]
async fn a_silent_smtp_server_costs_at_most_the_mail_timeout() {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let s = TestServer::with_smtp(port, |c| c.mail.mail_timeout = 1).await;
    s.verified_user("ada@example.com", PW).await;
    let began = std::time::Instant::now();
    let r = start(&s, "ada@example.com").await;
    let took = began.elapsed();
    assert_eq!(r.failure_reason.as_deref(), Some(NOT_SENT));
    // The bound is what matters; generous slack for a loaded machine.
    assert!(took < std::time::Duration::from_secs(5), "took {took:?}");
    s.stop().await;
    held.abort();
}

#[tokio::test]
async fn a_user_who_cannot_sign_in_gets_no_session() {
    // Two attempts in flight, then the account is locked by an admin.
    let Attempt {
        s,
        sink,
        uid,
        attempt: first,
        code,
        ..
    } = ada_signing_in().await;
    assert!(start(&s, "ada@example.com").await.success);
    let (_, token) = code_and_link(&sink.wait_for(2));
    s.lock_user(uid, "lock").await;
    let by_code = finish(&s, &first, &code).await;
    assert!(!by_code.success, "a locked user signed in by code");
    assert_eq!(by_code.response.get("user_id"), None, "{by_code:?}");
    let by_link = follow(&s, &token).await;
    assert!(!by_link.success, "a locked user signed in by link");
    assert_eq!(by_link.response.get("user_id"), None, "{by_link:?}");
    // A new start answers as for anyone, and sends nothing.
    let again = start(&s, "ada@example.com").await;
    assert!(again.success, "{again:?}");
    let mailed = sink.settled_count();
    assert_eq!(mailed, 2, "a code went to a locked account");

    // Deactivated (not locked) users are refused the same way, and so are
    // those whose address is no longer verified (user-login refuses them
    // too).
    for (n, (email, update)) in [
        ("bob@example.com", json!({"is_active": false})),
        ("carol@example.com", json!({"email_verified": false})),
    ]
    .into_iter()
    .enumerate()
    {
        let user = s.verified_user(email, PW).await;
        let attempt = started(&s, email).await;
        let (code, _) = code_and_link(&sink.wait_for(3 + n));
        s.edit_user(user, update).await;
        if n == 1 {
            assert!(s.login(email, PW).await.is_err());
        }
        let r = finish(&s, &attempt, &code).await;
        assert_eq!(r.failure_reason.as_deref(), Some(INACTIVE), "{email}");
    }
}

#[tokio::test]
async fn known_and_unknown_addresses_take_about_as_long() {
    // A mail server that takes 400 ms per message makes sends slow enough
    // to compare with the scheduler's noise.
    let delay = std::time::Duration::from_millis(400);
    let sink = MailSink::start_slow(delay);
    let s = TestServer::with_smtp(sink.port, |c| {
        c.passwordless.passwordless_per_address = 20;
        c.passwordless.passwordless_per_ip = 100;
    })
    .await;
    s.verified_user("ada@example.com", PW).await;
    // The first send teaches the server how long a send takes.
    assert!(start(&s, "ada@example.com").await.success);
    let timed = |address: &'static str| {
        let s = &s;
        async move {
            let began = std::time::Instant::now();
            let r = start(s, address).await;
            assert!(r.success, "{r:?}");
            began.elapsed()
        }
    };
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        known.push(timed("ada@example.com").await);
        unknown.push(timed("nobody@example.com").await);
    }
    known.sort();
    unknown.sort();
    eprintln!("known {known:?}, unknown {unknown:?}");
    assert!(known[0] >= delay, "sends were not slow: {known:?}");
    for t in &unknown {
        assert!(
            *t >= delay.mul_f64(0.7),
            "an unknown address answered in {t:?}, sends take {known:?}"
        );
    }
    // Loose upper bound: the pause must not be much longer than a send.
    assert!(
        unknown[1] < known[1] + std::time::Duration::from_millis(500),
        "known {known:?}, unknown {unknown:?}"
    );
    assert_eq!(sink.messages().len(), 4, "mail went to an unknown address");
}

#[tokio::test]
async fn operator_templates_and_the_sms_file_sender() {
    let dir = tempfile::tempdir().unwrap();
    let (mail_dir, sms_dir, templates) = (
        dir.path().join("mail"),
        dir.path().join("sms"),
        dir.path().join("templates"),
    );
    std::fs::create_dir_all(&templates).unwrap();
    std::fs::write(
        templates.join("magic_link.subject"),
        "Sign in to {server_name} with {code}",
    )
    .unwrap();
    std::fs::write(
        templates.join("magic_code.sms"),
        "{server_name}: use {code} within {expires_minutes} min",
    )
    .unwrap();
    let (m, t, sd) = (mail_dir.clone(), templates.clone(), sms_dir.clone());
    let s = TestServer::start_with(move |c| {
        c.mail.mail_transport = MailTransport::File;
        c.mail.mail_dir = m;
        c.mail.mail_templates = Some(t);
        c.sms.sms_sender = SmsSender::File;
        c.sms.sms_dir = sd;
        c.server.server_name = "Acme".into();
        c.passwordless.passwordless_ttl = 600;
        c.passwordless.passwordless_link_base_url = LINK_BASE.into();
    })
    .await;
    let uid = s.verified_user("ada@example.com", PW).await;
    assert!(start(&s, "ada@example.com").await.success);
    let eml = emls(&mail_dir).into_iter().next().expect("an .eml");
    let raw = std::fs::read(eml).unwrap();
    let (code, _) = code_and_link(&raw);
    assert_eq!(
        parse(&raw).header("Subject"),
        Some(format!("Sign in to Acme with {code}").as_str())
    );

    s.edit_user(uid, json!({"phone": "+12015550123"})).await;
    let body = json!({"channel": "sms", "address": "201-555-0123"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let lines = std::fs::read_to_string(sms_dir.join("sms.jsonl")).unwrap();
    let sent: Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
    assert_eq!(sent["to"], "+12015550123");
    let body = sent["body"].as_str().unwrap();
    let code = body
        .strip_prefix("Acme: use ")
        .and_then(|b| b.strip_suffix(" within 10 min"))
        .unwrap_or_else(|| panic!("not from the template: {body}"));
    let done = finish(&s, &attempt, code).await;
    assert!(done.success, "{done:?}");
    assert_eq!(done.response["user_id"], uid);
}

#[tokio::test]
async fn concurrent_guesses_get_five_tries_in_all() {
    let Attempt {
        s, attempt, code, ..
    } = ada_signing_in().await;
    // Thirty wrong codes at once: only five may be compared with the code.
    let guesses = (0..30)
        .map(|i| format!("{:06}", (code.parse::<u32>().unwrap() + 1 + i) % 1_000_000))
        .map(|guess| json!({"attempt_id": attempt, "code": guess}));
    let answers = tally(&s.at_once("passwordless-finish", guesses).await);
    let compared: usize = [WRONG, TOO_MANY_WRONG]
        .iter()
        .filter_map(|r| answers.get(*r))
        .sum();
    assert_eq!(compared, 5, "codes compared: {answers:?}");
    let expired = answers.get("invalid or expired code or link");
    assert_eq!(expired, Some(&25), "unexpected answers: {answers:?}");
    let r = finish(&s, &attempt, &code).await;
    assert!(!r.success, "the right code worked after five wrong ones");
}

#[tokio::test]
async fn concurrent_starts_keep_to_the_send_window() {
    let (s, sink) = server_with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    let starts = s
        .repeated("passwordless-start", by_email("ada@example.com"), 12)
        .await;
    // The window allows three, not one more, not one less.
    let mut sent = tally(&starts).get("success").copied().unwrap_or(0);
    assert_eq!(sent, 3, "starts accepted at once");
    // Refused starts leave no trace in the window: it fills to exactly 3.
    while start(&s, "ada@example.com").await.success {
        sent += 1;
        assert!(sent <= 3, "more than 3 sends in the window");
    }
    assert_eq!(sent, 3);
    sink.wait_for(3);
    assert_eq!(sink.settled_count(), 3);
    s.clock.advance(Duration::hours(12) + Duration::seconds(1));
    assert!(start(&s, "ada@example.com").await.success);
}

#[tokio::test]
async fn refusals_are_audited() {
    let Attempt {
        s,
        sink,
        uid,
        attempt,
        code,
        ..
    } = ada_signing_in().await;
    let r = finish(&s, &attempt, other_than(&code)).await;
    assert_eq!(r.failure_reason.as_deref(), Some(WRONG));
    assert!(start(&s, "ada@example.com").await.success);
    let third = started(&s, "ada@example.com").await;
    let (code, _) = code_and_link(&sink.wait_for(3));
    assert!(!start(&s, "ada@example.com").await.success);
    s.lock_user(uid, "lock").await;
    assert!(!finish(&s, &third, &code).await.success);
    let events: Vec<(String, Option<i64>, Value)> = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, _, _)| e.starts_with("passwordless-"))
        .collect();
    let ev = |e: &str, u: Option<i64>, d: Value| (e.to_owned(), u, d);
    let sent = ev(
        "passwordless-send",
        Some(uid),
        json!({"channel": "email", "sent": true}),
    );
    assert_eq!(
        events,
        [
            sent.clone(),
            ev(
                "passwordless-wrong-code",
                None,
                json!({"channel": "email", "wrong_codes": 1})
            ),
            sent.clone(),
            sent,
            ev(
                "passwordless-window-full",
                None,
                json!({"channel": "email", "window": "address"})
            ),
            ev(
                "passwordless-refused",
                Some(uid),
                json!({"channel": "email"})
            ),
        ]
    );
}
