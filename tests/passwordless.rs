//! Passwordless sign-in over real SMTP (aiosmtpd) and a local Twilio-style
//! server: codes and links complete sign-in; windows, wrong codes, expiry,
//! reuse and enumeration are refused as specified.

mod common;

use authnzd::config::{MailTransport, SmsSender, SmtpTls};
use authnzd_client::Reply;
use authnzd_proto::Refusal;
use chrono::Duration;
use common::mail::LINK_BASE;
use common::mailsink::{MailSink, SinkTls, free_port, parse};
use common::{PW, TestServer, call, eventually, tally};
use serde_json::{Value, json};

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
    let (code, _) = code_and_link(&sink.wait_for(1).await);
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
    let raw = sink.wait_for(1).await;
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
    let (_, token) = code_and_link(&sink.wait_for(2).await);
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

/// Two starts answered alike: success, messages, reason and the response's
/// field names (an address with an account and one without).
fn answered_alike(known: &Reply, unknown: &Reply) {
    assert_eq!(known.success, unknown.success);
    assert_eq!(known.messages, unknown.messages);
    assert_eq!(known.refusal(), unknown.refusal());
    let keys = |r: &Reply| {
        let mut k: Vec<String> = r.response.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(keys(known), keys(unknown));
}

#[tokio::test]
async fn unknown_addresses_get_the_same_answer_and_no_mail() {
    let (s, sink) = server_with_mail().await;
    s.verified_user("ada@example.com", PW).await;
    let known = start(&s, "ada@example.com").await;
    sink.wait_for(1).await;
    let unknown = start(&s, "nobody@example.com").await;
    answered_alike(&known, &unknown);
    let mailed = sink.settled_count().await;
    assert_eq!(mailed, 1, "mail went to an address without an account");
    // Guessing codes for it gets the same refusal as for a real attempt.
    let r = finish(&s, &unknown.response["attempt_id"], "000000").await;
    assert_eq!(r.refusal(), Some(Refusal::WrongCode));
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
        let expected = if i < 5 {
            Refusal::WrongCode
        } else {
            Refusal::TooManyWrongCodes
        };
        assert_eq!(r.refusal(), Some(expected), "try {i}");
    }
    let r = finish(&s, &attempt, &code).await;
    assert!(!r.success, "the right code worked after five wrong ones");

    // Expiry (15 minutes by default) on the server's clock.
    let attempt = started(&s, "ada@example.com").await;
    let (code, token) = code_and_link(&sink.wait_for(2).await);
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
    assert_eq!(fourth.refusal(), Some(Refusal::TooManyCodesForAddress));
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
    sink.wait_for(4).await;
    assert_eq!(sink.settled_count().await, 4);
}

