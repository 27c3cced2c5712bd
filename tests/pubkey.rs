//! Public-key login over the wire: device keys made here with ed25519-dalek
//! register and log in; replays, foreign keys, foreign challenges, expired
//! challenges and bad encodings are refused; one challenge logs in once
//! however many try at once; a waiting browser is released by the login.

mod common;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{PW, TestServer, call, counts, tally};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde_json::{Value, json};

/// An authenticator's key pair.
struct Device(SigningKey);

impl Device {
    fn new() -> Device {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random");
        Device(SigningKey::from_bytes(&seed))
    }

    fn public_key(&self) -> String {
        STANDARD.encode(self.0.verifying_key().to_bytes())
    }

    /// Signs a challenge as issued (purpose, id and challenge from the answer).
    fn sign(&self, purpose: &str, c: &Value) -> String {
        self.sign_raw(purpose, str_of(c, "challenge_id"), str_of(c, "challenge"))
    }

    fn sign_raw(&self, purpose: &str, challenge_id: &str, challenge: &str) -> String {
        let message = format!("authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}");
        STANDARD.encode(self.0.sign(message.as_bytes()).to_bytes())
    }
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

async fn challenge(s: &TestServer, purpose: &str) -> Value {
    s.ok("pubkey-challenge-new", json!({"purpose": purpose}))
        .await
}

async fn register(s: &TestServer, user_id: i64, device: &Device, label: &str) -> String {
    let c = challenge(s, "register").await;
    let made = s
        .ok(
            "pubkey-register",
            json!({
                "challenge_id": c["challenge_id"],
                "user_id": user_id,
                "public_key": device.public_key(),
                "signature": device.sign("register", &c),
                "label": label,
            }),
        )
        .await;
    str_of(&made, "key_id").to_owned()
}

fn login_body(c: &Value, key_id: &str, signature: String) -> Value {
    json!({"challenge_id": c["challenge_id"], "key_id": key_id, "signature": signature})
}

#[tokio::test]
async fn a_login_by_key_releases_the_waiting_browser_at_once() {
    let s = TestServer::start().await;
    let user = s.verified_user("phone@example.com", PW).await;
    let phone = Device::new();
    let key_id = register(&s, user, &phone, "my phone").await;

    // The browser asks for a login challenge and waits on it.
    let c = challenge(&s, "login").await;
    let waiter = {
        let client = s.client.clone();
        let id = c["challenge_id"].clone();
        tokio::spawn(async move {
            let r = call(
                &client,
                "pubkey-challenge-wait",
                json!({"challenge_id": id, "wait_seconds": 10}),
            )
            .await;
            (r, Instant::now())
        })
    };
    // Let the wait reach the server and park.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "the wait returned before the login");

    let sent = Instant::now();
    let login = s
        .ok(
            "pubkey-login",
            login_body(&c, &key_id, phone.sign("login", &c)),
        )
        .await;
    let answered = Instant::now();
    let (waited, released) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the wait returned")
        .expect("wait task");
    let latency = released.saturating_duration_since(sent);
    println!(
        "pubkey-challenge-wait released {:.1} ms after pubkey-login was sent \
         ({:.1} ms after its answer; the login itself took {:.1} ms)",
        latency.as_secs_f64() * 1000.0,
        released.saturating_duration_since(answered).as_secs_f64() * 1000.0,
        answered.duration_since(sent).as_secs_f64() * 1000.0,
    );
    assert!(waited.success, "{waited:?}");
    assert_eq!(waited.response["status"], "completed");
    assert_eq!(waited.response["user_id"], user);
    assert!(
        latency < Duration::from_secs(2),
        "released after {latency:?}"
    );

    // The login is a session of the key's user, as user-login + session-new give.
    assert_eq!(login["user_id"], user);
    assert_eq!(login["user_role"], "authenticated");
    common::assert_naive_utc(str_of(&login, "expires"));
    let info = s.session_exists(str_of(&login, "session_token")).await;
    assert!(info.success, "{info:?}");
    assert_eq!(info.response["session_info"]["user_id"], user);

    // A later wait on the same challenge answers at once.
    let again = s
        .ok(
            "pubkey-challenge-wait",
            json!({"challenge_id": c["challenge_id"], "wait_seconds": 30}),
        )
        .await;
    assert_eq!(again["status"], "completed");

    let events: Vec<_> = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, _, _)| e.starts_with("pubkey-"))
        .collect();
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "pubkey-added");
    assert_eq!(events[0].2["key_id"], key_id.as_str());
    assert_eq!(events[1].0, "pubkey-login");
    assert_eq!(events[1].1, Some(user));
}

