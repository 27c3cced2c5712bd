//! TOTP second factor over the wire: enrolment through the QR code (read
//! back with a QR decoder), codes from another TOTP implementation, the
//! `user-login` → `user-login-mfa` step, single use under concurrency,
//! recovery codes, disabling.

mod common;

use authnzd::clock::Clock as _;
use authnzd_proto::Refusal;
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
    assert_eq!(r.refusal(), Some(Refusal::SecondFactorRequired));
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
    s.refuses(
        "totp-enroll-finish",
        json!({"user_id": pending, "code": "000000"}),
        Refusal::TotpCodeWrong,
    )
    .await;

    let (user_id, secret, _) = enrolled(&s, "ada@example.org").await;
    s.refuses(
        "totp-enroll-start",
        json!({"user_id": user_id}),
        Refusal::TotpAlreadyEnabled,
    )
    .await;
    next_step(&s);
    let token = first_factor(&s, "ada@example.org").await;
    let now = code(&s, &secret);
    let r = second_factor(&s, &token, &now).await;
    assert!(r.success, "{r:?}");
    assert_eq!(r.response["user_id"], json!(user_id));
    // The token works once.
    assert_eq!(
        second_factor(&s, &token, &now).await.refusal(),
        Some(Refusal::MfaTokenInvalid)
    );
    // The same code in a new login: its step is spent.
    let token = first_factor(&s, "ada@example.org").await;
    assert_eq!(
        second_factor(&s, &token, &now).await.refusal(),
        Some(Refusal::TotpCodeReused)
    );
    // A wrong code is refused (and the token is spent with it).
    let token = first_factor(&s, "ada@example.org").await;
    let wrong = if now == "123456" { "654321" } else { "123456" };
    assert_eq!(
        second_factor(&s, &token, wrong).await.refusal(),
        Some(Refusal::TotpCodeWrong)
    );
    assert_eq!(
        second_factor(&s, &token, &now).await.refusal(),
        Some(Refusal::MfaTokenInvalid)
    );
    let events: Vec<String> = s.audit_events().await.into_iter().map(|e| e.0).collect();
    for e in ["totp-enroll-start", "totp-enrolled", "mfa-login"] {
        assert!(events.iter().any(|x| x == e), "no {e} in {events:?}");
    }
}

#[tokio::test]
async fn recovery_codes_work_once_and_only_codes_disable() {
    let s = TestServer::start().await;
    let (user_id, secret, codes) = enrolled(&s, "bob@example.org").await;
    let token = first_factor(&s, "bob@example.org").await;
    assert!(second_factor(&s, &token, &codes[0]).await.success);
    let token = first_factor(&s, "bob@example.org").await;
    assert_eq!(
        second_factor(&s, &token, &codes[0]).await.refusal(),
        Some(Refusal::TotpCodeWrong)
    );
    // Regenerating needs a current code, not the password; the old codes
    // then stop working.
    for no_code in [
        json!({"user_id": user_id}),
        json!({"user_id": user_id, "password": PW}),
    ] {
        s.refuses(
            "totp-recovery-regenerate",
            no_code,
            Refusal::InvalidParameters,
        )
        .await;
    }
    let fresh = s
        .ok(
            "totp-recovery-regenerate",
            json!({"user_id": user_id, "code": codes[2]}),
        )
        .await;
    assert_eq!(fresh["recovery_codes"].as_array().unwrap().len(), 10);
    let token = first_factor(&s, "bob@example.org").await;
    assert!(!second_factor(&s, &token, &codes[1]).await.success);
    // Disabling: the password alone no, a wrong code no, a current code yes.
    for wrong in [
        json!({"user_id": user_id, "password": PW}),
        json!({"user_id": user_id, "code": "000000"}),
    ] {
        assert!(!s.call("totp-disable", wrong).await.success);
    }
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
            .all(|r| r.refusal() == Some(Refusal::TotpCodeReused))
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
        reasons.push(r.refusal());
    }
    assert_eq!(
        reasons[..2],
        [Some(Refusal::TotpCodeWrong), Some(Refusal::TotpCodeWrong)]
    );
    assert_eq!(reasons[2], Some(Refusal::AccountLocked));
    next_step(&s);
    let r = s
        .call(
            "totp-verify",
            json!({"user_id": user_id, "code": code(&s, &secret)}),
        )
        .await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked));
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
        assert_eq!(r.refusal(), Some(Refusal::TotpCodeWrong), "{bad:.20}");
    }
    s.refuses(
        "totp-verify",
        json!({"user_id": 999_999, "code": "123456"}),
        Refusal::NoSuchUser,
    )
    .await;
    s.refuses(
        "user-login-mfa",
        json!({"mfa_token": "not-a-token", "code": "123456"}),
        Refusal::MfaTokenInvalid,
    )
    .await;
    let other = s.verified_user("frank@example.org", PW).await;
    s.refuses(
        "totp-disable",
        json!({"user_id": other, "code": "123456"}),
        Refusal::TotpNotEnabled,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_wrong_codes_and_the_right_one_gets_three_comparisons() {
    let s = TestServer::start_with(|c| {
        c.lockout.user_lock_tries = 3;
        c.lockout.failed_login_delay_ms = 1000;
        c.limits.rate_limits = "none".into();
    })
    .await;
    let (user_id, secret, _) = enrolled(&s, "burst@example.org").await;
    next_step(&s);
    let wrong =
        |n: usize| json!({"user_id": user_id, "code": format!("{:06}", n * 7919 % 1_000_000)});
    let right = code(&s, &secret);
    // Not the code of this step or of the neighbours the server accepts.
    let now = u64::try_from(s.clock.now().timestamp()).unwrap();
    let near: Vec<String> = [now - 30, now, now + 30]
        .iter()
        .map(|t| totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, &secret, *t))
        .collect();
    let bodies: Vec<_> = (1..=60)
        .map(wrong)
        .filter(|b| !near.iter().any(|c| b["code"] == c.as_str()))
        .collect();
    let sent = bodies.len();
    let burst = {
        let client = s.client.clone();
        tokio::spawn(async move { common::at_once(&client, "totp-verify", bodies).await })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        use sea_orm::EntityTrait;
        let row = entity::users::Entity::find_by_id(user_id)
            .one(&s.running().app.db)
            .await
            .unwrap()
            .unwrap();
        if row.failed_login_tries >= 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "tries never taken");
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let r = s
        .call("totp-verify", json!({"user_id": user_id, "code": right}))
        .await;
    assert_eq!(r.refusal(), Some(Refusal::AccountLocked));
    let replies = burst.await.unwrap();
    let t = common::tally(&replies);
    assert_eq!(t.of(Refusal::TotpCodeWrong), 3, "{t:?}");
    assert_eq!(t.of(Refusal::AccountLocked), sent - 3, "{t:?}");
    let compared = s.audit_count("totp-wrong-code").await;
    assert_eq!(compared, 3, "codes compared");
}

