//! What a hostile client tries against the password paths: bursts of
//! guesses, clients that hang up, and what `Debug` could leak.

mod common;

use authnzd_proto::Refusal;
use std::time::{Duration, Instant};

use common::{PW, TestServer, all_at_once, counts, login_body, production_hashing, tally};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_wrong_guesses_lock_a_five_try_account() {
    let s = TestServer::with_lockout(5, 100).await;
    s.verified_user("target@example.org", PW).await;
    let (_, signed_in) = s.login("target@example.org", PW).await.expect("login");
    let mut guesses = Vec::new();
    for _ in 0..20 {
        let anon = s.anon_session().await;
        guesses.push(login_body(&anon, "target@example.org", "not it at all"));
    }
    let answers = tally(&s.at_once("user-login", guesses).await);
    // Each failure counted once: five answered as wrong, the fifteen after
    // them as locked.
    assert_eq!(
        answers,
        counts(
            0,
            [(Refusal::WrongPassword, 5), (Refusal::AccountLocked, 15)]
        )
    );
    // The lock logged the account out (the session was cached: it was
    // just checked by login's session-new).
    let gone = s.session_alive(&signed_in).await;
    assert!(!gone, "a locked account's session still served");
    let right = s.try_login("target@example.org", PW).await;
    assert!(!right.success, "a locked account logged in: {right:?}");
    assert_eq!(right.refusal(), Some(Refusal::AccountLocked));
    let retry = right.response["retry_after"].as_i64().expect("retry_after");
    assert!((3000..=3600).contains(&retry), "retry_after {retry}");
    // The lock ends by itself (a session that outlives the hour).
    let anon = s.session_for(None, 3).await;
    s.clock.advance(chrono::Duration::seconds(3601));
    s.ok("user-login", login_body(&anon, "target@example.org", PW))
        .await;
}

#[tokio::test]
async fn a_right_password_straight_after_a_wrong_one_logs_in_after_the_delay() {
    let s = TestServer::start_with(|c| c.lockout.failed_login_delay_ms = 400).await;
    s.verified_user("someone@example.org", PW).await;
    let started = Instant::now();
    let wrong = s.try_login("someone@example.org", "not the password").await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(wrong.refusal(), Some(Refusal::WrongPassword));
    let right = s.try_login("someone@example.org", PW).await;
    assert!(right.success, "{right:?}");

    // user-changepass: a wrong current password is checked (and delayed),
    // the right one straight after is accepted.
    let (user_id, session) = s.login("someone@example.org", PW).await.expect("login");
    let change = |current: &str| {
        json!({"user_id": user_id, "session_token": session, "full_name": "Test Person",
               "email": "someone@example.org", "current_password": current,
               "new_password": "Another-long-Passphrase-4471"})
    };
    let started = Instant::now();
    let refused = s.refused("user-changepass", change("nope")).await;
    assert!(started.elapsed() >= Duration::from_millis(400));
    assert_eq!(refused, Refusal::PasswordMismatch);
    s.ok("user-changepass", change(PW)).await;
}

