//! An authenticator app's device key (Ed25519, made here with
//! ed25519-dalek) and its whole registration over RPC: a fresh session
//! asks, the app registers, the browser confirms.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use super::{PW, TestServer};

/// An authenticator's key pair.
pub struct Device(pub SigningKey);

impl Device {
    pub fn new() -> Device {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).expect("random");
        Device(SigningKey::from_bytes(&seed))
    }

    pub fn public_key(&self) -> String {
        STANDARD.encode(self.0.verifying_key().to_bytes())
    }

    /// Signs a challenge as issued (purpose, id and challenge from the answer).
    pub fn sign(&self, purpose: &str, c: &Value) -> String {
        self.sign_raw(purpose, str_of(c, "challenge_id"), str_of(c, "challenge"))
    }

    pub fn sign_raw(&self, purpose: &str, challenge_id: &str, challenge: &str) -> String {
        let message = format!("authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}");
        STANDARD.encode(self.0.sign(message.as_bytes()).to_bytes())
    }
}

pub fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} missing in {v}"))
}

/// A session of `email` just signed in with the password (the sign-in the
/// frontend's `session-new` takes over).
pub async fn fresh_session(s: &TestServer, email: &str) -> String {
    s.login(email, PW).await.expect("signed in").1
}

/// A register challenge asked from `session`.
pub async fn register_challenge(s: &TestServer, session: &str) -> Value {
    s.ok(
        "pubkey-challenge-new",
        json!({"purpose": "register", "session_token": session}),
    )
    .await
}

/// A wait of up to `seconds` on `c` with its secret.
pub fn wait_body(c: &Value, seconds: i64) -> Value {
    json!({"challenge_id": c["challenge_id"], "wait_secret": c["wait_secret"],
           "wait_seconds": seconds})
}

/// The wait, by the browser that holds the challenge's secret.
pub async fn wait(s: &TestServer, c: &Value, seconds: i64) -> Value {
    s.ok("pubkey-challenge-wait", wait_body(c, seconds)).await
}

/// A `pubkey-register` of `public_key` for challenge `c` with `signature`.
pub fn register_body(c: &Value, public_key: String, signature: String) -> Value {
    json!({"challenge_id": c["challenge_id"], "public_key": public_key, "signature": signature})
}

/// The app's half of a registration: the key, pending.
pub async fn app_registers(s: &TestServer, c: &Value, device: &Device, label: &str) -> Value {
    let mut body = register_body(c, device.public_key(), device.sign("register", c));
    body["label"] = json!(label);
    s.ok("pubkey-register", body).await
}

/// A whole registration for `email`: a fresh session asks, the app
/// registers, the browser sees the fingerprint the app shows and confirms.
pub async fn register(s: &TestServer, email: &str, device: &Device, label: &str) -> String {
    let session = fresh_session(s, email).await;
    let c = register_challenge(s, &session).await;
    let made = app_registers(s, &c, device, label).await;
    let seen = wait(s, &c, 0).await;
    assert_eq!(seen["status"], "registered", "{seen}");
    assert_eq!(seen["label"], label);
    assert_eq!(seen["fingerprint"], made["fingerprint"]);
    s.ok(
        "pubkey-register-confirm",
        json!({"challenge_id": c["challenge_id"], "wait_secret": c["wait_secret"]}),
    )
    .await;
    str_of(&made, "key_id").to_owned()
}
