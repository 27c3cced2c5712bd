//! Public-key login over the wire: device keys made here with ed25519-dalek
//! register (from a freshly signed-in session, confirmed by the browser)
//! and log in (the session goes to the waiting browser alone); replays,
//! foreign keys, foreign challenges, expired challenges and bad encodings
//! are refused; one challenge logs in once however many try at once; a
//! photographed QR code neither plants a key nor takes a login.

mod common;

use authnzd_proto::Refusal;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::device_keys::{
    Device, app_registers, fresh_session, register, register_body, register_challenge, str_of,
    wait, wait_body,
};
use common::{PW, TestServer, call, counts, tally};
use ed25519_dalek::{Signature, VerifyingKey};
use serde_json::{Value, json};

/// A login challenge, as the browser asks for it.
async fn challenge(s: &TestServer, purpose: &str) -> Value {
    assert_eq!(purpose, "login", "register challenges need a session");
    s.ok("pubkey-challenge-new", json!({"purpose": "login"}))
        .await
}

/// The browser's wait of up to 10 s on `c`, by `client`, as a task: the
/// reply and when it came.
fn waiting_browser(
    client: &authnzd_client::Client,
    c: &Value,
) -> tokio::task::JoinHandle<(authnzd_client::Reply, Instant)> {
    let client = client.clone();
    let body = wait_body(c, 10);
    tokio::spawn(async move {
        let r = call(&client, "pubkey-challenge-wait", body).await;
        (r, Instant::now())
    })
}

/// The waiting browser's reply, within 5 s, and when it came.
async fn released(
    waiter: tokio::task::JoinHandle<(authnzd_client::Reply, Instant)>,
) -> (authnzd_client::Reply, Instant) {
    tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the wait returned")
        .expect("wait task")
}

/// `email` signed up with a phone key registered: the user, the phone and
/// its key id.
async fn with_phone(s: &TestServer, email: &str) -> (i64, Device, String) {
    let user = s.verified_user(email, PW).await;
    let phone = Device::new();
    let key_id = register(s, email, &phone, "phone").await;
    (user, phone, key_id)
}

fn login_body(c: &Value, key_id: &str, signature: String) -> Value {
    json!({"challenge_id": c["challenge_id"], "key_id": key_id, "signature": signature})
}

/// `pubkey-login` of `c` by `device` with key `key_id`: the approval.
async fn login(s: &TestServer, c: &Value, key_id: &str, device: &Device) -> Value {
    s.ok(
        "pubkey-login",
        login_body(c, key_id, device.sign("login", c)),
    )
    .await
}

/// `pubkey-login` of `c` with key `key_id` and `signature`, refused for `reason`.
async fn login_refused(
    s: &TestServer,
    c: &Value,
    key_id: &str,
    signature: String,
    reason: Refusal,
) {
    s.refuses("pubkey-login", login_body(c, key_id, signature), reason)
        .await;
}

