//! Public-key (device key) login: how long a challenge stays valid, and
//! whether a device key stands in for the second factor.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PubkeyConfig {
    /// Seconds a `pubkey-challenge-new` challenge can be signed.
    pub pubkey_challenge_ttl: u64,
    /// Whether a device-key login counts as a second factor, so an account
    /// with TOTP signs in with the key alone. Off: it asks for the code too.
    pub device_key_counts_as_mfa: bool,
}

impl Default for PubkeyConfig {
    fn default() -> Self {
        PubkeyConfig {
            pubkey_challenge_ttl: 300,
            device_key_counts_as_mfa: false,
        }
    }
}
