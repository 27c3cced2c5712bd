//! Plain-HTTP endpoints for proxies and token verifiers:
//! `/auth/verify` (forward-auth for nginx `auth_request`, Traefik
//! `forwardAuth`, Caddy `forward_auth`) and `/.well-known/jwks.json`.
//!
//! This file reads the request (credential, client address, original URL)
//! and shapes the answer; whom the credential names is decided by
//! `actions::gateway`.

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::json;
use warp::Filter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::{Peer, text};
use crate::actions::gateway::{self, Credential, Identity};
use crate::app::App;
use crate::logging::Escaped;
use crate::security::admission::{ClientDenied, ClientLimit};
use crate::security::client_addr::TrustedProxies;
use crate::security::rate_limit::retry_after_secs;
use crate::security::redirect::RedirectRule;

pub struct Gateway {
    pub app: Arc<App>,
    pub cookie_name: String,
    /// Where unauthenticated browsers are sent; `None`: plain 401s.
    pub login_url: Option<url::Url>,
    /// Where an original URL may be (the one redirect rule).
    pub redirects: RedirectRule,
    /// Also answer `Remote-User`, `Remote-Email`, `Remote-Groups`, `Remote-Name`.
    pub remote_headers: bool,
    pub limiter: Option<ClientLimit>,
    /// Whose forwarding headers name the client.
    pub trusted_proxies: TrustedProxies,
    /// `Cache-Control: max-age` of the JWKS.
    pub jwks_max_age: u64,
}

/// `/auth/verify` (any method: proxies differ) and `/.well-known/jwks.json`;
/// both 404 when `gw` is `None` (they are served on another listener).
pub fn routes(
    gw: Option<Arc<Gateway>>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    let here = warp::any().and_then(move || {
        let gw = gw.clone();
        async move { gw.ok_or_else(warp::reject::not_found) }
    });
    let verify = warp::path!("auth" / "verify")
        .and(here.clone())
        .and(warp::header::headers_cloned())
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ext::optional::<Peer>())
        .then(
            |gw: Arc<Gateway>, headers: HeaderMap, query: String, peer: Option<Peer>| async move {
                gw.verify(&headers, &query, peer.map(|p| p.0.ip())).await
            },
        );
    let jwks = warp::path!(".well-known" / "jwks.json")
        .and(warp::get())
        .and(here)
        .map(|gw: Arc<Gateway>| gw.jwks());
    verify.or(jwks).unify()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// `Authorization: Bearer` first, then the session cookie (another scheme,
/// say Basic for the upstream, is not ours).
fn credential(headers: &HeaderMap, cookie_name: &str) -> Option<Credential> {
    let bearer = header_str(headers, "authorization")
        .and_then(|a| a.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"));
    if let Some((_, token)) = bearer {
        return Some(Credential::Bearer(token.trim().to_owned()));
    }
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        // The portal writes it `__Host-` prefixed when it can.
        .find(|c| c.name().strip_prefix("__Host-").unwrap_or(c.name()) == cookie_name)
        .map(|c| Credential::Cookie(c.value().to_owned()))
}

/// The client's address: the peer, or from a trusted proxy what its
/// `X-Real-IP` / `X-Forwarded-For` say (`TrustedProxies::client`).
pub(super) fn client_address(
    headers: &HeaderMap,
    peer: Option<IpAddr>,
    trusted: &TrustedProxies,
) -> Option<IpAddr> {
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok());
    Some(trusted.client(peer?, header_str(headers, "x-real-ip"), forwarded))
}

/// The URL the browser asked for: `?url=` (or `?rd=`), else `X-Original-URL`,
/// else `X-Forwarded-Proto` + `-Host` + `-Uri`.
fn original_url(headers: &HeaderMap, query: &str) -> Option<String> {
    let from_query = url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, v)| (k == "url" || k == "rd") && !v.is_empty())
        .map(|(_, v)| v.into_owned());
    from_query
        .or_else(|| header_str(headers, "x-original-url").map(str::to_owned))
        .or_else(|| {
            let proto = header_str(headers, "x-forwarded-proto")?;
            let host = header_str(headers, "x-forwarded-host")?;
            let uri = header_str(headers, "x-forwarded-uri").unwrap_or("/");
            Some(format!("{proto}://{host}{uri}"))
        })
}

fn wants_redirect(query: &str) -> bool {
    url::form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "mode" && v == "redirect")
}

fn set(res: &mut Response, name: &'static str, value: &str) {
    // Header values may carry UTF-8 (obs-text); control characters drop it.
    if let Ok(v) = HeaderValue::from_bytes(value.as_bytes()) {
        res.headers_mut().insert(name, v);
    }
}

