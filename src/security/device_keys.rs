//! Device keys' wire forms: the message a device signs, and the strict
//! decoding of Ed25519 public keys and signatures (standard base64 with
//! padding, exact lengths, no small-order keys, reduced `S`), each failure
//! with its own reason.

use authnzd_proto::Refusal;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use curve25519_dalek::Scalar;
use ed25519_dalek::{Signature, VerifyingKey};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Register,
    Login,
}

impl Purpose {
    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "register" => Some(Purpose::Register),
            "login" => Some(Purpose::Login),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Register => "register",
            Purpose::Login => "login",
        }
    }
}

/// What the device signs.
pub fn signed_message(purpose: &str, challenge_id: &str, challenge: &str) -> String {
    format!("authnzd-pubkey-v1\n{purpose}\n{challenge_id}\n{challenge}")
}

/// What the app and the browser both show of a key, for the user to compare
/// before confirming it: the first 6 bytes of SHA-256 of the raw 32-byte
/// key, hex, in groups of four (`3f2a-91bc-07de`).
pub fn fingerprint(key: &VerifyingKey) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(key.to_bytes());
    let hex = hex::encode(&digest[..6]);
    [&hex[0..4], &hex[4..8], &hex[8..12]].join("-")
}

/// Standard base64 with padding, nothing else.
pub fn decode(b64: &str) -> Result<Vec<u8>, Refusal> {
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| Refusal::PubkeyBadBase64)
}

/// A 32-byte Ed25519 public key that is a point of large order.
pub fn decode_public_key(b64: &str) -> Result<VerifyingKey, Refusal> {
    let bytes: [u8; 32] = decode(b64)?
        .try_into()
        .map_err(|_| Refusal::PubkeyBadKeyLength)?;
    let key = VerifyingKey::from_bytes(&bytes).map_err(|_| Refusal::PubkeyWeakKey)?;
    if key.is_weak() {
        return Err(Refusal::PubkeyWeakKey);
    }
    Ok(key)
}

/// A 64-byte signature whose `S` is reduced (`verify_strict` refuses the
/// rest too; this says why).
pub fn decode_signature(b64: &str) -> Result<Signature, Refusal> {
    let bytes: [u8; 64] = decode(b64)?
        .try_into()
        .map_err(|_| Refusal::PubkeyBadSignatureLength)?;
    let mut s = [0u8; 32];
    s.copy_from_slice(&bytes[32..]);
    if !bool::from(Scalar::from_canonical_bytes(s).is_some()) {
        return Err(Refusal::PubkeyNonCanonicalSignature);
    }
    Ok(Signature::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_are_checked_before_anything_else() {
        assert_eq!(
            decode_public_key("not base64!").err(),
            Some(Refusal::PubkeyBadBase64)
        );
        // Missing padding is not standard base64.
        let unpadded = STANDARD.encode([1u8; 32]).trim_end_matches('=').to_owned();
        assert_eq!(
            decode_public_key(&unpadded).err(),
            Some(Refusal::PubkeyBadBase64)
        );
        assert_eq!(
            decode_public_key(&STANDARD.encode([1u8; 31])).err(),
            Some(Refusal::PubkeyBadKeyLength)
        );
        // The identity point has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert_eq!(
            decode_public_key(&STANDARD.encode(identity)).err(),
            Some(Refusal::PubkeyWeakKey)
        );
        assert_eq!(
            decode_signature(&STANDARD.encode([0u8; 63])).err(),
            Some(Refusal::PubkeyBadSignatureLength)
        );
        assert_eq!(
            decode_signature(&STANDARD.encode([0xffu8; 64])).err(),
            Some(Refusal::PubkeyNonCanonicalSignature)
        );
    }
}
