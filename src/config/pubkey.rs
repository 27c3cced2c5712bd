//! Public-key (device key) login: how long a challenge stays valid.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PubkeyConfig {
    /// Seconds a `pubkey-challenge-new` challenge can be signed.
    pub pubkey_challenge_ttl: u64,
}

impl Default for PubkeyConfig {
    fn default() -> Self {
        PubkeyConfig {
            pubkey_challenge_ttl: 300,
        }
    }
}
