//! The password policy and the breached-password lookup.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordConfig {
    /// authnzerver's password-policy string.
    pub password_policy: String,
    /// Look new passwords up in a breached-password range API (k-anonymity:
    /// only 5 hex digits of the SHA-1 leave the server).
    pub breached_password_check: bool,
    /// Range API base URL (`{url}/{5 hex digits}`).
    pub breached_password_url: String,
    /// Refuse the password when the lookup fails (else accept it).
    pub breached_password_fail_closed: bool,
    /// A password change or reset also revokes the account's other
    /// credentials: session-less API keys, device keys and pending
    /// second-factor logins (sessions but the caller's always end).
    pub revoke_all_on_password_reset: bool,
}

impl Default for PasswordConfig {
    fn default() -> Self {
        PasswordConfig {
            password_policy: "min_pass_length:12; max_unsafe_similarity:50; \
                              max_char_frequency:0.3; min_pwned_matches:25"
                .into(),
            breached_password_check: false,
            breached_password_url: "https://api.pwnedpasswords.com/range".into(),
            breached_password_fail_closed: false,
            revoke_all_on_password_reset: true,
        }
    }
}
