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
mod oidc;
mod passkeys;
mod recover;
mod reply;

use std::net::IpAddr;
use std::sync::Arc;

use serde_json::Value;
use warp::Filter;
use warp::http::{HeaderMap, StatusCode, header};
use warp::reply::Response;

pub use cookies::Jar;
use cookies::Which;
use reply::{DEVICE_JS, PASSKEY_JS, PORTAL_CSS, RETURN_JS, asset};

use super::Peer;
use crate::actions::{Ctx, Fault};
use crate::app::App;
use crate::security::admission::{Admission, Denied};
use crate::security::client_addr::TrustedProxies;
use crate::security::rate_limit::retry_after_secs;
use crate::security::redirect::RedirectRule;
use crate::views::text;

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
    /// The OpenID Connect provider, with `oidc = true`.
    pub oidc: Option<Arc<crate::oidc::Provider>>,
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
        if rest.starts_with("oidc/") || rest.starts_with(".well-known/") {
            return self.oidc_get(rest, v).await;
        }
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
            "static/return.js" if self.oidc.is_some() => Ok(asset(
                RETURN_JS.as_bytes().to_vec(),
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
        // Called by other sites and servers, not by the portal's pages.
        if rest.starts_with("oidc/") && rest != "oidc/consent" {
            return self.oidc_post_api(rest, v, &form).await;
        }
        let own_origin = self.base.origin().ascii_serialization();
        if !csrf::same_site(&v.headers, &own_origin) {
            return Some(self.error_page(StatusCode::FORBIDDEN, text::CROSS_SITE));
        }
        if let Some(res) = self.passkey_json(rest, v, body).await {
            return Some(res);
        }
        if rest == "oidc/consent" {
            return self.consent_submit(v, &form).await;
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
