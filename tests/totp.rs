//! TOTP second factor over the wire: enrolment through the QR code (read
//! back with a QR decoder), codes from another TOTP implementation, the
//! `user-login` → `user-login-mfa` step, single use under concurrency,
//! recovery codes, disabling.

mod common;

use authnzd::clock::Clock as _;
use common::{PW, TestServer};
use serde_json::json;

/// The `otpauth://` URI the PNG QR code holds.
fn read_qr(png_base64: &str) -> String {
    use base64::Engine as _;
    let png = base64::engine::general_purpose::STANDARD
        .decode(png_base64)
        .expect("base64");
    let img = image::load_from_memory(&png).expect("a PNG").to_luma8();
    let mut prepared = rqrr::PreparedImage::prepare(img);
    let grids = prepared.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code");
    grids[0].decode().expect("decodes").1
}

/// The secret of an `otpauth://` URI.
fn secret_of(uri: &str) -> Vec<u8> {
    let query = uri.split_once('?').expect("a query").1;
    let b32 = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret=");
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, b32).expect("base32")
}

/// The code another implementation computes for the server's clock.
fn code(s: &TestServer, secret: &[u8]) -> String {
    let now = u64::try_from(s.clock.now().timestamp()).unwrap();
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, now)
}

/// Moves to the next 30 s step (each is accepted once).
fn next_step(s: &TestServer) {
    s.clock.advance(chrono::Duration::seconds(30));
}

/// A user with TOTP on; its secret and recovery codes.
async fn enrolled(s: &TestServer, email: &str) -> (i64, Vec<u8>, Vec<String>) {
    let user_id = s.verified_user(email, PW).await;
    let started = s.ok("totp-enroll-start", json!({"user_id": user_id})).await;
    let uri = read_qr(started["qr_png_base64"].as_str().unwrap());
    assert_eq!(uri, started["otpauth_uri"].as_str().unwrap());
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("issuer="), "{uri}");
    assert!(started["qr_svg"].as_str().unwrap().contains("<svg"));
    let secret = secret_of(&uri);
    assert!(secret.len() >= 20, "at least 160 bits");
    let finished = s
        .ok(
            "totp-enroll-finish",
            json!({"user_id": user_id, "code": code(s, &secret)}),
        )
        .await;
    let codes: Vec<String> = finished["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(codes.len(), 10);
    (user_id, secret, codes)
}