#[tokio::test]
async fn addresses_without_an_account_wait_and_lock_exactly_like_accounts() {
    let s = TestServer::with_lockout(2, 200).await;
    s.verified_user("real@example.org", PW).await;
    let mut seen = Vec::new();
    for email in ["real@example.org", "nobody@example.org"] {
        let mut answers = Vec::new();
        for _ in 0..4 {
            let started = Instant::now();
            let r = s.try_login(email, "wrong wrong wrong").await;
            answers.push((r.refusal(), r.response.clone(), started.elapsed()));
        }
        seen.push(answers);
    }
    let (real, unknown) = (&seen[0], &seen[1]);
    for (n, ((rr, rresp, rt), (ur, uresp, ut))) in real.iter().zip(unknown).enumerate() {
        assert_eq!(rr, ur, "failure {n}: reasons differ");
        assert_eq!(rresp, uresp, "failure {n}: answers differ");
        let want = match n {
            0 => Some(Duration::from_millis(200)),
            1 => Some(Duration::from_millis(300)),
            _ => None,
        };
        if let Some(want) = want {
            assert!(*rt >= want && *ut >= want, "failure {n}: {rt:?} / {ut:?}");
            assert_eq!(*rr, Some(Refusal::WrongPassword));
        } else {
            assert_eq!(*rr, Some(Refusal::AccountLocked));
        }
    }
    // An unverified account with the right password answers as a wrong
    // password does: no id, the same reason.
    assert!(s.sign_up("pending@example.org", PW).await.success);
    let pending = s.try_login("pending@example.org", PW).await;
    assert_eq!(pending.refusal(), Some(Refusal::WrongPassword));
    assert!(pending.response["user_id"].is_null(), "{pending:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_hung_up_logins_leave_the_hashing_pool_usable() {
    let s = TestServer::start_with(|c| {
        production_hashing(c);
        c.hashing.hash_workers = Some(1);
        c.hashing.hash_queue = 8;
    })
    .await;
    s.verified_user("busy@example.org", PW).await;
    let impatient = s.impatient_client(Duration::from_millis(20));
    let body = json!({"email": "busy@example.org", "password": PW});
    let calls = std::iter::repeat_n(("user-passcheck-nosession", body.clone()), 200);
    let hung_up = all_at_once(&impatient, calls).await;
    let timed_out = hung_up.iter().filter(|r| r.is_err()).count();
    assert!(timed_out >= 190, "only {timed_out} of 200 hung up");
    // Hashes already started finish on their own, and so may those whose
    // client's hang-up the server has not seen yet (HTTP/1 notices it when
    // it answers): meanwhile the pool is busy (503); then it is free.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let r = s
            .client
            .request("user-passcheck-nosession", body.clone())
            .await;
        let still_busy = match r {
            Ok(r) if r.status == 503 => format!("{r:?}"),
            Ok(r) => {
                assert!(r.success, "{r:?}");
                break;
            }
            Err(e) => e.to_string(),
        };
        assert!(
            Instant::now() < deadline,
            "logins still refused after the clients hung up: {still_busy}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn debug_output_of_config_app_and_parameters_holds_no_secret() {
    let secrets = [
        "smtp-S3cret-value",
        "salt-S3cret-value",
        "superuser-S3cret-value-2291",
        "twilio-S3cret-value",
        "webhook-S3cret-value",
    ];
    let s = TestServer::start_with(|c| {
        c.mail.smtp_username = Some("mailer".into());
        c.mail.smtp_password = Some(secrets[0].into());
        c.keys.pii_salt = Some(secrets[1].into());
        c.database.superuser_password = Some(secrets[2].into());
        c.sms.twilio_auth_token = Some(secrets[3].into());
        c.sms.sms_sender = authnzd::config::SmsSender::Webhook;
        c.sms.sms_webhook_url =
            Some(format!("http://127.0.0.1:9/hook?token={}", secrets[4]).into());
    })
    .await;
    let printed = format!("{:?}\n{:?}", s.config, s.running().app);
    let params: authnzd_client::params::UserLogin = serde_json::from_value(json!({
        "session_token": "session-S3cret-token", "email": "a@example.org", "password": "password-S3cret"
    }))
    .expect("params");
    let printed = format!("{printed}\n{params:?}");
    for secret in
        secrets
            .iter()
            .copied()
            .chain([s.key.as_str(), "session-S3cret-token", "password-S3cret"])
    {
        assert!(!printed.contains(secret), "Debug shows {secret}");
    }
    assert!(printed.contains("REDACTED"), "not even named: {printed}");
}

#[tokio::test]
async fn a_second_sign_up_with_any_verify_retry_wait_is_answered() {
    let s = TestServer::start().await;
    let body = |wait: i64| {
        json!({"full_name": "Twice", "email": "twice@example.org", "password": PW,
               "verify_retry_wait": wait})
    };
    s.ok("user-new", body(6)).await;
    for wait in [i64::MAX, i64::MIN, i64::MAX / 3600, -1, 0] {
        let r = s.client.request("user-new", body(wait)).await;
        let r = r.unwrap_or_else(|e| panic!("verify_retry_wait {wait}: {e}"));
        assert_eq!(r.status, 200, "verify_retry_wait {wait}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hanging_up_during_the_delay_does_not_save_a_guess_from_counting() {
    let s = TestServer::with_lockout(2, 2000).await;
    s.verified_user("patient@example.org", PW).await;
    let impatient = s.impatient_client(Duration::from_millis(300));
    // Two guesses, each abandoned while its answer waits; both counted, so
    // the third locks and is answered at once.
    for n in 1..=3 {
        let anon = s.anon_session().await;
        let guess = login_body(&anon, "patient@example.org", "guess");
        let r = impatient.request("user-login", guess).await;
        if n < 3 {
            assert!(r.is_err(), "guess {n} answered before its delay: {r:?}");
        } else {
            let r = r.expect("the locking failure is not delayed");
            assert_eq!(r.refusal(), Some(Refusal::AccountLocked), "{r:?}");
        }
    }
    // The lock holds for the right password too.
    let right = s.try_login("patient@example.org", PW).await;
    assert_eq!(right.refusal(), Some(Refusal::AccountLocked), "{right:?}");
}
