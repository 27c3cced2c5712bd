//! TOTP on for a test user, and codes from a real TOTP implementation
//! (totp-lite) at the server's clock.

use serde_json::json;

use super::TestServer;

impl TestServer {
    /// Turns TOTP on for `user_id` over RPC; the secret's bytes.
    pub async fn with_totp(&self, user_id: i64) -> Vec<u8> {
        let started = self
            .ok("totp-enroll-start", json!({"user_id": user_id}))
            .await;
        let secret = secret_of(started["secret"].as_str().expect("secret"));
        let code = self.totp_code(&secret, 0);
        self.ok(
            "totp-enroll-finish",
            json!({"user_id": user_id, "code": code}),
        )
        .await;
        secret
    }

    /// The code for `secret` at the server's clock, `steps_later` 30 s
    /// steps on.
    pub fn totp_code(&self, secret: &[u8], steps_later: i64) -> String {
        use authnzd::clock::Clock as _;
        let t = self.clock.now().timestamp() + 30 * steps_later;
        totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, u64::try_from(t).expect("time"))
    }
}

/// The bytes of a base32 secret as apps read it.
pub fn secret_of(base32_text: &str) -> Vec<u8> {
    base32::decode(base32::Alphabet::Rfc4648 { padding: false }, base32_text).expect("base32")
}
