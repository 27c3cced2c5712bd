//! The portal's cookies: the session cookie the gateway reads, and two
//! short-lived ones for a sign-in in progress (the pre-login session, the
//! second-factor token). All `HttpOnly` and `SameSite=Lax`; `Secure` with
//! the `__Host-` prefix (host-only, path `/`) unless the portal is plain
//! HTTP on loopback (development) or the session cookie is shared with
//! subdomains (`session_cookie_domain`).

use cookie::{Cookie, SameSite};
use warp::http::{HeaderMap, HeaderValue, header};

/// Which cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    Session,
    PreLogin,
    SecondFactor,
    /// The email sign-in this browser asked for (its attempt id).
    EmailAttempt,
    /// The phone sign-in this browser waits for: `{challenge_id}.{wait_secret}`.
    DeviceWait,
    /// The phone this signed-in browser is adding, as `DeviceWait`.
    DeviceAdd,
    /// The passkey ceremony this browser started (its id).
    Passkey,
}

pub struct Jar {
    /// `session_cookie_name`.
    pub session_name: String,
    /// False only for plain HTTP on loopback.
    pub secure: bool,
    /// `session_cookie_domain`, for the session cookie only.
    pub domain: Option<String>,
}

/// How long a sign-in in progress may take (the pre-login session and the
/// second-factor token live as long).
pub const SIGN_IN_SECS: i64 = 600;

impl Jar {
    fn base_name(&self, which: Which) -> &str {
        match which {
            Which::Session => &self.session_name,
            Which::PreLogin => "authnzd_prelogin",
            Which::SecondFactor => "authnzd_mfa",
            Which::EmailAttempt => "authnzd_attempt",
            Which::DeviceWait => "authnzd_device",
            Which::DeviceAdd => "authnzd_device_add",
            Which::Passkey => "authnzd_passkey",
        }
    }

    fn domain_of(&self, which: Which) -> Option<&str> {
        match which {
            Which::Session => self.domain.as_deref(),
            _ => None,
        }
    }

    /// The name written: `__Host-` prefixed when it can be.
    pub fn name(&self, which: Which) -> String {
        let base = self.base_name(which);
        if self.secure && self.domain_of(which).is_none() {
            format!("__Host-{base}")
        } else {
            base.to_owned()
        }
    }

    /// The cookie's value, if the browser sent it (under the name written).
    pub fn read(&self, headers: &HeaderMap, which: Which) -> Option<String> {
        let name = self.name(which);
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == name && !c.value().is_empty())
            .map(|c| c.value().to_owned())
    }

    /// `Set-Cookie` for `value`, kept `max_age_secs`.
    pub fn set(&self, which: Which, value: &str, max_age_secs: i64) -> Option<HeaderValue> {
        let mut c = Cookie::build((self.name(which), value.to_owned()))
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(SameSite::Lax)
            .max_age(cookie::time::Duration::seconds(max_age_secs.max(0)));
        if let Some(d) = self.domain_of(which) {
            c = c.domain(d.to_owned());
        }
        HeaderValue::from_str(&c.build().to_string()).ok()
    }

    /// `Set-Cookie` that removes it.
    pub fn clear(&self, which: Which) -> Option<HeaderValue> {
        self.set(which, "", 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jar(secure: bool, domain: Option<&str>) -> Jar {
        Jar {
            session_name: "authnzd_session".into(),
            secure,
            domain: domain.map(str::to_owned),
        }
    }

    #[test]
    fn host_prefixed_when_secure_and_host_only() {
        let j = jar(true, None);
        let set = j.set(Which::Session, "tok", 60).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("__Host-authnzd_session=tok"), "{set}");
        for attr in ["HttpOnly", "Secure", "SameSite=Lax", "Path=/", "Max-Age=60"] {
            assert!(set.contains(attr), "{attr} in {set}");
        }
        assert!(!set.contains("Domain"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("authnzd_session=plain; __Host-authnzd_session=tok"),
        );
        assert_eq!(j.read(&h, Which::Session).as_deref(), Some("tok"));
        assert_eq!(j.read(&h, Which::PreLogin), None);
    }

    #[test]
    fn a_shared_domain_or_loopback_http_drops_the_prefix() {
        let shared = jar(true, Some("example.com"));
        let set = shared.set(Which::Session, "t", 5).unwrap();
        let set = set.to_str().unwrap();
        assert!(set.starts_with("authnzd_session=t") && set.contains("Domain=example.com"));
        let pre = shared.set(Which::PreLogin, "p", 5).unwrap();
        assert!(
            pre.to_str()
                .unwrap()
                .starts_with("__Host-authnzd_prelogin=p")
        );
        let dev = jar(false, None).set(Which::Session, "t", 5).unwrap();
        assert!(!dev.to_str().unwrap().contains("Secure"));
        let gone = jar(true, None).clear(Which::SecondFactor).unwrap();
        assert!(gone.to_str().unwrap().contains("Max-Age=0"));
    }
}
