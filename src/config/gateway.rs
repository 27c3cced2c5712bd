//! Forward-auth and JWKS (`GET /auth/verify`, `GET /.well-known/jwks.json`).

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use super::ConfigError;
use crate::security::redirect::{RedirectRule, normalise_domain};

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
    /// More comma-separated domains (with their subdomains) redirect targets
    /// may be on: one allow-list, with `forward_auth_domains`, for every
    /// redirect (`passwordless-start.redirect_url` too).
    pub redirect_domains: String,
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
            redirect_domains: String::new(),
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

    /// Where redirects may go: `forward_auth_domains` and `redirect_domains`.
    pub fn redirect_rule(&self) -> RedirectRule {
        RedirectRule::new(self.redirect_domain_names().map(|(_, d)| d))
    }

    fn redirect_domain_names(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("forward_auth_domains", &self.forward_auth_domains),
            ("redirect_domains", &self.redirect_domains),
        ]
        .into_iter()
        .flat_map(|(key, list)| list.split(',').map(move |d| (key, d)))
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        self.gateway_addr()?;
        self.login_url()?;
        for (key, d) in self.redirect_domain_names() {
            if normalise_domain(d).is_err() {
                return Err(ConfigError::invalid(
                    key,
                    format!("`{}` is not a domain name", d.trim()),
                ));
            }
        }
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
