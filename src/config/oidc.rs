//! The OpenID Connect provider (`oidc = true`; the portal is its sign-in
//! and consent UI, so it needs `portal = true`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct OidcConfig {
    /// Serve the provider under the portal's URL (its issuer).
    pub oidc: bool,
    /// Seconds an authorization code may wait for redemption.
    pub oidc_code_ttl: u64,
    /// Seconds an id token is valid.
    pub oidc_id_token_ttl: u64,
}

impl Default for OidcConfig {
    fn default() -> Self {
        OidcConfig {
            oidc: false,
            oidc_code_ttl: 60,
            oidc_id_token_ttl: 3600,
        }
    }
}

impl OidcConfig {
    pub(super) fn check(&self, portal: bool) -> Result<(), ConfigError> {
        if self.oidc && !portal {
            return Err(ConfigError::invalid(
                "oidc",
                "needs `portal = true`: the portal is where users sign in and consent",
            ));
        }
        Ok(())
    }
}