#[tokio::test]
async fn a_login_by_key_releases_the_waiting_browser_at_once_with_the_session() {
    let s = TestServer::start().await;
    let (user, phone, key_id) = with_phone(&s, "phone@example.com").await;

    // The browser asks for a login challenge and waits on it.
    let c = s
        .ok(
            "pubkey-challenge-new",
            json!({"purpose": "login", "ip_address": "198.51.100.23", "user_agent": "Firefox/150"}),
        )
        .await;
    let waiter = waiting_browser(&s.client, &c);
    // Let the wait reach the server and park.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the wait returned before the login");

    let sent = Instant::now();
    let approved = login(&s, &c, &key_id, &phone).await;
    let answered = Instant::now();
    let (waited, released) = released(waiter).await;
    let latency = released.saturating_duration_since(sent);
    println!(
        "pubkey-challenge-wait released {:.1} ms after pubkey-login was sent \
         ({:.1} ms after its answer; the login itself took {:.1} ms)",
        latency.as_secs_f64() * 1000.0,
        released.saturating_duration_since(answered).as_secs_f64() * 1000.0,
        answered.duration_since(sent).as_secs_f64() * 1000.0,
    );
    assert!(waited.success, "{waited:?}");
    assert!(
        latency < Duration::from_secs(2),
        "released after {latency:?}"
    );

    // The approving app learns that it approved, nothing more.
    assert_eq!(approved, json!({"status": "approved"}));
    // The waiting browser gets the session: the key's user's, recorded as
    // a device-key sign-in from the browser that asked.
    let got = &waited.response;
    assert_eq!(got["status"], "completed");
    assert_eq!(got["user_id"], user);
    assert_eq!(got["user_role"], "authenticated");
    assert_eq!(got["amr"], json!(["device_key"]));
    common::assert_naive_utc(str_of(got, "expires"));
    let info = s.session_exists(str_of(got, "session_token")).await;
    assert!(info.success, "{info:?}");
    let info = &info.response["session_info"];
    assert_eq!(info["user_id"], user);
    assert_eq!(info["ip_address"], "198.51.100.23");
    assert_eq!(info["user_agent"], "Firefox/150");
    assert_eq!(info["amr"], json!(["device_key"]));

    // Once: a later wait answers at once, without a session.
    let again = wait(&s, &c, 30).await;
    assert_eq!(again, json!({"status": "used"}));

    let events: Vec<_> = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, _, _)| e.starts_with("pubkey-"))
        .collect();
    let names: Vec<&str> = events.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(names, ["pubkey-registered", "pubkey-added", "pubkey-login"]);
    assert_eq!(events[1].2["key_id"], key_id.as_str());
    assert_eq!(events[2].1, Some(user));
}

#[tokio::test]
async fn replays_foreign_keys_foreign_challenges_and_expired_challenges_are_refused() {
    let s = TestServer::start().await;
    let (_, phone, key_id) = with_phone(&s, "refusals@example.com").await;

    // Replay: the same signed challenge a second time.
    let c = challenge(&s, "login").await;
    let body = login_body(&c, &key_id, phone.sign("login", &c));
    s.ok("pubkey-login", body.clone()).await;
    s.refuses("pubkey-login", body, Refusal::ChallengeUsed)
        .await;

    // A signature by a key that is not the registered one.
    let c = challenge(&s, "login").await;
    let stranger = Device::new();
    let signature = stranger.sign("login", &c);
    login_refused(&s, &c, &key_id, signature, Refusal::PubkeyBadSignature).await;
    // ... which did not spend the challenge: the right key still logs in.
    login(&s, &c, &key_id, &phone).await;

    // A signature over another challenge.
    let mine = challenge(&s, "login").await;
    let other = challenge(&s, "login").await;
    let signature = phone.sign("login", &other);
    login_refused(&s, &mine, &key_id, signature, Refusal::PubkeyBadSignature).await;
    // Signed for the other purpose (the purpose is part of the message).
    let signature = phone.sign("register", &mine);
    login_refused(&s, &mine, &key_id, signature, Refusal::PubkeyBadSignature).await;
    // A register challenge cannot log in, nor a login challenge register.
    let session = fresh_session(&s, "refusals@example.com").await;
    let reg = register_challenge(&s, &session).await;
    let signature = phone.sign("register", &reg);
    login_refused(&s, &reg, &key_id, signature, Refusal::ChallengeWrongPurpose).await;
    let laptop = Device::new();
    let signature = laptop.sign("login", &mine);
    let body = register_body(&mine, laptop.public_key(), signature);
    s.refuses("pubkey-register", body, Refusal::ChallengeWrongPurpose)
        .await;
    s.refuses(
        "pubkey-login",
        json!({"challenge_id": "0123456789abcdef0123456789abcdef", "key_id": key_id,
                   "signature": phone.sign_raw("login", "0123456789abcdef0123456789abcdef", "x")}),
        Refusal::ChallengeUnknown,
    )
    .await;

    // Expired: the default lifetime is 5 minutes.
    let late = challenge(&s, "login").await;
    s.clock.advance(chrono::Duration::seconds(301));
    let signature = phone.sign("login", &late);
    login_refused(&s, &late, &key_id, signature, Refusal::ChallengeExpired).await;
    let waited = wait(&s, &late, 5).await;
    assert_eq!(waited, json!({"status": "expired"}));

    let failures = s.audit_count("pubkey-login-failed").await;
    assert_eq!(failures, 3, "the three bad signatures are audited");
}

