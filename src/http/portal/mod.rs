//! The hosted sign-in portal: `/login` (password, then the second factor),
//! `/account` (sessions, password, two-factor, device keys, address,
//! recovery codes), `/logout`, a password reset by mail, address
//! verification and sign-up, under the path of
//! `portal_url`. This file reads requests and shapes answers (cookies,
//! headers, redirects); every decision is the domain's (`actions`), every
//! page a view (`views`), so the portal keeps the RPC's rules: lockout,
//! timing, second factor, audit, rate limits.

mod account;
mod cookies;
mod credentials;
mod csrf;
mod device;
mod email;
mod login;
mod passkeys;
mod recover;

use std::net::IpAddr;
use std::sync::Arc;

use askama::Template;
use serde_json::Value;
use warp::Filter;
use warp::http::{HeaderMap, HeaderValue, StatusCode, header};
use warp::reply::Response;

pub use cookies::Jar;
use cookies::Which;

use super::Peer;
use crate::actions::{Ctx, Fault};
use crate::app::App;
use crate::logging::Escaped;
use crate::security::admission::{Admission, Denied};
use crate::security::client_addr::TrustedProxies;
use crate::security::rate_limit::retry_after_secs;
use crate::security::redirect::RedirectRule;
use crate::views::{self, Chrome, text};

/// Form bodies are a few fields.
const MAX_FORM_BYTES: u64 = 16 * 1024;

pub struct Portal {
    pub app: Arc<App>,
    /// The RPC's rate limits, counted the same way here (and through Redis
    /// when it is on).
    pub admission: Arc<Admission>,
    /// The public base URL, ending in `/`.
    pub base: url::Url,
    pub cookies: Jar,
    /// The one redirect rule (with the portal's own origin).
    pub redirects: RedirectRule,
    /// Where a sign-in goes without an allowed `rd`.
    pub default_redirect: String,
    pub trusted_proxies: TrustedProxies,
    pub product: String,
    pub brand: Brand,
}

/// The operator's look: the accent colour and extra stylesheet (served as
/// `static/brand.css`), and a logo (`static/logo`).
pub struct Brand {
    pub css: String,
    /// The logo's bytes and media type.
    pub logo: Option<(Vec<u8>, &'static str)>,
}

/// One browser request, as the handlers need it.
pub(super) struct Visit {
    headers: HeaderMap,
    query: String,
    client: IpAddr,
}

impl Visit {
    fn query_value(&self, name: &str) -> Option<String> {
        url::form_urlencoded::parse(self.query.as_bytes())
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.into_owned())
    }

    fn user_agent(&self) -> String {
        self.headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .chars()
            .take(256)
            .collect()
    }

    fn ctx(&self) -> Ctx {
        Ctx {
            reqid: Value::String("portal".into()),
            client_ipaddr: Some(self.client.to_string()),
        }
    }
}

/// The portal's routes; 404 for every path when `portal` is `None`.
pub fn routes(
    portal: Option<Arc<Portal>>,
) -> impl Filter<Extract = (Response,), Error = warp::Rejection> + Clone {
    // The path first: other paths are not ours, whatever their body.
    let ours = warp::path::full().and_then(move |full: warp::path::FullPath| {
        let portal = portal.clone();
        async move {
            let p = portal.ok_or_else(warp::reject::not_found)?;
            let rest = full
                .as_str()
                .strip_prefix(p.base.path())
                .map(str::to_owned)
                .ok_or_else(warp::reject::not_found)?;
            Ok::<_, warp::Rejection>((p, rest))
        }
    });
    let visit = warp::header::headers_cloned()
        .and(warp::query::raw().or(warp::any().map(String::new)).unify())
        .and(warp::ext::optional::<Peer>());
    // A method not ours is a path not ours (404, not warp's 405).
    let method = |wanted: warp::http::Method| {
        warp::method()
            .and_then(move |m: warp::http::Method| {
                let ok = m == wanted;
                async move {
                    if ok {
                        Ok(())
                    } else {
                        Err(warp::reject::not_found())
                    }
                }
            })
            .untuple_one()
    };
    let get = ours
        .clone()
        .and(method(warp::http::Method::GET))
        .and(visit)
        .and_then(
            |(p, rest): (Arc<Portal>, String), headers, query, peer: Option<Peer>| async move {
                let v = p.visit(headers, query, peer);
                p.get(&rest, &v).await.ok_or_else(warp::reject::not_found)
            },
        );
    let post = ours
        .and(method(warp::http::Method::POST))
        .and(visit)
        .and(warp::body::content_length_limit(MAX_FORM_BYTES))
        .and(warp::body::bytes())
        .and_then(
            |(p, rest): (Arc<Portal>, String),
             headers,
             query,
             peer: Option<Peer>,
             body: bytes::Bytes| async move {
                let v = p.visit(headers, query, peer);
                p.post(&rest, &v, &body)
                    .await
                    .ok_or_else(warp::reject::not_found)
            },
        );
    get.or(post).unify()
}

