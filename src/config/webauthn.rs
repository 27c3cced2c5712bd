//! Passkeys (WebAuthn): the relying party. Off until it has an RP ID: the
//! one set, or the host of `portal_url` when that is set (its origin then
//! the only one allowed unless `webauthn_origins` names others).

use serde::{Deserialize, Serialize};

use super::{ConfigError, PortalConfig};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WebauthnConfig {
    /// The relying party ID passkeys are bound to (a domain: `example.com`,
    /// `auth.example.com`). Changing it orphans every registered passkey.
    /// Empty: `portal_url`'s host; neither set, passkeys are off.
    pub webauthn_rp_id: String,
    /// The name authenticators show. Empty: `server_name`.
    pub webauthn_rp_name: String,
    /// The exact origins (`https://auth.example.com`, `;`-separated) whose
    /// pages may use passkeys; no subdomain wildcards. Empty: `portal_url`'s
    /// origin.
    pub webauthn_origins: String,
    /// `required` (passkeys prove who holds them: a PIN, a fingerprint) or
    /// `discouraged` (security keys that only prove presence are accepted
    /// for username-first and second-step sign-ins, as one factor).
    pub webauthn_user_verification: String,
    /// Seconds a started registration or login can be finished.
    pub webauthn_ceremony_ttl: u64,
    /// Authenticator models (AAGUIDs, `;`-separated) allowed to register;
    /// empty: any. Without attestation the AAGUID is what the authenticator
    /// claims, so this is a policy filter, not proof of the model.
    pub webauthn_aaguids: String,
}

impl Default for WebauthnConfig {
    fn default() -> Self {
        WebauthnConfig {
            webauthn_rp_id: String::new(),
            webauthn_rp_name: String::new(),
            webauthn_origins: String::new(),
            webauthn_user_verification: "required".into(),
            webauthn_ceremony_ttl: 300,
            webauthn_aaguids: String::new(),
        }
    }
}

/// Whether a passkey must verify its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserVerification {
    Required,
    Discouraged,
}

/// The relying party as configured and derived.
#[derive(Debug, Clone)]
pub struct RelyingParty {
    pub id: String,
    pub name: String,
    pub origins: Vec<url::Url>,
    pub user_verification: UserVerification,
    pub aaguids: Vec<uuid::Uuid>,
}