#[tokio::test]
async fn bad_encodings_get_their_own_reasons_never_a_503() {
    let s = TestServer::start().await;
    let (_, phone, key_id) = with_phone(&s, "encodings@example.com").await;
    let session = fresh_session(&s, "encodings@example.com").await;
    let c = register_challenge(&s, &session).await;
    let good_sig = phone.sign("register", &c);
    let register_with = |public_key, signature| register_body(&c, public_key, signature);
    let laptop = Device::new();
    let cases = [
        (
            "not base64!!".to_owned(),
            good_sig.clone(),
            Refusal::PubkeyBadBase64,
        ),
        (
            laptop.public_key().trim_end_matches('=').to_owned(),
            good_sig.clone(),
            Refusal::PubkeyBadBase64,
        ),
        (
            STANDARD.encode([7u8; 31]),
            good_sig.clone(),
            Refusal::PubkeyBadKeyLength,
        ),
        (
            STANDARD.encode([7u8; 33]),
            good_sig.clone(),
            Refusal::PubkeyBadKeyLength,
        ),
        (
            laptop.public_key(),
            STANDARD.encode([1u8; 63]),
            Refusal::PubkeyBadSignatureLength,
        ),
        (
            laptop.public_key(),
            "%%%%".to_owned(),
            Refusal::PubkeyBadBase64,
        ),
    ];
    for (public_key, signature, reason) in cases {
        assert_eq!(
            s.refused(
                "pubkey-register",
                register_with(public_key.clone(), signature)
            )
            .await,
            reason,
            "{public_key}"
        );
    }
    // Small-order points: the identity, and a point of order 8.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let order_eight = [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ];
    for weak in [identity, order_eight] {
        s.refuses(
            "pubkey-register",
            register_with(STANDARD.encode(weak), good_sig.clone()),
            Refusal::PubkeyWeakKey,
        )
        .await;
    }
    // A malleated signature: S + ℓ verifies under lax rules, not here.
    let c = challenge(&s, "login").await;
    let sig = STANDARD.decode(phone.sign("login", &c)).expect("base64");
    let ell: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut malleated = sig.clone();
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(sig[32 + i]) + u16::from(ell[i]) + carry;
        malleated[32 + i] = (sum & 0xff) as u8;
        carry = sum >> 8;
    }
    let signature = STANDARD.encode(&malleated);
    login_refused(
        &s,
        &c,
        &key_id,
        signature,
        Refusal::PubkeyNonCanonicalSignature,
    )
    .await;
    // The challenge is still good for the real signature.
    s.ok(
        "pubkey-login",
        login_body(&c, &key_id, STANDARD.encode(&sig)),
    )
    .await;

    let teleport = json!({"purpose": "teleport"});
    s.refuses("pubkey-challenge-new", teleport, Refusal::PubkeyBadPurpose)
        .await;
    let c = challenge(&s, "login").await;
    s.refuses(
        "pubkey-challenge-wait",
        wait_body(&c, 31),
        Refusal::PubkeyBadWait,
    )
    .await;
    s.refuses(
        "pubkey-challenge-wait",
        json!({"challenge_id": "nope", "wait_secret": "x", "wait_seconds": 1}),
        Refusal::ChallengeUnknown,
    )
    .await;
    let started = Instant::now();
    let pending = wait(&s, &c, 1).await;
    assert_eq!(pending["status"], "pending");
    assert!(started.elapsed() >= Duration::from_millis(900));
    // The same public key cannot be registered twice.
    let c = register_challenge(&s, &session).await;
    let body = register_body(&c, phone.public_key(), phone.sign("register", &c));
    s.refuses("pubkey-register", body, Refusal::PubkeyExists)
        .await;
    s.assert_serving().await;
}