#[tokio::test]
async fn replays_foreign_keys_foreign_challenges_and_expired_challenges_are_refused() {
    let s = TestServer::start().await;
    let user = s.verified_user("refusals@example.com", PW).await;
    let phone = Device::new();
    let key_id = register(&s, user, &phone, "phone").await;

    // Replay: the same signed challenge a second time.
    let c = challenge(&s, "login").await;
    let body = login_body(&c, &key_id, phone.sign("login", &c));
    s.ok("pubkey-login", body.clone()).await;
    assert_eq!(
        s.refused("pubkey-login", body).await,
        "challenge already used"
    );

    // A signature by a key that is not the registered one.
    let c = challenge(&s, "login").await;
    let stranger = Device::new();
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&c, &key_id, stranger.sign("login", &c))
        )
        .await,
        "signature does not verify"
    );
    // ... which did not spend the challenge: the right key still logs in.
    s.ok(
        "pubkey-login",
        login_body(&c, &key_id, phone.sign("login", &c)),
    )
    .await;

    // A signature over another challenge.
    let mine = challenge(&s, "login").await;
    let other = challenge(&s, "login").await;
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&mine, &key_id, phone.sign("login", &other))
        )
        .await,
        "signature does not verify"
    );
    // Signed for the other purpose (the purpose is part of the message).
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&mine, &key_id, phone.sign("register", &mine))
        )
        .await,
        "signature does not verify"
    );
    // A register challenge cannot log in, nor a login challenge register.
    let reg = challenge(&s, "register").await;
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&reg, &key_id, phone.sign("register", &reg))
        )
        .await,
        "challenge was issued for another purpose"
    );
    let laptop = Device::new();
    assert_eq!(
        s.refused(
            "pubkey-register",
            json!({"challenge_id": mine["challenge_id"], "user_id": user,
                   "public_key": laptop.public_key(), "signature": laptop.sign("login", &mine)}),
        )
        .await,
        "challenge was issued for another purpose"
    );
    assert_eq!(
        s.refused(
            "pubkey-login",
            json!({"challenge_id": "0123456789abcdef0123456789abcdef", "key_id": key_id,
                   "signature": phone.sign_raw("login", "0123456789abcdef0123456789abcdef", "x")}),
        )
        .await,
        "unknown challenge"
    );

    // Expired: the default lifetime is 5 minutes.
    let late = challenge(&s, "login").await;
    s.clock.advance(chrono::Duration::seconds(301));
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&late, &key_id, phone.sign("login", &late))
        )
        .await,
        "challenge expired"
    );
    let waited = s
        .ok(
            "pubkey-challenge-wait",
            json!({"challenge_id": late["challenge_id"], "wait_seconds": 5}),
        )
        .await;
    assert_eq!(waited["status"], "expired");
    assert!(waited.get("user_id").is_none_or(Value::is_null));

    let failures = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, _, _)| e == "pubkey-login-failed")
        .count();
    assert_eq!(failures, 3, "the three bad signatures are audited");
}

#[tokio::test]
async fn bad_encodings_get_their_own_reasons_never_a_503() {
    let s = TestServer::start().await;
    let user = s.verified_user("encodings@example.com", PW).await;
    let phone = Device::new();
    let key_id = register(&s, user, &phone, "phone").await;
    let c = challenge(&s, "register").await;
    let good_sig = phone.sign("register", &c);
    let register_with = |public_key: String, signature: String| {
        json!({"challenge_id": c["challenge_id"], "user_id": user,
               "public_key": public_key, "signature": signature})
    };
    let laptop = Device::new();
    let cases = [
        (
            "not base64!!".to_owned(),
            good_sig.clone(),
            "public key or signature is not standard base64",
        ),
        (
            laptop.public_key().trim_end_matches('=').to_owned(),
            good_sig.clone(),
            "public key or signature is not standard base64",
        ),
        (
            STANDARD.encode([7u8; 31]),
            good_sig.clone(),
            "public key must be 32 bytes",
        ),
        (
            STANDARD.encode([7u8; 33]),
            good_sig.clone(),
            "public key must be 32 bytes",
        ),
        (
            laptop.public_key(),
            STANDARD.encode([1u8; 63]),
            "signature must be 64 bytes",
        ),
        (
            laptop.public_key(),
            "%%%%".to_owned(),
            "public key or signature is not standard base64",
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
        assert_eq!(
            s.refused(
                "pubkey-register",
                register_with(STANDARD.encode(weak), good_sig.clone())
            )
            .await,
            "public key is not a valid Ed25519 key"
        );
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
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&c, &key_id, STANDARD.encode(&malleated))
        )
        .await,
        "signature is not canonical"
    );
    // The challenge is still good for the real signature.
    s.ok(
        "pubkey-login",
        login_body(&c, &key_id, STANDARD.encode(&sig)),
    )
    .await;

    assert_eq!(
        s.refused("pubkey-challenge-new", json!({"purpose": "teleport"}))
            .await,
        "purpose must be 'register' or 'login'"
    );
    let c = challenge(&s, "login").await;
    assert_eq!(
        s.refused(
            "pubkey-challenge-wait",
            json!({"challenge_id": c["challenge_id"], "wait_seconds": 31})
        )
        .await,
        "wait_seconds must be from 0 to 30"
    );
    assert_eq!(
        s.refused(
            "pubkey-challenge-wait",
            json!({"challenge_id": "nope", "wait_seconds": 1})
        )
        .await,
        "unknown challenge"
    );
    let started = Instant::now();
    let pending = s
        .ok(
            "pubkey-challenge-wait",
            json!({"challenge_id": c["challenge_id"], "wait_seconds": 1}),
        )
        .await;
    assert_eq!(pending["status"], "pending");
    assert!(started.elapsed() >= Duration::from_millis(900));
    // The same public key cannot be registered twice.
    let c = challenge(&s, "register").await;
    assert_eq!(
        s.refused(
            "pubkey-register",
            json!({"challenge_id": c["challenge_id"], "user_id": user,
                   "public_key": phone.public_key(), "signature": phone.sign("register", &c)}),
        )
        .await,
        "public key already registered"
    );
    s.assert_serving().await;
}

