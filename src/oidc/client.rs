//! A relying party as the rules see it: who it is, where codes may go,
//! what it may ask for and who may use it.

use entity::oidc_clients;
use subtle::ConstantTimeEq;

use crate::security::tokens;

/// The scopes the provider knows.
pub const SCOPES: &[&str] = &["openid", "profile", "email", "groups", "offline_access"];

/// Longest `client_id` (the column's width).
pub const MAX_CLIENT_ID: usize = 64;

#[derive(Clone, PartialEq, Eq)]
pub struct Client {
    pub id: String,
    pub name: String,
    secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    /// Empty: every role.
    pub roles: Vec<String>,
    pub first_party: bool,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("public", &self.is_public())
            .field("redirect_uris", &self.redirect_uris)
            .finish_non_exhaustive()
    }
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

impl From<oidc_clients::Model> for Client {
    fn from(row: oidc_clients::Model) -> Client {
        Client {
            id: row.client_id,
            name: row.name,
            secret_hash: row.secret_hash,
            redirect_uris: words(&row.redirect_uris),
            post_logout_redirect_uris: words(&row.post_logout_redirect_uris),
            scopes: words(&row.scopes),
            roles: words(&row.roles),
            first_party: row.first_party,
        }
    }
}

/// How a client proved who it is at the token endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presented<'a> {
    /// A secret (`client_secret_basic` or `client_secret_post`).
    Secret(&'a str),
    /// Only its id (a public client).
    Nothing,
}

impl Client {
    /// No secret: it must use PKCE.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    /// Exactly one of the registered URIs, compared as strings.
    pub fn allows_redirect(&self, uri: &str) -> bool {
        self.redirect_uris.iter().any(|r| r == uri)
    }

    pub fn allows_role(&self, role: &str) -> bool {
        self.roles.is_empty() || self.roles.iter().any(|r| r == role)
    }

    /// Whether `presented` authenticates this client: its secret for a
    /// confidential client (compared as digests, in constant time), nothing
    /// for a public one.
    pub fn authenticates(&self, presented: Presented<'_>) -> bool {
        match (&self.secret_hash, presented) {
            (Some(hash), Presented::Secret(secret)) => {
                let digest = tokens::digest(secret);
                bool::from(digest.as_bytes().ct_eq(hash.as_bytes()))
            }
            (None, Presented::Nothing) => true,
            _ => false,
        }
    }

    /// The scopes of a request this client may have, in its order; `openid`
    /// is always allowed.
    pub fn granted_scopes(&self, asked: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for s in asked.split_whitespace() {
            let allowed = s == "openid" || self.scopes.iter().any(|a| a == s);
            if allowed && SCOPES.contains(&s) && !out.iter().any(|o| o == s) {
                out.push(s.to_owned());
            }
        }
        out
    }
}

/// A client's new secret and the digest that is stored.
pub fn new_secret() -> Result<(String, String), crate::security::tokens::RandomError> {
    let secret = tokens::new_token()?;
    let hash = tokens::digest(&secret);
    Ok((secret, hash))
}

/// Whether `uri` may be registered as a redirect URI: absolute, no
/// fragment, no user info, `https` (or `http` on a loopback host, for
/// development and native apps).
pub fn check_redirect_uri(uri: &str) -> Result<(), &'static str> {
    let url = url::Url::parse(uri).map_err(|_| "is not an absolute URL")?;
    if url.fragment().is_some() {
        return Err("must not have a fragment");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry user info");
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => return Err("must have a host"),
    };
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err("must be https (http only on a loopback host)"),
    }
}

/// Whether `id` may name a client: 1 to 64 of `A-Z a-z 0-9 - _ .`.
pub fn check_client_id(id: &str) -> Result<(), &'static str> {
    let ok = !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err("must be 1 to 64 letters, digits, '-', '_' or '.'")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(secret: Option<&str>) -> Client {
        Client {
            id: "app".into(),
            name: "App".into(),
            secret_hash: secret.map(tokens::digest),
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: Vec::new(),
            scopes: words("openid profile email"),
            roles: words("staff"),
            first_party: false,
        }
    }

    #[test]
    fn a_confidential_client_needs_its_own_secret() {
        let c = client(Some("s3cret"));
        assert!(c.authenticates(Presented::Secret("s3cret")));
        assert!(!c.authenticates(Presented::Secret("s3cret ")));
        assert!(!c.authenticates(Presented::Nothing));
        let public = client(None);
        assert!(public.authenticates(Presented::Nothing));
        assert!(!public.authenticates(Presented::Secret("anything")));
    }

    #[test]
    fn redirects_match_exactly() {
        let c = client(None);
        assert!(c.allows_redirect("https://app.example/cb"));
        for near in [
            "https://app.example/cb/",
            "https://app.example/cb?x=1",
            "https://APP.example/cb",
            "https://app.example/c",
        ] {
            assert!(!c.allows_redirect(near), "{near}");
        }
    }

    #[test]
    fn only_allowed_known_scopes_are_granted_once() {
        let c = client(None);
        assert_eq!(
            c.granted_scopes("email openid groups openid bogus profile"),
            words("email openid profile")
        );
    }

    #[test]
    fn registrable_redirects() {
        assert!(check_redirect_uri("https://app.example/cb").is_ok());
        assert!(check_redirect_uri("http://127.0.0.1:8080/cb").is_ok());
        assert!(check_redirect_uri("http://app.example/cb").is_err());
        assert!(check_redirect_uri("https://u:p@app.example/cb").is_err());
        assert!(check_redirect_uri("https://app.example/cb#x").is_err());
        assert!(check_redirect_uri("/cb").is_err());
        assert!(check_client_id("grafana").is_ok());
        assert!(check_client_id("a b").is_err());
        assert!(check_client_id("").is_err());
    }
}