#[tokio::test]
async fn of_ten_concurrent_logins_with_one_challenge_exactly_one_succeeds() {
    let s = TestServer::start().await;
    let (_, phone, key_id) = with_phone(&s, "race@example.com").await;
    let c = challenge(&s, "login").await;
    let replies = s
        .repeated(
            "pubkey-login",
            login_body(&c, &key_id, phone.sign("login", &c)),
            10,
        )
        .await;
    assert_eq!(tally(&replies), counts(1, [(Refusal::ChallengeUsed, 9)]));
    let logins = s.audit_count("pubkey-login").await;
    assert_eq!(logins, 1);
}

#[tokio::test]
async fn a_deleted_key_cannot_log_in_and_the_list_shows_no_secrets() {
    let s = TestServer::start().await;
    let user = s.verified_user("keys@example.com", PW).await;
    let other = s.verified_user("other@example.com", PW).await;
    let phone = Device::new();
    let laptop = Device::new();
    let phone_id = register(&s, "keys@example.com", &phone, "phone").await;
    let laptop_id = register(&s, "keys@example.com", &laptop, "laptop").await;

    let c = challenge(&s, "login").await;
    login(&s, &c, &phone_id, &phone).await;

    let listed = s.ok("pubkey-list", json!({"user_id": user})).await;
    let keys = listed["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 2, "{listed}");
    for k in keys {
        let mut fields: Vec<_> = k.as_object().expect("object").keys().cloned().collect();
        fields.sort();
        assert_eq!(fields, ["created", "key_id", "label", "last_used"]);
    }
    let text = listed.to_string();
    assert!(!text.contains(&phone.public_key()) && !text.contains(&laptop.public_key()));
    let phone_row = keys
        .iter()
        .find(|k| k["key_id"] == phone_id.as_str())
        .expect("phone listed");
    assert_eq!(phone_row["label"], "phone");
    assert!(phone_row["last_used"].is_string(), "used to log in");
    let laptop_row = keys
        .iter()
        .find(|k| k["key_id"] == laptop_id.as_str())
        .expect("laptop listed");
    assert!(laptop_row["last_used"].is_null());
    let none = s.ok("pubkey-list", json!({"user_id": other})).await;
    assert_eq!(none["keys"], json!([]));

    // Another user cannot delete it; the owner can, once.
    let delete = json!({"user_id": user, "key_id": phone_id});
    s.refuses(
        "pubkey-delete",
        json!({"user_id": other, "key_id": phone_id}),
        Refusal::PubkeyNotFound,
    )
    .await;
    s.ok("pubkey-delete", delete.clone()).await;
    s.refuses("pubkey-delete", delete, Refusal::PubkeyNotFound)
        .await;

    let c = challenge(&s, "login").await;
    let signature = phone.sign("login", &c);
    login_refused(&s, &c, &phone_id, signature, Refusal::PubkeyNotFound).await;
    // The other key still works with the same challenge.
    login(&s, &c, &laptop_id, &laptop).await;
    let listed = s.ok("pubkey-list", json!({"user_id": user})).await;
    assert_eq!(listed["keys"].as_array().map(Vec::len), Some(1));
    assert!(
        s.audit_events()
            .await
            .iter()
            .any(|(e, u, d)| e == "pubkey-removed"
                && *u == Some(user)
                && d["key_id"] == phone_id.as_str())
    );
}

#[tokio::test]
async fn the_payload_is_signed_by_a_server_key_that_survives_restarts() {
    let mut s = TestServer::start().await;
    s.verified_user("signed@example.com", PW).await;
    let session = fresh_session(&s, "signed@example.com").await;
    let c = s
        .ok(
            "pubkey-challenge-new",
            json!({"purpose": "register", "session_token": session,
                   "ip_address": "203.0.113.44", "user_agent": "Safari/19"}),
        )
        .await;
    let server_key = str_of(&c, "server_public_key").to_owned();
    let verifying = |c: &Value| {
        let key: [u8; 32] = STANDARD
            .decode(str_of(c, "server_public_key"))
            .expect("base64")
            .try_into()
            .expect("32 bytes");
        let sig: [u8; 64] = STANDARD
            .decode(str_of(c, "payload_signature"))
            .expect("base64")
            .try_into()
            .expect("64 bytes");
        VerifyingKey::from_bytes(&key)
            .expect("a key")
            .verify_strict(
                str_of(c, "payload").as_bytes(),
                &Signature::from_bytes(&sig),
            )
    };
    assert!(verifying(&c).is_ok(), "payload signature verifies");
    let payload: Value = serde_json::from_str(str_of(&c, "payload")).expect("JSON payload");
    assert_eq!(payload["challenge_id"], c["challenge_id"]);
    assert_eq!(payload["challenge"], c["challenge"]);
    assert_eq!(payload["purpose"], "register");
    assert_eq!(payload["expires"], c["expires"]);
    // What the approving app shows before it approves: who asked.
    assert_eq!(payload["requester"]["ip_address"], "203.0.113.44");
    assert_eq!(payload["requester"]["user_agent"], "Safari/19");
    common::assert_naive_utc(str_of(&payload["requester"], "time"));
    // The browser's secret is never in what the QR code shows.
    assert!(!str_of(&c, "payload").contains(str_of(&c, "wait_secret")));
    // Tampering breaks it.
    let mut forged = c.clone();
    forged["payload"] = Value::String(str_of(&c, "payload").replace("register", "login"));
    assert!(verifying(&forged).is_err());

    // The key is kept (sealed) in the database: the same after a restart.
    s.restart().await;
    let again = challenge(&s, "login").await;
    assert_eq!(str_of(&again, "server_public_key"), server_key);
    assert!(verifying(&again).is_ok());
}

#[tokio::test]
async fn a_wait_on_another_instance_of_the_same_database_is_released_by_its_recheck() {
    let a = TestServer::start().await;
    let (url, secret) = (
        a.config.database.database_url.clone(),
        a.config.keys.secret.clone(),
    );
    let mut b = TestServer::start_with(move |c| {
        c.database.database_url = url;
        c.keys.secret = secret;
    })
    .await;
    // B speaks with A's key.
    b.client = authnzd_client::Client::new(b.url(), &a.key).expect("client");
    b.key = a.key.clone();
    let (user, phone, key_id) = with_phone(&a, "two@example.com").await;
    let c = challenge(&a, "login").await;
    let seen_by_b = challenge(&b, "login").await;
    assert_eq!(
        seen_by_b["server_public_key"], c["server_public_key"],
        "both instances sign with the one server key"
    );

    let waiter = waiting_browser(&b.client, &c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    login(&a, &c, &key_id, &phone).await;
    let (waited, released) = released(waiter).await;
    let latency = released.saturating_duration_since(sent);
    println!(
        "on another instance: released {:.0} ms after the login was sent (re-check every 1 s)",
        latency.as_secs_f64() * 1000.0
    );
    assert_eq!(waited.response["status"], "completed", "{waited:?}");
    assert_eq!(waited.response["user_id"], user);
    assert!(latency < Duration::from_millis(2500), "{latency:?}");
}

#[tokio::test]
async fn a_device_key_is_one_factor_unless_the_operator_says_otherwise() {
    for counts_as_mfa in [false, true] {
        let s = TestServer::start_with(|c| c.pubkey.device_key_counts_as_mfa = counts_as_mfa).await;
        let (user, phone, key_id) = with_phone(&s, "keyed@example.com").await;
        let secret = s.with_totp(user).await;
        let c = challenge(&s, "login").await;
        login(&s, &c, &key_id, &phone).await;
        let r = wait(&s, &c, 5).await;
        assert_eq!(r["status"], "completed", "{r}");
        if counts_as_mfa {
            assert_eq!(r["amr"], json!(["device_key"]));
            assert!(r["session_token"].is_string());
            continue;
        }
        assert_eq!(r["mfa_required"], true, "{r}");
        assert!(r.get("session_token").is_none(), "{r}");
        let token = str_of(&r, "mfa_token").to_owned();
        s.clock.advance(chrono::Duration::seconds(30));
        let done = s
            .call(
                "user-login-mfa",
                json!({"mfa_token": token, "code": s.totp_code(&secret, 0)}),
            )
            .await;
        assert!(done.success, "{done:?}");
        assert_eq!(done.response["amr"], json!(["device_key", "otp"]));
    }
}

/// A register challenge needs a freshly signed-in session: none, a stale
/// one, one made without a sign-in, or another user's are refused, and the
/// key goes to the session's user whatever the app sends.
#[tokio::test]
async fn enrolment_needs_a_fresh_session_of_the_user() {
    let s = TestServer::start().await;
    let alice = s.verified_user("alice@example.com", PW).await;
    let bob = s.verified_user("bob@example.com", PW).await;
    let refused = |body: Value| s.refused("pubkey-challenge-new", body);
    assert_eq!(
        refused(json!({"purpose": "register", "user_id": bob})).await,
        Refusal::SessionNotFound
    );
    // A session the frontend made without a sign-in authnzd saw.
    let bare = s.session_for(Some(alice), 1).await;
    assert_eq!(
        refused(json!({"purpose": "register", "session_token": bare})).await,
        Refusal::FreshSignInRequired
    );
    let fresh = fresh_session(&s, "alice@example.com").await;
    assert_eq!(
        refused(json!({"purpose": "register", "session_token": fresh, "user_id": bob})).await,
        Refusal::ChallengeWrongUser
    );
    // The app cannot put the key on another account either.
    let c = register_challenge(&s, &fresh).await;
    let phone = Device::new();
    let mut body = register_body(&c, phone.public_key(), phone.sign("register", &c));
    body["user_id"] = json!(bob);
    s.refuses("pubkey-register", body, Refusal::ChallengeWrongUser)
        .await;
    // Past the window (10 minutes by default) the session must sign in again.
    s.clock.advance(chrono::Duration::seconds(601));
    assert_eq!(
        refused(json!({"purpose": "register", "session_token": fresh})).await,
        Refusal::FreshSignInRequired
    );
}

/// Whoever photographs the QR code of a registration can register their
/// key, but it stays pending: the browser's wait shows its label and
/// fingerprint, only the browser (holding the wait secret) can confirm it,
/// and unconfirmed it never logs in and goes when the challenge expires.
#[tokio::test]
async fn a_key_from_a_photographed_code_never_logs_in_unless_the_browser_confirms_it() {
    let s = TestServer::start().await;
    s.verified_user("victim@example.com", PW).await;
    let session = fresh_session(&s, "victim@example.com").await;
    let c = register_challenge(&s, &session).await;
    // The attacker's app, from the payload alone.
    let payload: Value = serde_json::from_str(str_of(&c, "payload")).unwrap();
    let attacker = Device::new();
    let made = app_registers(&s, &payload, &attacker, "iPhone").await;
    assert_eq!(made["status"], "pending");
    let key_id = str_of(&made, "key_id").to_owned();
    // The browser sees a key it can compare with its own phone's.
    let seen = wait(&s, &c, 0).await;
    assert_eq!(seen["status"], "registered");
    assert_eq!(seen["fingerprint"], made["fingerprint"]);
    // Pending: it cannot log in, and is not listed.
    let login = challenge(&s, "login").await;
    let signature = attacker.sign("login", &login);
    login_refused(&s, &login, &key_id, signature, Refusal::PubkeyNotFound).await;
    // Without the browser's secret nothing confirms it, and nothing is learnt.
    for secret in [json!("guess"), payload["challenge"].clone()] {
        let body = json!({"challenge_id": c["challenge_id"], "wait_secret": secret});
        s.refuses(
            "pubkey-register-confirm",
            body.clone(),
            Refusal::ChallengeUnknown,
        )
        .await;
        let mut wait_body = body;
        wait_body["wait_seconds"] = json!(0);
        s.refuses(
            "pubkey-challenge-wait",
            wait_body,
            Refusal::ChallengeUnknown,
        )
        .await;
    }
    // The user does not confirm; the challenge runs out and the chore
    // removes the key.
    s.clock.advance(chrono::Duration::seconds(301));
    s.refuses(
        "pubkey-register-confirm",
        json!({"challenge_id": c["challenge_id"], "wait_secret": c["wait_secret"]}),
        Refusal::NothingToConfirm,
    )
    .await;
    authnzd::actions::pubkey::prune_challenges(&s.running().app)
        .await
        .unwrap();
    use sea_orm::EntityTrait;
    let left = entity::pubkey_keys::Entity::find_by_id(key_id)
        .one(&s.running().app.db)
        .await
        .unwrap();
    assert!(left.is_none(), "{left:?}");
}

/// QR login: a screen-share viewer (or anyone with the code) who approves
/// or waits gets no session; the session is handed to the browser holding
/// the wait secret, once.
#[tokio::test]
async fn a_login_session_goes_to_the_waiting_browser_only() {
    let s = TestServer::start().await;
    let (_, phone, key_id) = with_phone(&s, "carol@example.com").await;
    let c = challenge(&s, "login").await;
    let viewer = json!({"challenge_id": c["challenge_id"], "wait_secret": "seen on screen",
                        "wait_seconds": 0});
    s.refuses(
        "pubkey-challenge-wait",
        viewer.clone(),
        Refusal::ChallengeUnknown,
    )
    .await;
    let approved = login(&s, &c, &key_id, &phone).await;
    assert!(approved.get("session_token").is_none(), "{approved}");
    assert_eq!(
        s.refused("pubkey-challenge-wait", viewer).await,
        Refusal::ChallengeUnknown,
        "the viewer learns nothing after the approval either"
    );
    let replies = s
        .repeated("pubkey-challenge-wait", wait_body(&c, 0), 5)
        .await;
    let sessions: Vec<&Value> = replies
        .iter()
        .filter_map(|r| r.response.get("session_token"))
        .collect();
    assert_eq!(sessions.len(), 1, "{replies:?}");
    let statuses: Vec<&str> = replies
        .iter()
        .map(|r| r.response["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == "used").count(),
        4,
        "{statuses:?}"
    );
}

/// `pubkey-rename`: the owner renames a confirmed key; another user, a
/// pending key and an overlong label are refused; a blank label clears it.
#[tokio::test]
async fn the_owner_renames_a_confirmed_key() {
    let s = TestServer::start().await;
    let user = s.verified_user("renamer@example.com", PW).await;
    let other = s.verified_user("someone@example.com", PW).await;
    let key_id = register(&s, "renamer@example.com", &Device::new(), "phone").await;
    let label_of = |listed: Value| listed["keys"][0]["label"].clone();
    let rename = |user_id: i64, key_id: &str, label: Value| json!({"user_id": user_id, "key_id": key_id, "label": label});
    let refusal =
        |r: authnzd_client::Reply| r.failure_reason.map(|f| authnzd_proto::Refusal::parse(&f));

    s.ok(
        "pubkey-rename",
        rename(user, &key_id, json!(" work phone ")),
    )
    .await;
    let listed = s.ok("pubkey-list", json!({"user_id": user})).await;
    assert_eq!(label_of(listed), "work phone");

    let theirs = s
        .call("pubkey-rename", rename(other, &key_id, json!("mine")))
        .await;
    assert_eq!(
        refusal(theirs),
        Some(authnzd_proto::Refusal::PubkeyNotFound)
    );
    let long = s
        .call(
            "pubkey-rename",
            rename(user, &key_id, json!("x".repeat(201))),
        )
        .await;
    assert!(matches!(
        refusal(long),
        Some(authnzd_proto::Refusal::Invalid(_))
    ));
    let session = fresh_session(&s, "renamer@example.com").await;
    let c = register_challenge(&s, &session).await;
    let pending = app_registers(&s, &c, &Device::new(), "laptop").await;
    let pending = rename(user, str_of(&pending, "key_id"), json!("renamed"));
    let r = s.call("pubkey-rename", pending).await;
    assert_eq!(refusal(r), Some(authnzd_proto::Refusal::PubkeyNotFound));
    let listed = s.ok("pubkey-list", json!({"user_id": user})).await;
    assert_eq!(label_of(listed), "work phone", "refusals change nothing");

    s.ok("pubkey-rename", rename(user, &key_id, json!("  ")))
        .await;
    let listed = s.ok("pubkey-list", json!({"user_id": user})).await;
    assert_eq!(label_of(listed), Value::Null);
}