impl Gateway {
    async fn verify(&self, headers: &HeaderMap, query: &str, peer: Option<IpAddr>) -> Response {
        // No peer is not a case this accept loop has; such a request
        // would count under the unspecified address.
        let client = client_address(headers, peer, &self.trusted_proxies)
            .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        if let Some(limiter) = &self.limiter {
            match limiter.check(client).await {
                Ok(()) => {}
                Err(ClientDenied::Wait(wait)) => {
                    let mut res = text(StatusCode::TOO_MANY_REQUESTS, "too many requests");
                    set(&mut res, "retry-after", &retry_after_secs(wait).to_string());
                    return res;
                }
                Err(ClientDenied::Unavailable) => {
                    return text(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "could not count this check; try again",
                    );
                }
            }
        }
        let found = match credential(headers, &self.cookie_name) {
            Some(c) => gateway::identify(&self.app, &c).await,
            None => Ok(None),
        };
        match found {
            Ok(Some(who)) => self.signed_in(&who),
            Ok(None) => self.not_signed_in(headers, query),
            Err(e) => {
                tracing::error!(error = %Escaped(&e), "forward-auth check failed");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "could not check the credential",
                )
            }
        }
    }

    /// 200 with who it is. The email is asserted only when verified (an
    /// address the user changed since is not), and `X-Auth-Email-Verified`
    /// says which; `X-Auth-Amr` lists how the session was signed in, so an
    /// app can ask for a second factor.
    fn signed_in(&self, who: &Identity) -> Response {
        let email = who.email_verified.then_some(who.email.as_str());
        let amr: Vec<&str> = who.amr.split_whitespace().collect();
        let body = json!({"user_id": who.user_id, "user_email": email,
                          "email_verified": who.email_verified, "user_role": who.role,
                          "amr": amr});
        let mut res = Response::new(body.to_string().into());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let id = who.user_id.to_string();
        set(&mut res, "x-auth-user-id", &id);
        if let Some(email) = email {
            set(&mut res, "x-auth-email", email);
        }
        let verified = if who.email_verified { "true" } else { "false" };
        set(&mut res, "x-auth-email-verified", verified);
        set(&mut res, "x-auth-role", &who.role);
        set(&mut res, "x-auth-amr", &amr.join(","));
        if let Some(at) = who.auth_time {
            set(
                &mut res,
                "x-auth-time",
                &at.and_utc().timestamp().to_string(),
            );
        }
        if self.remote_headers {
            set(&mut res, "remote-user", &id);
            if let Some(email) = email {
                set(&mut res, "remote-email", email);
            }
            set(&mut res, "remote-groups", &who.role);
            if let Some(name) = &who.full_name {
                set(&mut res, "remote-name", name);
            }
        }
        res
    }

    /// 401, carrying `Location` when a login page is configured (nginx turns
    /// it into a redirect with `error_page 401 =302`), or 302 with
    /// `?mode=redirect` (Traefik, Caddy pass the answer on as it is).
    fn not_signed_in(&self, headers: &HeaderMap, query: &str) -> Response {
        let Some(login) = &self.login_url else {
            let mut res = text(StatusCode::UNAUTHORIZED, "not signed in");
            set(&mut res, "www-authenticate", "Bearer");
            return res;
        };
        let mut location = login.clone();
        if let Some(original) = original_url(headers, query) {
            // Only to the allow-list: no open redirect.
            if !self.redirects.allows(&original) {
                return text(StatusCode::FORBIDDEN, "redirect target not allowed");
            }
            location.query_pairs_mut().append_pair("url", &original);
        }
        let status = if wants_redirect(query) {
            StatusCode::FOUND
        } else {
            StatusCode::UNAUTHORIZED
        };
        let mut res = text(status, "not signed in");
        set(&mut res, "location", location.as_str());
        set(&mut res, "www-authenticate", "Bearer");
        res
    }

    fn jwks(&self) -> Response {
        let mut res = Response::new(self.app.access_keys().jwks().into());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        set(
            &mut res,
            "cache-control",
            &format!("public, max-age={}", self.jwks_max_age),
        );
        res
    }

    /// Forgets clients not seen lately (bounded memory).
    pub fn sweep(&self) {
        if let Some(l) = &self.limiter {
            l.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarding_headers_count_only_from_trusted_peers() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 192.0.2.9"),
        );
        h.append("x-forwarded-for", HeaderValue::from_static("10.0.0.7"));
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let loopback = TrustedProxies::default();
        let ten = TrustedProxies::parse(&["10.0.0.0/8", "127.0.0.1"]).unwrap();
        let at = |t: &TrustedProxies, h: &HeaderMap, peer: &str| {
            client_address(h, Some(ip(peer)), t).unwrap()
        };
        assert_eq!(at(&ten, &h, "127.0.0.1"), ip("192.0.2.9"));
        assert_eq!(at(&loopback, &h, "127.0.0.1"), ip("10.0.0.7"));
        assert_eq!(at(&ten, &h, "203.0.113.1"), ip("203.0.113.1"));
        h.insert("x-real-ip", HeaderValue::from_static("198.51.100.3"));
        assert_eq!(at(&loopback, &h, "::1"), ip("198.51.100.3"));
        assert_eq!(at(&ten, &h, "198.51.100.200"), ip("198.51.100.200"));
        assert_eq!(client_address(&h, None, &ten), None);
    }

    #[test]
    fn bearer_wins_over_the_cookie_and_other_schemes_are_not_ours() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; authnzd_session=tok; b=2"),
        );
        assert!(
            matches!(credential(&h, "authnzd_session"), Some(Credential::Cookie(c)) if c == "tok")
        );
        h.insert("authorization", HeaderValue::from_static("bearer abc"));
        assert!(
            matches!(credential(&h, "authnzd_session"), Some(Credential::Bearer(c)) if c == "abc")
        );
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert!(
            matches!(credential(&h, "authnzd_session"), Some(Credential::Cookie(c)) if c == "tok")
        );
        assert!(credential(&HeaderMap::new(), "authnzd_session").is_none());
    }
}