#[tokio::test]
async fn of_ten_concurrent_logins_with_one_challenge_exactly_one_succeeds() {
    let s = TestServer::start().await;
    let user = s.verified_user("race@example.com", PW).await;
    let phone = Device::new();
    let key_id = register(&s, user, &phone, "phone").await;
    let c = challenge(&s, "login").await;
    let replies = s
        .repeated(
            "pubkey-login",
            login_body(&c, &key_id, phone.sign("login", &c)),
            10,
        )
        .await;
    assert_eq!(
        tally(&replies),
        counts([("success", 1), ("challenge already used", 9)])
    );
    let logins = s
        .audit_events()
        .await
        .into_iter()
        .filter(|(e, _, _)| e == "pubkey-login")
        .count();
    assert_eq!(logins, 1);
}

#[tokio::test]
async fn a_deleted_key_cannot_log_in_and_the_list_shows_no_secrets() {
    let s = TestServer::start().await;
    let user = s.verified_user("keys@example.com", PW).await;
    let other = s.verified_user("other@example.com", PW).await;
    let phone = Device::new();
    let laptop = Device::new();
    let phone_id = register(&s, user, &phone, "phone").await;
    let laptop_id = register(&s, user, &laptop, "laptop").await;

    let c = challenge(&s, "login").await;
    s.ok(
        "pubkey-login",
        login_body(&c, &phone_id, phone.sign("login", &c)),
    )
    .await;

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
    assert_eq!(
        s.refused(
            "pubkey-delete",
            json!({"user_id": other, "key_id": phone_id})
        )
        .await,
        "no such key"
    );
    s.ok("pubkey-delete", delete.clone()).await;
    assert_eq!(s.refused("pubkey-delete", delete).await, "no such key");

    let c = challenge(&s, "login").await;
    assert_eq!(
        s.refused(
            "pubkey-login",
            login_body(&c, &phone_id, phone.sign("login", &c))
        )
        .await,
        "no such key"
    );
    // The other key still works with the same challenge.
    s.ok(
        "pubkey-login",
        login_body(&c, &laptop_id, laptop.sign("login", &c)),
    )
    .await;
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
    let c = s
        .ok(
            "pubkey-challenge-new",
            json!({"purpose": "register", "user_id": 1}),
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
    assert_eq!(payload["user_id"], 1);
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
    let user = a.verified_user("two@example.com", PW).await;
    let phone = Device::new();
    let key_id = register(&a, user, &phone, "phone").await;
    let c = challenge(&a, "login").await;
    let seen_by_b = challenge(&b, "login").await;
    assert_eq!(
        seen_by_b["server_public_key"], c["server_public_key"],
        "both instances sign with the one server key"
    );

    let waiter = {
        let client = b.client.clone();
        let id = c["challenge_id"].clone();
        tokio::spawn(async move {
            let r = call(
                &client,
                "pubkey-challenge-wait",
                json!({"challenge_id": id, "wait_seconds": 10}),
            )
            .await;
            (r, Instant::now())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = Instant::now();
    a.ok(
        "pubkey-login",
        login_body(&c, &key_id, phone.sign("login", &c)),
    )
    .await;
    let (waited, released) = tokio::time::timeout(Duration::from_secs(5), waiter)
        .await
        .expect("the wait returned")
        .expect("wait task");
    let latency = released.saturating_duration_since(sent);
    println!(
        "on another instance: released {:.0} ms after the login was sent (re-check every 1 s)",
        latency.as_secs_f64() * 1000.0
    );
    assert_eq!(waited.response["status"], "completed", "{waited:?}");
    assert_eq!(waited.response["user_id"], user);
    assert!(latency < Duration::from_millis(2500), "{latency:?}");
}
