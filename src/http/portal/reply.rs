//! How the portal answers: pages and redirects with its headers (CSP,
//! no framing, no caching), error pages, where a sign-in goes next, and
//! its static files.

use askama::Template;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::Portal;
use crate::actions::Fault;
use crate::logging::Escaped;
use crate::views::{self, Chrome, text};

impl Portal {
    /// A fault is the server's: logged, and a page that says so.
    pub(super) fn answer(&self, res: Result<Response, Fault>) -> Response {
        res.unwrap_or_else(|e| {
            tracing::error!(error = %Escaped(&e), "portal request failed");
            self.error_page(StatusCode::SERVICE_UNAVAILABLE, text::UNAVAILABLE)
        })
    }

    pub(super) fn chrome<'a>(
        &'a self,
        notice: Option<&'a str>,
        error: Option<&'a str>,
    ) -> Chrome<'a> {
        Chrome {
            logo: self.brand.logo.is_some(),
            product: &self.product,
            base: self.base.path(),
            notice,
            error,
        }
    }

    /// A page that only says what went wrong: never a working form.
    pub(super) fn error_page(&self, status: StatusCode, error: &str) -> Response {
        let page = views::Message {
            chrome: self.chrome(None, None),
            title: text::ERROR_TITLE,
            text: error,
        };
        self.page(status, &page, Vec::new())
    }

    /// A rendered page with the portal's headers and `cookies` set.
    pub(super) fn page(
        &self,
        status: StatusCode,
        page: &impl Template,
        cookies: Vec<HeaderValue>,
    ) -> Response {
        let body = page.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "a portal page did not render");
            text::UNAVAILABLE.to_owned()
        });
        let mut res = Response::new(body.into());
        *res.status_mut() = status;
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        self.finish(res, cookies)
    }

    /// 303 to `to` (already checked), with `cookies` set.
    pub(super) fn redirect(&self, to: &str, cookies: Vec<HeaderValue>) -> Response {
        let mut res = Response::new(Default::default());
        *res.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(to) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(res, cookies)
    }

    /// A page of the portal's own, with a notice code.
    pub(super) fn to_page(&self, path: &str, notice: Option<text::Notice>) -> String {
        let mut to = format!("{}{path}", self.base.path());
        if let Some(n) = notice {
            to.push_str("?m=");
            to.push_str(n.code());
        }
        to
    }

    /// Where to go after signing in: `rd` when the redirect rule allows it
    /// (a path of this site is taken as on the portal's origin), else the
    /// configured default.
    pub(super) fn after_sign_in(&self, rd: &str) -> String {
        let target = if rd.starts_with('/') && !rd.starts_with("//") {
            self.base.join(rd).map(String::from).unwrap_or_default()
        } else {
            rd.to_owned()
        };
        if !target.is_empty() && self.redirects.allows(&target) {
            target
        } else {
            self.default_redirect.clone()
        }
    }

    /// Headers on every answer: no framing, no sniffing, no referrer (links
    /// may carry tokens), no caching, and a CSP that allows no script and
    /// forms only to this site and the redirect domains.
    pub(super) fn finish(&self, mut res: Response, cookies: Vec<HeaderValue>) -> Response {
        let h = res.headers_mut();
        for c in cookies {
            h.append(header::SET_COOKIE, c);
        }
        let mut form_action = String::from("'self'");
        for d in self.redirects.domains() {
            form_action.push_str(&format!(" https://{d} https://*.{d}"));
        }
        let csp = format!(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert("content-security-policy", v);
        }
        h.insert("x-frame-options", HeaderValue::from_static("DENY"));
        h.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        h.insert(
            "x-content-type-options",
            HeaderValue::from_static("nosniff"),
        );
        h.insert("cache-control", HeaderValue::from_static("no-store"));
        res
    }

    /// The pages with a script (the phone sign-in's live wait; with
    /// passkeys on, the login, code and account pages) may run this site's
    /// own script files — never inline — and fetch from it.
    pub(super) fn allow_own_script(res: &mut Response) {
        let csp = res
            .headers()
            .get("content-security-policy")
            .and_then(|v| v.to_str().ok())
            .map(|csp| {
                csp.replacen(
                    "default-src 'none';",
                    "default-src 'none'; script-src 'self'; connect-src 'self';",
                    1,
                )
            });
        if let Some(v) = csp.and_then(|csp| HeaderValue::from_str(&csp).ok()) {
            res.headers_mut().insert("content-security-policy", v);
        }
    }
}

pub(super) const PORTAL_CSS: &str = include_str!("../../../assets/portal.css");
pub(super) const DEVICE_JS: &str = include_str!("../../../assets/device.js");
pub(super) const PASSKEY_JS: &str = include_str!("../../../assets/passkey.js");
pub(super) const RETURN_JS: &str = include_str!("../../../assets/return.js");

/// A static file: cached an hour, never sniffed; an SVG logo may run
/// nothing (its own CSP).
pub(super) fn asset(bytes: Vec<u8>, kind: &'static str) -> Response {
    let mut res = Response::new(bytes.into());
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        "content-security-policy",
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    res
}