/// A form's fields.
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Form {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

impl Portal {
    fn visit(&self, headers: HeaderMap, query: String, peer: Option<Peer>) -> Visit {
        let peer = peer.map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |p| p.0.ip());
        let client = super::gateway::client_address(&headers, Some(peer), &self.trusted_proxies)
            .unwrap_or(peer);
        Visit {
            headers,
            query,
            client,
        }
    }

    async fn get(&self, rest: &str, v: &Visit) -> Option<Response> {
        let res = match rest {
            "" => Ok(self.redirect(&format!("{}account", self.base.path()), Vec::new())),
            "login" => self.login_page(v).await,
            "login/code" => self.code_page(v).await,
            "login/link" => self.link(v).await,
            "login/device" => self.device_page(v).await,
            "login/device/events" => self.device_events(v, Which::DeviceWait).await,
            "login/device/status" => self.device_status(v, Which::DeviceWait).await,
            "account/keys/add/events" => self.device_events(v, Which::DeviceAdd).await,
            "account/keys/add/status" => self.device_status(v, Which::DeviceAdd).await,
            "account/keys/add/confirm" => self.key_add_seen(v).await,
            "login/device/finish" => self.device_finish(v).await,
            "login/forgot" => self.forgot_page(v).await,
            "login/reset" => self.reset_page(v).await,
            "verify" => self.verify_link(v).await,
            "signup" if self.signup_on() => self.signup_page(v).await,
            "account" => self.account_page(v).await,
            "account/email/verify" => self.email_verify(v).await,
            "static/portal.css" => Ok(asset(
                PORTAL_CSS.as_bytes().to_vec(),
                "text/css; charset=utf-8",
            )),
            "static/device.js" => Ok(asset(
                DEVICE_JS.as_bytes().to_vec(),
                "text/javascript; charset=utf-8",
            )),
            "static/passkey.js" => Ok(asset(
                PASSKEY_JS.as_bytes().to_vec(),
                "text/javascript; charset=utf-8",
            )),
            "static/brand.css" => Ok(asset(
                self.brand.css.clone().into_bytes(),
                "text/css; charset=utf-8",
            )),
            "static/logo" => match &self.brand.logo {
                Some((bytes, kind)) => Ok(asset(bytes.clone(), kind)),
                None => return None,
            },
            _ => return None,
        };
        Some(self.answer(res))
    }

    async fn post(&self, rest: &str, v: &Visit, body: &[u8]) -> Option<Response> {
        // Off, sign-up is no page at all, whoever asks.
        if rest == "signup" && !self.signup_on() {
            return None;
        }
        let form = Form::parse(body);
        let own_origin = self.base.origin().ascii_serialization();
        if !csrf::same_site(&v.headers, &own_origin) {
            return Some(self.error_page(StatusCode::FORBIDDEN, text::CROSS_SITE));
        }
        if let Some(res) = self.passkey_json(rest, v, body).await {
            return Some(res);
        }
        let res = match rest {
            "login" => self.login_submit(v, &form).await,
            "login/code" => self.code_submit(v, &form).await,
            "login/email" => self.code_sent_submit(v, &form, false).await,
            "login/email/code" => self.email_code_submit(v, &form, false).await,
            "login/sms" if self.sms_on() => self.code_sent_submit(v, &form, true).await,
            "login/sms/code" => self.email_code_submit(v, &form, true).await,
            "login/forgot" => self.forgot_submit(v, &form).await,
            "login/reset" => self.reset_submit(v, &form).await,
            "signup" if self.signup_on() => self.signup_submit(v, &form).await,
            "logout" => self.logout(v, &form).await,
            "account/sessions/others" => self.sign_out_others(v, &form).await,
            "account/password" => self.password_change(v, &form).await,
            "account/totp" => self.totp_start(v, &form).await,
            "account/keys/add" => self.key_add(v, &form).await,
            "account/keys/add/confirm" => self.key_add_confirm(v, &form).await,
            "account/totp/confirm" => self.totp_confirm(v, &form).await,
            "account/totp/recovery" => self.recovery_regenerate(v, &form).await,
            "account/totp/off" => self.totp_off(v, &form).await,
            "account/keys/rename" => self.key_rename(v, &form).await,
            "account/keys/delete" => self.key_delete(v, &form).await,
            "account/email" => self.email_change(v, &form).await,
            "account/passkeys/rename" if self.passkeys_on() => self.passkey_rename(v, &form).await,
            "account/passkeys/delete" if self.passkeys_on() => self.passkey_delete(v, &form).await,
            _ => return None,
        };
        Some(self.answer(res))
    }

    /// A fault is the server's: logged, and a page that says so.
    fn answer(&self, res: Result<Response, Fault>) -> Response {
        res.unwrap_or_else(|e| {
            tracing::error!(error = %Escaped(&e), "portal request failed");
            self.error_page(StatusCode::SERVICE_UNAVAILABLE, text::UNAVAILABLE)
        })
    }

    fn chrome<'a>(&'a self, notice: Option<&'a str>, error: Option<&'a str>) -> Chrome<'a> {
        Chrome {
            logo: self.brand.logo.is_some(),
            product: &self.product,
            base: self.base.path(),
            notice,
            error,
        }
    }

    /// A page that only says what went wrong: never a working form.
    fn error_page(&self, status: StatusCode, error: &str) -> Response {
        let page = views::Message {
            chrome: self.chrome(None, None),
            title: text::ERROR_TITLE,
            text: error,
        };
        self.page(status, &page, Vec::new())
    }

    /// A rendered page with the portal's headers and `cookies` set.
    fn page(
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
    fn redirect(&self, to: &str, cookies: Vec<HeaderValue>) -> Response {
        let mut res = Response::new(Default::default());
        *res.status_mut() = StatusCode::SEE_OTHER;
        if let Ok(v) = HeaderValue::from_str(to) {
            res.headers_mut().insert(header::LOCATION, v);
        }
        self.finish(res, cookies)
    }

    /// A page of the portal's own, with a notice code.
    fn to_page(&self, path: &str, notice: Option<text::Notice>) -> String {
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
    fn after_sign_in(&self, rd: &str) -> String {
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
    fn finish(&self, mut res: Response, cookies: Vec<HeaderValue>) -> Response {
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
    fn allow_own_script(res: &mut Response) {
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

    /// Counts a request as the RPC would count `request`; the wait when
    /// over a limit (and the hit audited, as there).
    async fn over_limit(
        &self,
        request: &str,
        v: &Visit,
        address: Option<&str>,
    ) -> Result<Option<u64>, Fault> {
        let client = v.client.to_string();
        match self.admission.admit(None, request, &client, address).await {
            Ok(()) => Ok(None),
            Err(Denied::Limited(refused)) => {
                crate::actions::audit::rate_limited(&self.app, &v.ctx(), request, refused.limit)
                    .await?;
                Ok(Some(retry_after_secs(refused.retry_after)))
            }
            // No token here, so never a replay.
            Err(Denied::Replayed) => Ok(None),
            Err(Denied::Unavailable(e)) => Err(Fault::Shared(e)),
        }
    }
}

const PORTAL_CSS: &str = include_str!("../../../assets/portal.css");
const DEVICE_JS: &str = include_str!("../../../assets/device.js");
const PASSKEY_JS: &str = include_str!("../../../assets/passkey.js");

/// A static file: cached an hour, never sniffed; an SVG logo may run
/// nothing (its own CSP).
fn asset(bytes: Vec<u8>, kind: &'static str) -> Response {
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
