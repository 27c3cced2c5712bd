//! The hosted sign-in portal (`/login`, `/account`, `/logout`).

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PortalConfig {
    /// Serve the sign-in portal (on the gateway listener, else the RPC one).
    pub portal: bool,
    /// The portal's public address as browsers see it
    /// (`https://auth.example.com/`, or with a path prefix). Plain `http`
    /// only on a loopback host, for development. Empty: `http://` this
    /// server's listen address.
    pub portal_url: String,
    /// Where a sign-in goes when no allowed `?rd=` / `?url=` came with it.
    /// Empty: the portal's account page.
    pub portal_default_redirect: String,
    /// Share the session cookie with subdomains (`example.com`) for
    /// forward-auth across them. Empty: a host-only `__Host-` cookie.
    pub session_cookie_domain: String,
    /// The product name the pages show.
    pub portal_product_name: String,
    /// The pages' accent colour (`#1f5fbf`, `#15a`).
    pub portal_accent_color: String,
    /// A logo shown above every page (a PNG, SVG, JPEG or WebP file).
    pub portal_logo_file: Option<std::path::PathBuf>,
    /// A stylesheet added after the portal's own.
    pub portal_stylesheet_file: Option<std::path::PathBuf>,
    /// Let anyone sign up at `/signup` (off: those pages are not there).
    pub portal_signup: bool,
    /// Seconds a mailed password-reset link works.
    pub portal_reset_ttl: u64,
    /// Seconds a mailed address-verification link works.
    pub portal_verify_ttl: u64,
}

impl Default for PortalConfig {
    fn default() -> Self {
        PortalConfig {
            portal: false,
            portal_url: String::new(),
            portal_default_redirect: String::new(),
            session_cookie_domain: String::new(),
            portal_product_name: "authnzd".into(),
            portal_accent_color: "#1f5fbf".into(),
            portal_logo_file: None,
            portal_stylesheet_file: None,
            portal_signup: false,
            portal_reset_ttl: 3600,
            portal_verify_ttl: 86_400,
        }
    }
}

impl PortalConfig {
    /// The public base URL, ending in `/`; `fallback` when none is set.
    pub fn base_url(&self, fallback: &str) -> Result<url::Url, ConfigError> {
        let s = self.portal_url.trim();
        let s = if s.is_empty() { fallback } else { s };
        let bad = || {
            ConfigError::invalid(
                "portal_url",
                "must be an https:// URL (http:// only on a loopback host) without query or fragment",
            )
        };
        let mut url = url::Url::parse(s).map_err(|_| bad())?;
        let loopback = match url.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(d)) => d == "localhost",
            None => return Err(bad()),
        };
        let ok_scheme = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !ok_scheme || url.query().is_some() || url.fragment().is_some() {
            return Err(bad());
        }
        if !url.path().ends_with('/') {
            let path = format!("{}/", url.path());
            url.set_path(&path);
        }
        Ok(url)
    }

    pub(super) fn check(&self) -> Result<(), ConfigError> {
        if !self.portal_url.trim().is_empty() {
            self.base_url("")?;
        }
        let d = self.session_cookie_domain.trim();
        if !d.is_empty() && crate::security::redirect::normalise_domain(d).is_err() {
            return Err(ConfigError::invalid(
                "session_cookie_domain",
                format!("`{d}` is not a domain name"),
            ));
        }
        let name = &self.portal_product_name;
        if name.trim().is_empty() || name.chars().count() > 60 {
            return Err(ConfigError::invalid(
                "portal_product_name",
                "must be 1 to 60 characters",
            ));
        }
        let colour = self.portal_accent_color.strip_prefix('#').unwrap_or("");
        if !matches!(colour.len(), 3 | 6) || !colour.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(ConfigError::invalid(
                "portal_accent_color",
                "must be a hex colour, #rgb or #rrggbb",
            ));
        }
        if let Some(logo) = &self.portal_logo_file
            && logo_type(logo).is_none()
        {
            return Err(ConfigError::invalid(
                "portal_logo_file",
                "must end in .png, .svg, .jpg, .jpeg or .webp",
            ));
        }
        Ok(())
    }
}

/// The media type of a logo file, by its extension.
pub fn logo_type(path: &std::path::Path) -> Option<&'static str> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "png" => "image/png",
        "svg" => "image/svg+xml",
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_logos_and_addresses_are_checked() {
        let ok = PortalConfig::default();
        assert!(ok.check().is_ok());
        for bad in ["red", "#12345", "#ggg", "1f5fbf"] {
            let c = PortalConfig {
                portal_accent_color: bad.into(),
                ..PortalConfig::default()
            };
            assert!(c.check().is_err(), "{bad}");
        }
        let c = PortalConfig {
            portal_logo_file: Some("logo.gif".into()),
            ..PortalConfig::default()
        };
        assert!(c.check().is_err());
        for (url, fine) in [
            ("https://auth.example.com/sub", true),
            ("http://127.0.0.1:8080/", true),
            ("http://auth.example.com/", false),
            ("https://auth.example.com/?q=1", false),
        ] {
            let c = PortalConfig {
                portal_url: url.into(),
                ..PortalConfig::default()
            };
            assert_eq!(c.check().is_ok(), fine, "{url}");
        }
        let base = PortalConfig {
            portal_url: "https://auth.example.com/sub".into(),
            ..PortalConfig::default()
        };
        assert_eq!(
            base.base_url("").unwrap().as_str(),
            "https://auth.example.com/sub/"
        );
    }
}
