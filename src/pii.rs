//! Hashing personal data (IP addresses, emails, user agents) before it reaches
//! a log line, so logs can correlate without holding the data.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub struct Pii {
    salt: Vec<u8>,
}

impl std::fmt::Debug for Pii {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pii(..)")
    }
}

impl Pii {
    pub fn new(salt: impl Into<Vec<u8>>) -> Pii {
        Pii { salt: salt.into() }
    }

    /// A short keyed digest: 12 hex characters.
    pub fn hash(&self, value: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.salt) else {
            return String::new();
        };
        mac.update(value.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..6])
    }
}
