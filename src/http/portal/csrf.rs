//! Request forgery: every form carries a token keyed to the session it
//! was shown to (the pre-login session before sign-in, the session after),
//! and a browser's `Sec-Fetch-Site` (else `Origin`) must say the request
//! came from this site.

use subtle::ConstantTimeEq;
use warp::http::HeaderMap;

use crate::app::App;

/// The form token for pages shown to the session `bound`.
pub fn token(app: &App, bound: &str) -> String {
    app.keyed(&format!("csrf\0{bound}"))
}

/// Whether `given` is the token of `bound` (under any ring key, so forms
/// shown before a key rotation still work).
pub fn valid(app: &App, bound: &str, given: &str) -> bool {
    app.keyed_each(&format!("csrf\0{bound}"))
        .iter()
        .fold(false, |ok, t| {
            ok | bool::from(t.as_bytes().ct_eq(given.as_bytes()))
        })
}

/// Whether the browser says the request came from this site: `same-origin`
/// or typed by the user (`none`); without `Sec-Fetch-Site` (older
/// browsers), an `Origin` other than `own_origin` is refused.
pub fn same_site(headers: &HeaderMap, own_origin: &str) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    match get("sec-fetch-site") {
        Some(site) => matches!(site, "same-origin" | "none"),
        None => get("origin").is_none_or(|o| o == own_origin),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warp::http::HeaderValue;

    #[test]
    fn cross_site_requests_are_told_apart() {
        let own = "https://auth.example.com";
        let mut h = HeaderMap::new();
        assert!(same_site(&h, own));
        h.insert("origin", HeaderValue::from_static("https://evil.example"));
        assert!(!same_site(&h, own));
        h.insert(
            "origin",
            HeaderValue::from_static("https://auth.example.com"),
        );
        assert!(same_site(&h, own));
        for (site, ok) in [
            ("same-origin", true),
            ("none", true),
            ("same-site", false),
            ("cross-site", false),
        ] {
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert_eq!(same_site(&h, own), ok, "{site}");
        }
    }
}