/// `user-login` with the right password: the MFA token it answers with.
async fn first_factor(s: &TestServer, email: &str) -> String {
    let r = s.try_login(email, PW).await;
    assert!(
        !r.success,
        "a TOTP user logged in on the password alone: {r:?}"
    );
    assert_eq!(r.failure_reason.as_deref(), Some("second factor required"));
    assert_eq!(r.response["mfa_required"], json!(true));
    assert_eq!(r.response["methods"], json!(["totp", "recovery_code"]));
    r.response["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_factor(s: &TestServer, token: &str, code: &str) -> authnzd_client::Reply {
    s.call("user-login-mfa", json!({"mfa_token": token, "code": code}))
        .await
}

#[tokio::test]
async fn enrol_by_qr_then_log_in_with_a_code_from_another_implementation() {
    let s = TestServer::start().await;
    // Nothing is on until a first code: the password alone still logs in.
    let pending = s.verified_user("pending@example.org", PW).await;
    s.ok("totp-enroll-start", json!({"user_id": pending})).await;
    assert!(s.try_login("pending@example.org", PW).await.success);
    assert_eq!(
        s.refused(
            "totp-enroll-finish",
            json!({"user_id": pending, "code": "000000"})
        )
        .await,
        "invalid totp code"
    );

    let (user_id, secret, _) = enrolled(&s, "ada@example.org").await;
    assert_eq!(
        s.refused("totp-enroll-start", json!({"user_id": user_id}))
            .await,
        "totp already enabled"
    );
    next_step(&s);
    let token = first_factor(&s, "ada@example.org").await;
    let now = code(&s, &secret);
    let r = second_factor(&s, &token, &now).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_id"], json!(user_id));
    // The token works once.
    assert_eq!(
        second_factor(&s, &token, &now)
            .await
            .failure_reason
            .as_deref(),
        Some("invalid or expired mfa token")
    );
    // The same code in a new login: its step is spent.
    let token = first_factor(&s, "ada@example.org").await;
    assert_eq!(
        second_factor(&s, &token, &now)
            .await
            .failure_reason
            .as_deref(),
        Some("totp code already used")
    );
    // A wrong code is refused (and the token is spent with it).
    let token = first_factor(&s, "ada@example.org").await;
    let wrong = if now == "123456" { "654321" } else { "123456" };
    assert_eq!(
        second_factor(&s, &token, wrong)
            .await
            .failure_reason
            .as_deref(),
        Some("invalid totp code")
    );
    assert_eq!(
        second_factor(&s, &token, &now)
            .await
            .failure_reason
            .as_deref(),
        Some("invalid or expired mfa token")
    );
    let events: Vec<String> = s.audit_events().await.into_iter().map(|e| e.0).collect();
    for e in ["totp-enroll-start", "totp-enrolled", "mfa-login"] {
        assert!(events.iter().any(|x| x == e), "no {e} in {events:?}");
    }
}

#[tokio::test]
async fn recovery_codes_work_once_and_codes_and_passwords_disable() {
    let s = TestServer::start().await;
    let (user_id, secret, codes) = enrolled(&s, "bob@example.org").await;
    let token = first_factor(&s, "bob@example.org").await;
    assert!(second_factor(&s, &token, &codes[0]).await.success);
    let token = first_factor(&s, "bob@example.org").await;
    assert_eq!(
        second_factor(&s, &token, &codes[0])
            .await
            .failure_reason
            .as_deref(),
        Some("invalid totp code")
    );
    // Regenerating needs proof; the old codes then stop working.
    assert_eq!(
        s.refused("totp-recovery-regenerate", json!({"user_id": user_id}))
            .await,
        "code or password required"
    );
    let fresh = s
        .ok(
            "totp-recovery-regenerate",
            json!({"user_id": user_id, "password": PW}),
        )
        .await;
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    let token = first_factor(&s, "bob@example.org").await;
    assert!(!second_factor(&s, &token, &codes[1]).await.success);
    // Disabling: with a wrong password no, with a current code yes.
    assert!(
        !s.call(
            "totp-disable",
            json!({"user_id": user_id, "password": "not the password"})
        )
        .await
        .success
    );
    next_step(&s);
    s.ok(
        "totp-disable",
        json!({"user_id": user_id, "code": code(&s, &secret)}),
    )
    .await;
    assert!(s.try_login("bob@example.org", PW).await.success);
}

#[tokio::test]
async fn ten_concurrent_submissions_of_one_code_let_exactly_one_through() {
    let s = TestServer::start().await;
    let (user_id, secret, _) = enrolled(&s, "carol@example.org").await;
    next_step(&s);
    let body = json!({"user_id": user_id, "code": code(&s, &secret)});
    let replies = s.repeated("totp-verify", body, 10).await;
    let passed = replies.iter().filter(|r| r.success).count();
    assert_eq!(passed, 1, "{replies:?}");
    assert!(
        replies
            .iter()
            .filter(|r| !r.success)
            .all(|r| r.failure_reason.as_deref() == Some("totp code already used"))
    );
}

#[tokio::test]
async fn wrong_codes_count_toward_the_lockout() {
    let s = TestServer::start_with(|c| {
        c.lockout.user_lock_tries = 2;
        c.lockout.failed_login_delay_ms = 10;
    })
    .await;
    let (user_id, secret, _) = enrolled(&s, "dave@example.org").await;
    let wrong = |n: u8| format!("{:06}", u32::from(n) * 111_111);
    let mut reasons = Vec::new();
    for n in 1..=3 {
        let r = s
            .call("totp-verify", json!({"user_id": user_id, "code": wrong(n)}))
            .await;
        reasons.push(r.failure_reason.clone().unwrap_or_default());
    }
    assert_eq!(reasons[..2], ["invalid totp code", "invalid totp code"]);
    assert_eq!(reasons[2], "user account is locked");
    next_step(&s);
    let r = s
        .call(
            "totp-verify",
            json!({"user_id": user_id, "code": code(&s, &secret)}),
        )
        .await;
    assert_eq!(r.failure_reason.as_deref(), Some("user account is locked"));
}

#[tokio::test]
async fn bad_codes_and_unknown_users_are_clear_refusals() {
    let s = TestServer::start().await;
    let (user_id, _, _) = enrolled(&s, "erin@example.org").await;
    for bad in [
        "",
        "12345",
        "1234567",
        "abcdef",
        "１２３４５６",
        &"9".repeat(10_000),
    ] {
        let r = s
            .call("totp-verify", json!({"user_id": user_id, "code": bad}))
            .await;
        assert_eq!(r.status, 200);
        assert_eq!(
            r.failure_reason.as_deref(),
            Some("invalid totp code"),
            "{bad:.20}"
        );
    }
    assert_eq!(
        s.refused("totp-verify", json!({"user_id": 999_999, "code": "123456"}))
            .await,
        "no such user"
    );
    assert_eq!(
        s.refused(
            "user-login-mfa",
            json!({"mfa_token": "not-a-token", "code": "123456"})
        )
        .await,
        "invalid or expired mfa token"
    );
    let other = s.verified_user("frank@example.org", PW).await;
    assert_eq!(
        s.refused("totp-disable", json!({"user_id": other, "password": PW}))
            .await,
        "totp not enabled"
    );
}