/// For an account with TOTP, every request that takes the password wants
/// the code too: in the request, or by a second step.
#[tokio::test]
async fn the_password_alone_passes_nowhere_for_a_totp_user() {
    let s = TestServer::start().await;
    let email = "two@example.org";
    let (user_id, secret, codes) = enrolled(&s, email).await;
    let session = s.session_for(Some(user_id), 1).await;
    let needs_step = |r: &authnzd_client::Reply| {
        assert!(!r.success, "{r:?}");
        assert_eq!(r.refusal(), Some(Refusal::SecondFactorRequired));
        assert!(r.response["user_id"].is_null(), "{r:?}");
        r.response["mfa_token"].as_str().map(str::to_owned)
    };
    let login = s.try_login(email, PW).await;
    assert!(needs_step(&login).is_some());
    let body = json!({"session_token": session, "password": PW});
    assert!(needs_step(&s.call("user-passcheck", body).await).is_some());
    let body = json!({"email": email, "password": PW});
    let nosession = s.call("user-passcheck-nosession", body).await;
    let token = needs_step(&nosession).expect("an mfa_token");
    // The passcheck's second step.
    next_step(&s);
    let done = second_factor(&s, &token, &code(&s, &secret)).await;
    assert!(done.success, "{done:?}");
    assert_eq!(done.response["amr"], json!(["pwd", "otp"]));
    // Requests without a second step want the code in the request.
    let change = json!({"user_id": user_id, "session_token": session, "full_name": "T",
                        "email": email, "current_password": PW, "new_password": common::PW2});
    let mut change_nosession = change.clone();
    change_nosession
        .as_object_mut()
        .unwrap()
        .remove("session_token");
    let delete = json!({"user_id": user_id, "email": email, "password": PW});
    for (request, body) in [
        ("user-changepass", &change),
        ("user-changepass-nosession", &change_nosession),
        ("user-delete", &delete),
    ] {
        let r = s.call(request, body.clone()).await;
        assert_eq!(needs_step(&r), None, "{request}: no second step");
    }
    // With the code in the request: a success that says so.
    let with_code = s
        .call(
            "user-passcheck-nosession",
            json!({"email": email, "password": PW, "code": codes[0]}),
        )
        .await;
    assert!(with_code.success, "{with_code:?}");
    assert_eq!(with_code.response["amr"], json!(["pwd", "recovery"]));
    let mut changed = change_nosession.clone();
    changed["code"] = json!(codes[1]);
    assert!(s.call("user-changepass-nosession", changed).await.success);
    // The same wrong code in the request is refused, and counted.
    let wrong = s
        .call(
            "user-login",
            json!({"session_token": s.anon_session().await, "email": email,
                   "password": common::PW2, "code": "000000"}),
        )
        .await;
    assert_eq!(wrong.refusal(), Some(Refusal::TotpCodeWrong));
}