impl WebauthnConfig {
    /// The relying party, `None` when passkeys are off.
    pub fn relying_party(
        &self,
        portal: &PortalConfig,
        server_name: &str,
    ) -> Result<Option<RelyingParty>, ConfigError> {
        let portal_url = if portal.portal_url.trim().is_empty() {
            None
        } else {
            portal.base_url("").ok()
        };
        let id = match self.webauthn_rp_id.trim() {
            "" => match portal_url.as_ref().and_then(|u| u.host_str()) {
                Some(h) => h.to_owned(),
                None => return Ok(None),
            },
            id => id.to_ascii_lowercase(),
        };
        let mut origins = Vec::new();
        for o in self.webauthn_origins.split(';').map(str::trim) {
            if o.is_empty() {
                continue;
            }
            let bad = |why: &str| ConfigError::invalid("webauthn_origins", format!("`{o}`: {why}"));
            let url = url::Url::parse(o).map_err(|_| bad("not a URL"))?;
            if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
                return Err(bad("an origin has no path, query or fragment"));
            }
            origins.push(url);
        }
        if origins.is_empty() {
            match &portal_url {
                Some(u) => {
                    let mut origin = u.clone();
                    origin.set_path("/");
                    origins.push(origin);
                }
                None => {
                    return Err(ConfigError::invalid(
                        "webauthn_origins",
                        "needed when webauthn_rp_id is set without portal_url",
                    ));
                }
            }
        }
        // Everything derived from a portal that browsers cannot use
        // passkeys on (an IP address, plain http off localhost): passkeys
        // are off, and the portal works as before.
        let all_derived =
            self.webauthn_rp_id.trim().is_empty() && self.webauthn_origins.trim().is_empty();
        for o in &origins {
            let host = o.domain().unwrap_or("");
            let secure = o.scheme() == "https" || (o.scheme() == "http" && host == "localhost");
            if !secure || !(host == id || host.ends_with(&format!(".{id}"))) {
                if all_derived {
                    return Ok(None);
                }
                return Err(ConfigError::invalid(
                    "webauthn_origins",
                    format!(
                        "`{o}` must be https:// (http:// only on localhost) on `{id}` or a subdomain of it"
                    ),
                ));
            }
        }
        let user_verification = match self.webauthn_user_verification.trim() {
            "required" => UserVerification::Required,
            "discouraged" => UserVerification::Discouraged,
            _ => {
                return Err(ConfigError::invalid(
                    "webauthn_user_verification",
                    "must be `required` or `discouraged`",
                ));
            }
        };
        let mut aaguids = Vec::new();
        for a in self.webauthn_aaguids.split(';').map(str::trim) {
            if a.is_empty() {
                continue;
            }
            let parsed = uuid::Uuid::parse_str(a).map_err(|_| {
                ConfigError::invalid("webauthn_aaguids", format!("`{a}` is not a UUID"))
            })?;
            aaguids.push(parsed);
        }
        let name = match self.webauthn_rp_name.trim() {
            "" => server_name.to_owned(),
            n => n.to_owned(),
        };
        Ok(Some(RelyingParty {
            id,
            name,
            origins,
            user_verification,
            aaguids,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rp(
        tweak: impl FnOnce(&mut WebauthnConfig, &mut PortalConfig),
    ) -> Result<Option<RelyingParty>, ConfigError> {
        let (mut w, mut p) = (WebauthnConfig::default(), PortalConfig::default());
        tweak(&mut w, &mut p);
        w.relying_party(&p, "authnzd")
    }

    #[test]
    fn off_until_an_rp_id_or_portal_url_and_derived_from_the_portal() {
        assert!(rp(|_, _| {}).unwrap().is_none());
        let derived = rp(|_, p| p.portal_url = "https://auth.example.com/sso/".into())
            .unwrap()
            .unwrap();
        assert_eq!(derived.id, "auth.example.com");
        assert_eq!(derived.origins[0].as_str(), "https://auth.example.com/");
        assert_eq!(derived.name, "authnzd");
        assert_eq!(derived.user_verification, UserVerification::Required);
    }

    #[test]
    fn a_portal_on_an_ip_address_or_plain_http_leaves_passkeys_off() {
        for url in ["http://127.0.0.1:8080/", "http://auth.example.com/"] {
            let got = rp(|_, p| p.portal_url = url.into());
            assert!(matches!(got, Ok(None)), "{url}: {got:?}");
        }
        let named = rp(|w, p| {
            p.portal_url = "http://127.0.0.1:8080/".into();
            w.webauthn_rp_id = "127.0.0.1".into();
        });
        assert!(named.is_err(), "an RP id set by hand is checked");
    }

    #[test]
    fn origins_are_exact_secure_and_on_the_rp_id() {
        let set = |id: &str, origins: &str| {
            let (id, origins) = (id.to_owned(), origins.to_owned());
            rp(move |w, _| {
                w.webauthn_rp_id = id;
                w.webauthn_origins = origins;
            })
        };
        assert!(set("example.com", "https://a.example.com; https://example.com").is_ok());
        assert!(
            set("example.com", "").is_err(),
            "no portal_url to derive from"
        );
        assert!(set("example.com", "http://example.com").is_err());
        assert!(set("example.com", "https://myexample.com").is_err());
        assert!(set("example.com", "https://example.com/path").is_err());
        assert!(set("localhost", "http://localhost:8080").is_ok());
        let bad_uv = rp(|w, p| {
            p.portal_url = "https://auth.example.com/".into();
            w.webauthn_user_verification = "preferred".into();
        });
        assert!(bad_uv.is_err());
        let bad_aaguid = rp(|w, p| {
            p.portal_url = "https://auth.example.com/".into();
            w.webauthn_aaguids = "not-a-uuid".into();
        });
        assert!(bad_aaguid.is_err());
    }
}
