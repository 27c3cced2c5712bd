//! Access and refresh tokens (`token-issue`, `token-refresh`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct TokensConfig {
    /// Seconds an access JWT is valid.
    pub access_token_ttl: u64,
    /// Days a refresh token is valid (each rotation starts a new term).
    pub refresh_token_ttl_days: u64,
    /// Seconds in which the token just rotated may be presented once more
    /// and gets the same successor (two tabs refreshing at once); 0 = never.
    pub refresh_reuse_grace: u64,
    /// The access tokens' `iss`.
    pub jwt_issuer: String,
    /// The access tokens' `aud`.
    pub jwt_audience: String,
    /// Days the access-token signing key is used before it is replaced;
    /// 0 = only by `authnzd rotate-token-key`.
    pub jwt_key_rotation_days: u64,
}

impl Default for TokensConfig {
    fn default() -> Self {
        TokensConfig {
            access_token_ttl: 600,
            refresh_token_ttl_days: 60,
            refresh_reuse_grace: 30,
            jwt_issuer: "authnzd".into(),
            jwt_audience: "authnzd".into(),
            jwt_key_rotation_days: 30,
        }
    }
}