#[tokio::test]
async fn create_user_makes_a_verified_account_on_first_success() {
    let (s, sink) = TestServer::with_mail_and(|c| {
        c.gateway.redirect_domains = "app.example.com".into();
    })
    .await;
    let body = json!({"channel": "email", "address": "new@example.com", "create_user": true,
                      "redirect_url": "https://app.example.com/welcome"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let (code, _) = code_and_link(&sink.wait_for(1).await);
    let done = finish(&s, &attempt, &code).await;
    assert!(done.success, "{done:?}");
    assert_eq!(
        done.response["redirect_url"],
        "https://app.example.com/welcome"
    );
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
async fn redirect_urls_pass_the_same_allow_list_as_the_gateway() {
    let (s, sink) = TestServer::with_mail_and(|c| {
        c.gateway.forward_auth_domains = "app.example.com".into();
        c.gateway.redirect_domains = "example.org".into();
    })
    .await;
    s.verified_user("ada@example.com", PW).await;
    let with = |target: &str| json!({"channel": "email", "address": "ada@example.com", "redirect_url": target});
    for bad in [
        "https://evil.example/",
        "https://app.example.com.evil.example/",
        "https://evilexample.org/",
        "http://app.example.com/",
        "javascript:alert(document.cookie)",
        "JavaScript:alert(1)//https://app.example.com/",
        "data:text/html,<script>alert(1)</script>",
        "//evil.example/",
        "/welcome",
        "https:evil.example",
        "https://app.example.com@evil.example/",
        "https://user:pw@app.example.com/",
        "https://evil.example\\@app.example.com/",
        "https://evil.example\\.app.example.com/",
        "https://app.example.com/\nSet-Cookie: x=1",
        " https://app.example.com/",
        "https://127.0.0.1/",
    ] {
        let r = s.call("passwordless-start", with(bad)).await;
        assert!(!r.success, "{bad:?} accepted");
        assert_eq!(r.refusal(), Some(Refusal::RedirectUrlInvalid), "{bad:?}");
        assert!(r.response.get("attempt_id").is_none(), "{r:?}");
    }
    // Nothing was sent or stored for them: no mail, and the address's
    // window (3 per 12 h) still has room for the three below.
    assert_eq!(sink.settled_count().await, 0);
    for (n, good) in [
        "https://app.example.com/after?x=1#top",
        "https://example.org/",
        "https://www.EXAMPLE.org:8443/in",
    ]
    .into_iter()
    .enumerate()
    {
        let attempt = s.ok("passwordless-start", with(good)).await["attempt_id"].clone();
        let (code, token) = code_and_link(&sink.wait_for(n + 1).await);
        let done = if n == 1 {
            follow(&s, &token).await
        } else {
            finish(&s, &attempt, &code).await
        };
        assert!(done.success, "{good}: {done:?}");
        assert_eq!(done.response["redirect_url"], good);
    }
    // Without any configured domain no redirect_url passes at all.
    let (bare, _sink) = server_with_mail().await;
    bare.verified_user("ada@example.com", PW).await;
    let r = bare
        .call("passwordless-start", with("https://app.example.com/"))
        .await;
    assert_eq!(r.refusal(), Some(Refusal::RedirectUrlInvalid));
}

#[tokio::test]
async fn smtp_down_does_not_change_the_answer_and_is_counted() {
    let s = TestServer::with_smtp(free_port(), |_| {}).await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let known = start(&s, "ada@example.com").await;
    let unknown = start(&s, "nobody@example.com").await;
    // Delivery is not the answer's business: an account whose code could
    // not go out answers as an address without one.
    assert!(known.success, "{known:?}");
    answered_alike(&known, &unknown);
    s.assert_serving().await;
    // The failure is counted where operators look.
    delivery_failures_reach(&s, "mail", 1).await;
    let (_, health) = s.health().await;
    assert_eq!(health["delivery"]["mail"], json!({"sent": 0, "failed": 1}));
    let events = s.audit_events().await;
    assert!(
        events
            .iter()
            .any(|(e, u, _)| e == "passwordless-send-failed" && *u == Some(uid)),
        "{events:?}"
    );
    // The attempt whose code never went out is ended.
    let r = finish(&s, &known.response["attempt_id"], "000000").await;
    assert_eq!(r.refusal(), Some(Refusal::CodeOrLinkInvalid));
}

/// Waits until /health counts `n` failed sends on `channel` (sends happen
/// after the answer); 15 s at most.
async fn delivery_failures_reach(s: &TestServer, channel: &str, n: u64) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    loop {
        let (_, health) = s.health().await;
        if health["delivery"][channel]["failed"] == json!(n) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{channel} failures: {health}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
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
        r.refusal(),
        Some(Refusal::Other("phone number already in use".into()))
    );

    let body = json!({"channel": "sms", "address": "+1 201 555 0123"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let sent = eventually("an SMS", || {
        Some(twilio.messages()).filter(|m| !m.is_empty())
    })
    .await;
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
    assert_eq!(reason, Refusal::invalid("address"));
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
    let files = eventually("an .eml", || {
        Some(emls(mail_dir.path())).filter(|f| !f.is_empty())
    })
    .await;
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
    let sent = eventually("an SMS", || Some(hook.messages()).filter(|m| !m.is_empty())).await;
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
        let (code, _) = code_and_link(&sink.wait_for(1).await);
        let done = finish(&s, &first.response["attempt_id"], &code).await;
        assert!(done.success, "{mode:?}: {done:?}");
        s.stop().await;

        // Without the sink's certificate trusted, nothing is sent in clear.
        let s = TestServer::with_smtp(port, |c| c.mail.smtp_tls = tls).await;
        s.verified_user("ada@example.com", PW).await;
        let r = start(&s, "ada@example.com").await;
        assert!(r.success, "{mode:?}: {r:?}");
        delivery_failures_reach(&s, "mail", 1).await;
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
    assert_eq!(r.refusal(), Some(Refusal::TooManyCodesFromClient));
    let another = s.client_from("198.51.100.2");
    let r = call(&another, "passwordless-start", by_email("a9@example.com")).await;
    assert!(r.success, "another client was refused: {r:?}");
}

#[tokio::test]
async fn an_ipv6_client_counts_by_its_64() {
    // The default window: 10 per client per 24 h.
    let s = TestServer::start().await;
    let mut answers = Vec::new();
    for n in 1..=12 {
        // A new address of the same /64 each time, written in varied forms.
        let ip = format!("2001:db8:1:2:{n:x}:{:x}::{n}", (n * 7919) % 0xffff);
        let from = s.client_from(&ip);
        let address = format!("v6-{n}@example.com");
        answers.push(call(&from, "passwordless-start", by_email(&address)).await);
    }
    let sent = answers.iter().filter(|r| r.success).count();
    assert_eq!(sent, 10, "{answers:?}");
    for r in &answers[10..] {
        assert_eq!(r.refusal(), Some(Refusal::TooManyCodesFromClient));
    }
    // The next /64 over is another client; IPv4 keeps its own address.
    let next = s.client_from("2001:db8:1:3::1");
    let r = call(&next, "passwordless-start", by_email("v6-next@example.com")).await;
    assert!(r.success, "{r:?}");
    let v4 = s.client_from("::ffff:198.51.100.20");
    for n in 0..10 {
        let address = format!("v4-{n}@example.com");
        assert!(
            call(&v4, "passwordless-start", by_email(&address))
                .await
                .success
        );
    }
    let plain_v4 = s.client_from("198.51.100.20");
    let r = call(
        &plain_v4,
        "passwordless-start",
        by_email("v4-x@example.com"),
    )
    .await;
    assert_eq!(
        r.refusal(),
        Some(Refusal::TooManyCodesFromClient),
        "a v4-mapped address is the IPv4 address"
    );
}

#[tokio::test]
async fn codes_and_links_sent_before_a_key_is_added_still_sign_in() {
    let (mut s, sink) = TestServer::with_mail_and(|c| {
        c.passwordless.passwordless_per_ip = 3;
        c.passwordless.passwordless_per_address = 10;
    })
    .await;
    s.verified_user("ada@example.com", PW).await;
    let from = s.client_from("198.51.100.30");
    let start = |client: &authnzd_client::Client| {
        let client = client.clone();
        async move { call(&client, "passwordless-start", by_email("ada@example.com")).await }
    };
    let first = start(&from).await.response["attempt_id"].clone();
    let (code, _) = code_and_link(&sink.wait_for(1).await);
    assert!(start(&from).await.success);
    let (_, token) = code_and_link(&sink.wait_for(2).await);
    // `authnzd key add`, then the restart that reads the new ring.
    let newer = authnzd::envelope::KeyRing::generate_key();
    s.config.keys.secret = Some(format!("{newer},{}", s.key).into());
    s.restart().await;
    let from = s.client_from("198.51.100.30");
    let r = finish(&s, &first, other_than(&code)).await;
    assert_eq!(r.refusal(), Some(Refusal::WrongCode));
    let r = finish(&s, &first, &code).await;
    assert!(r.success, "a code sent before the key was added: {r:?}");
    let r = follow(&s, &token).await;
    assert!(r.success, "a link sent before the key was added: {r:?}");
    // The client's window (3) still counts the two sent before.
    let third = start(&from).await;
    assert!(third.success, "{third:?}");
    let (code, _) = code_and_link(&sink.wait_for(3).await);
    assert!(
        finish(&s, &third.response["attempt_id"], &code)
            .await
            .success
    );
    assert_eq!(
        start(&from).await.refusal(),
        Some(Refusal::TooManyCodesFromClient)
    );
}

#[tokio::test]
async fn a_silent_smtp_server_does_not_hold_the_answer() {
    // Accepts connections and never says a word.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            open.push(stream);
        }
    });
    let s = TestServer::with_smtp(port, |c| c.mail.mail_timeout = 5).await;
    s.verified_user("ada@example.com", PW).await;
    let r = start(&s, "ada@example.com").await;
    assert!(r.success, "{r:?}");
    // Answered while the send still waits on the silent server: neither
    // sent nor failed yet.
    let (_, health) = s.health().await;
    assert_eq!(health["delivery"]["mail"], json!({"sent": 0, "failed": 0}));
    // The send gives up at the mail timeout, and that is counted.
    delivery_failures_reach(&s, "mail", 1).await;
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
    let (_, token) = code_and_link(&sink.wait_for(2).await);
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
    let mailed = sink.settled_count().await;
    assert_eq!(mailed, 2, "a code went to a locked account");

    // Deactivated (not locked) users are refused the same way.
    let bob = s.verified_user("bob@example.com", PW).await;
    let attempt = started(&s, "bob@example.com").await;
    let (code, _) = code_and_link(&sink.wait_for(3).await);
    s.edit_user(bob, json!({"is_active": false})).await;
    let r = finish(&s, &attempt, &code).await;
    assert_eq!(r.refusal(), Some(Refusal::AccountCannotSignIn));

    // An address no longer verified (changed since) still signs in, as
    // user-login does; a code that arrived there verifies it again.
    let carol = s.verified_user("carol@example.com", PW).await;
    s.edit_user(carol, json!({"email_verified": false})).await;
    assert!(s.login("carol@example.com", PW).await.is_ok());
    let attempt = started(&s, "carol@example.com").await;
    let (code, _) = code_and_link(&sink.wait_for(4).await);
    let r = finish(&s, &attempt, &code).await;
    assert!(r.success, "{r:?}");
    let info = s
        .ok("user-lookup-email", json!({"email": "carol@example.com"}))
        .await;
    assert_eq!(info["user_info"]["email_verified"], true, "{info}");
}

#[tokio::test]
async fn known_and_unknown_addresses_answer_after_the_same_minimum() {
    // A mail server that takes 1 s per message: an answer that waited for
    // the send would show it.
    let delay = std::time::Duration::from_secs(1);
    let minimum = std::time::Duration::from_millis(300);
    let sink = MailSink::start_slow(delay);
    let s = TestServer::with_smtp(sink.port, |c| {
        c.passwordless.passwordless_per_address = 20;
        c.passwordless.passwordless_per_ip = 100;
        c.passwordless.passwordless_min_answer_ms = 300;
    })
    .await;
    s.verified_user("ada@example.com", PW).await;
    let timed = |address: &'static str| {
        let s = &s;
        async move {
            let began = std::time::Instant::now();
            let r = start(s, address).await;
            assert!(r.success, "{r:?}");
            began.elapsed()
        }
    };
    // The very first start after start-up waits too (there is no average
    // to learn first).
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        unknown.push(timed("nobody@example.com").await);
        known.push(timed("ada@example.com").await);
    }
    eprintln!("known {known:?}, unknown {unknown:?}");
    for t in known.iter().chain(&unknown) {
        assert!(*t >= minimum, "answered in {t:?}: {known:?} {unknown:?}");
    }
    sink.wait_for(3).await;
    assert_eq!(
        sink.settled_count().await,
        3,
        "mail went to an unknown address"
    );
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
    let eml = eventually("an .eml", || emls(&mail_dir).into_iter().next()).await;
    let raw = std::fs::read(eml).unwrap();
    let (code, _) = code_and_link(&raw);
    assert_eq!(
        parse(&raw).header("Subject"),
        Some(format!("Sign in to Acme with {code}").as_str())
    );

    s.edit_user(uid, json!({"phone": "+12015550123"})).await;
    let body = json!({"channel": "sms", "address": "201-555-0123"});
    let attempt = s.ok("passwordless-start", body).await["attempt_id"].clone();
    let lines = eventually("an SMS line", || {
        std::fs::read_to_string(sms_dir.join("sms.jsonl"))
            .ok()
            .filter(|l| l.ends_with('\n'))
    })
    .await;
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
    let compared: usize = [Refusal::WrongCode, Refusal::TooManyWrongCodes]
        .iter()
        .map(|r| answers.of(r.clone()))
        .sum();
    assert_eq!(compared, 5, "codes compared: {answers:?}");
    let expired = answers.of(Refusal::CodeOrLinkInvalid);
    assert_eq!(expired, 25, "unexpected answers: {answers:?}");
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
    let mut sent = tally(&starts).successes();
    assert_eq!(sent, 3, "starts accepted at once");
    // Refused starts leave no trace in the window: it fills to exactly 3.
    while start(&s, "ada@example.com").await.success {
        sent += 1;
        assert!(sent <= 3, "more than 3 sends in the window");
    }
    assert_eq!(sent, 3);
    sink.wait_for(3).await;
    assert_eq!(sink.settled_count().await, 3);
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
    assert_eq!(r.refusal(), Some(Refusal::WrongCode));
    assert!(start(&s, "ada@example.com").await.success);
    // Codes go out after the answers: wait for this one, so the next
    // message is the third's.
    sink.wait_for(2).await;
    let third = started(&s, "ada@example.com").await;
    let (code, _) = code_and_link(&sink.wait_for(3).await);
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
