//! Forward-auth and JWKS (`GET /auth/verify`, `GET /.well-known/jwks.json`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct GatewayConfig {
    /// Serve forward-auth and JWKS here instead of on the RPC listener, so
    /// the RPC port never faces a proxy (`127.0.0.1:13432`). Empty: the RPC
    /// listener serves them.
    pub gateway_listen: String,
    /// The cookie holding a session token.
    pub session_cookie_name: String,
    /// Where an unauthenticated browser is sent (`https://login.example.com/`);
    /// the original URL goes along as `?url=`. Empty: no redirects.
    pub forward_auth_login_url: String,
    /// Comma-separated domains an original URL may be on (each also allows
    /// its subdomains); only `https` URLs there are carried to the login page.
    pub forward_auth_domains: String,
    /// Also answer Authelia-style `Remote-User`, `Remote-Email`, `Remote-Groups`.
    pub forward_auth_remote_headers: bool,
    /// Forward-auth checks per second per client address (burst twice
    /// that); 0 = unlimited.
    pub gateway_rate_limit: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        GatewayConfig {
            gateway_listen: String::new(),
            session_cookie_name: "authnzd_session".into(),
            forward_auth_login_url: String::new(),
            forward_auth_domains: String::new(),
            forward_auth_remote_headers: false,
            gateway_rate_limit: 100,
        }
    }
}

impl GatewayConfig {
    /// The separate gateway address, if one is set.
    pub fn gateway_addr(&self) -> Result<Option<SocketAddr>, ConfigError> {
        let s = self.gateway_listen.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse().map(Some).map_err(|_| {
            ConfigError::invalid(
                "gateway_listen",
                "must be an address and port, e.g. 127.0.0.1:13432",
            )
        })
    }

    /// The login page to redirect to, if any: an absolute http(s) URL.
    pub fn login_url(&self) -> Result<Option<url::Url>, ConfigError> {
        let s = self.forward_auth_login_url.trim();
        if s.is_empty() {
            return Ok(None);
        }
        match url::Url::parse(s) {
            Ok(u) if matches!(u.scheme(), "https" | "http") && u.host().is_some() => Ok(Some(u)),
            _ => Err(ConfigError::invalid(
                "forward_auth_login_url",
                "must be an absolute https:// (or http://) URL",
            )),
        }
    }

    /// The allowed redirect domains, lower-cased, without leading dots.
    pub fn domains(&self) -> Vec<String> {
        self.forward_auth_domains
            .split(',')
            .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
            .filter(|d| !d.is_empty())
            .collect()
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        self.gateway_addr()?;
        self.login_url()?;
        if self.session_cookie_name.is_empty()
            || !self
                .session_cookie_name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return Err(ConfigError::invalid(
                "session_cookie_name",
                "must be letters, digits, '-', '_' or '.'",
            ));
        }
        Ok(())
    }
}
