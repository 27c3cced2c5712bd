//! The keys and secrets the server holds: its Fernet key ring and the salt
//! for hashing personal data.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::secret::SecretString;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KeysConfig {
    /// Fernet key ring, comma separated, newest first; or a path to a file
    /// holding one key per line. When unset, `key_file` is used.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub secret: Option<SecretString>,
    /// Key file read (or created with mode 0600) when `secret` is unset.
    pub key_file: PathBuf,
    /// Salt for hashing personal data (IPs, emails) before logging.
    #[serde(serialize_with = "crate::secret::redacted")]
    pub pii_salt: Option<SecretString>,
}

impl Default for KeysConfig {
    fn default() -> Self {
        KeysConfig {
            secret: None,
            key_file: PathBuf::from("./authnzd.key"),
            pii_salt: None,
        }
    }
}
