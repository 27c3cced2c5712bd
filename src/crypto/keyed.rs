//! Keyed digests (HMAC-SHA256): one-time codes and client addresses as the
//! database keeps them, personal data as the logs show it, and the secrets
//! derived from the key ring.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::secret::{ExposeSecret, SecretBox};

/// HMAC-SHA256 of `parts` (concatenated) under `key`.
pub(crate) fn mac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// One secret's keyed digests.
pub struct Keyed(SecretBox<[u8; 32]>);

impl std::fmt::Debug for Keyed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyed([REDACTED])")
    }
}

impl Keyed {
    pub fn new(key: [u8; 32]) -> Keyed {
        Keyed(SecretBox::new(Box::new(key)))
    }

    /// The digest of `what`, hex.
    pub fn hex(&self, what: &str) -> String {
        hex::encode(mac(self.0.expose_secret(), &[what.as_bytes()]))
    }
}

/// A secret derived from every key of the ring, newest first: digests are
/// made under the newest and matched under each, so what was keyed before a
/// new ring key was added still matches.
#[derive(Debug)]
pub struct KeyedRing(Vec<Keyed>);

impl KeyedRing {
    pub fn new(keys: Vec<[u8; 32]>) -> KeyedRing {
        KeyedRing(keys.into_iter().map(Keyed::new).collect())
    }

    /// The digest of `what` under the newest key, hex.
    pub fn hex(&self, what: &str) -> String {
        self.0.first().map(|k| k.hex(what)).unwrap_or_default()
    }

    /// The digest of `what` under each key, newest first.
    pub fn hex_each(&self, what: &str) -> Vec<String> {
        self.0.iter().map(|k| k.hex(what)).collect()
    }
}

/// A short digest of personal data for a log line (12 hex digits) under a
/// salt: logs correlate without holding the data.
pub struct Salted(Vec<u8>);

impl std::fmt::Debug for Salted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Salted(..)")
    }
}

impl Salted {
    pub fn new(salt: impl Into<Vec<u8>>) -> Salted {
        Salted(salt.into())
    }

    pub fn hash(&self, value: &str) -> String {
        hex::encode(&mac(&self.0, &[value.as_bytes()])[..6])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ring_digests_under_its_newest_key_and_matches_under_each() {
        let ring = KeyedRing::new(vec![[1; 32], [2; 32]]);
        let each = ring.hex_each("code\0x");
        assert_eq!(each.len(), 2);
        assert_eq!(ring.hex("code\0x"), each[0]);
        assert_ne!(each[0], each[1]);
        assert_eq!(each[1], Keyed::new([2; 32]).hex("code\0x"));
        assert_eq!(Salted::new("s").hash("203.0.113.7").len(), 12);
    }
}
