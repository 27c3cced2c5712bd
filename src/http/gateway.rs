//! Plain-HTTP endpoints for proxies and token verifiers:
//! `/auth/verify` (forward-auth for nginx `auth_request`, Traefik
//! `forwardAuth`, Caddy `forward_auth`) and `/.well-known/jwks.json`.
//!
//! This file reads the request (credential, client address, original URL)
//! and shapes the answer; whom the credential names is decided by
//! `actions::gateway`.

use std::net::SocketAddr;
use std::sync::Arc;

use serde_json::json;
use warp::Filter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::text;
use crate::actions::gateway::{self, Credential, Identity};
use crate::app::App;
use crate::security::rate_limit::{PerClient, retry_after_secs};

pub struct Gateway {
    pub app: Arc<App>,
    pub cookie_name: String,
    /// Where unauthenticated browsers are sent; `None`: plain 401s.
    pub login_url: Option<url::Url>,
    /// Domains (and their subdomains) an original URL may be on.
    pub domains: Vec<String>,
    /// Also answer `Remote-User`, `Remote-Email`, `Remote-Groups`, `Remote-Name`.
    pub remote_headers: bool,
    pub limiter: Option<PerClient>,
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
        .and(
            warp::query::raw()
                .or(warp::any().map(String::new))
                .unify(),
        )
        .and(warp::addr::remote())
        .then(
            |gw: Arc<Gateway>, headers: HeaderMap, query: String, peer: Option<SocketAddr>| async move {
                gw.verify(&headers, &query, peer).await
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
        .find(|c| c.name() == cookie_name)
        .map(|c| Credential::Cookie(c.value().to_owned()))
}

/// The client's address as the proxy saw it: `X-Real-IP`, else the last
/// `X-Forwarded-For` hop (the one our proxy added), else the peer.
fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    let parses = |s: &str| s.trim().parse::<std::net::IpAddr>().ok();
    header_str(headers, "x-real-ip")
        .and_then(parses)
        .or_else(|| {
            header_str(headers, "x-forwarded-for")?
                .rsplit(',')
                .next()
                .and_then(parses)
        })
        .or(peer.map(|p| p.ip()))
        .map_or_else(|| "unknown".to_owned(), |ip| ip.to_string())
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

/// Only absolute `https` URLs without credentials on one of `domains` (or a
/// subdomain) may be carried to the login page: no open redirect.
pub fn redirect_allowed(target: &str, domains: &[String]) -> bool {
    let Ok(u) = url::Url::parse(target) else {
        return false;
    };
    if u.scheme() != "https" || !u.username().is_empty() || u.password().is_some() {
        return false;
    }
    let Some(url::Host::Domain(host)) = u.host() else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    domains.iter().any(|d| {
        host == *d
            || host
                .strip_suffix(d.as_str())
                .is_some_and(|rest| rest.ends_with('.'))
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
    async fn verify(&self, headers: &HeaderMap, query: &str, peer: Option<SocketAddr>) -> Response {
        if let Some(limiter) = &self.limiter
            && let Err(wait) = limiter.check(&client_address(headers, peer))
        {
            let mut res = text(StatusCode::TOO_MANY_REQUESTS, "too many requests");
            set(&mut res, "retry-after", &retry_after_secs(wait).to_string());
            return res;
        }
        let found = match credential(headers, &self.cookie_name) {
            Some(c) => gateway::identify(&self.app, &c).await,
            None => Ok(None),
        };
        match found {
            Ok(Some(who)) => self.signed_in(&who),
            Ok(None) => self.not_signed_in(headers, query),
            Err(e) => {
                tracing::error!(error = %e, "forward-auth check failed");
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "could not check the credential",
                )
            }
        }
    }

    fn signed_in(&self, who: &Identity) -> Response {
        let body = json!({"user_id": who.user_id, "user_email": who.email, "user_role": who.role});
        let mut res = Response::new(body.to_string().into());
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        let id = who.user_id.to_string();
        set(&mut res, "x-auth-user-id", &id);
        set(&mut res, "x-auth-email", &who.email);
        set(&mut res, "x-auth-role", &who.role);
        if self.remote_headers {
            set(&mut res, "remote-user", &id);
            set(&mut res, "remote-email", &who.email);
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
            if !redirect_allowed(&original, &self.domains) {
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
    fn only_https_urls_on_the_configured_domains_are_carried() {
        let domains = vec!["example.com".to_owned()];
        for ok in [
            "https://example.com/",
            "https://app.example.com/a?b=c",
            "https://APP.Example.com:8443/x",
        ] {
            assert!(redirect_allowed(ok, &domains), "{ok}");
        }
        for bad in [
            "http://app.example.com/",
            "//evil.example",
            "/relative",
            "https://evil.example/",
            "https://example.com.evil.example/",
            "https://evilexample.com/",
            "https://user@app.example.com/",
            "https://app.example.com@evil.example/",
            "https://evil.example\\@app.example.com/",
            "javascript:alert(1)",
            "https://127.0.0.1/",
            "",
        ] {
            assert!(!redirect_allowed(bad, &domains), "{bad}");
        }
        assert!(!redirect_allowed("https://example.com/", &[]));
    }

    #[test]
    fn the_client_address_is_the_proxys_last_hop() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 10.0.0.7"),
        );
        assert_eq!(client_address(&h, None), "10.0.0.7");
        h.insert("x-real-ip", HeaderValue::from_static("192.0.2.9"));
        assert_eq!(client_address(&h, None), "192.0.2.9");
        let peer: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(client_address(&HeaderMap::new(), Some(peer)), "127.0.0.1");
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
