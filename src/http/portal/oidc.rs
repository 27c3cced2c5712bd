//! The OpenID Connect endpoints on the portal: discovery, JWKS,
//! `authorize` (with the consent page), `token` and `userinfo`. The rules
//! are `crate::oidc`'s; this file reads requests and writes answers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use warp::http::{HeaderValue, StatusCode, header};
use warp::reply::Response;

use super::{Form, Portal, Visit, Which, csrf, text};
use crate::actions::{self, Fault};
use crate::oidc::authorize::{self, AuthRequest, Back, Mode, Next, Refused};
use crate::oidc::client::Presented;
use crate::oidc::logout;
use crate::oidc::token::{self, TokenRequest};
use crate::oidc::{OidcError, Provider};
use crate::views;
use authnzd_proto as proto;

/// A JSON answer that no cache keeps, readable from any origin (a browser
/// app reads discovery and keys, and a public client calls `token`).
fn json_answer(status: StatusCode, body: String) -> Response {
    let mut res = Response::new(body.into());
    *res.status_mut() = status;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    h.insert("pragma", HeaderValue::from_static("no-cache"));
    h.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    res
}

fn error_json(e: &OidcError) -> Response {
    let status = match e {
        OidcError::InvalidClient | OidcError::InvalidToken => StatusCode::UNAUTHORIZED,
        OidcError::Server => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    };
    let body = json!({ "error": e.code(), "error_description": e.to_string() });
    let mut res = json_answer(status, body.to_string());
    match e {
        OidcError::InvalidClient => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"authnzd\""),
            );
        }
        OidcError::InvalidToken => {
            res.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer error=\"invalid_token\""),
            );
        }
        _ => {}
    }
    res
}

/// `client_id` and how the client authenticated, from HTTP Basic or the
/// form; both at once is refused (RFC 6749 §2.3).
fn client_of<'a>(
    basic: Option<&'a (String, String)>,
    form: &'a Form,
) -> Result<(&'a str, Presented<'a>), OidcError> {
    let (id, secret) = (form.get("client_id"), form.get("client_secret"));
    match basic {
        Some((bid, bsecret)) => {
            if !secret.is_empty() || (!id.is_empty() && id != bid) {
                return Err(OidcError::InvalidRequest(
                    "use one way to authenticate the client",
                ));
            }
            Ok((bid.as_str(), Presented::Secret(bsecret.as_str())))
        }
        None if id.is_empty() => Err(OidcError::InvalidClient),
        None if secret.is_empty() => Ok((id, Presented::Nothing)),
        None => Ok((id, Presented::Secret(secret))),
    }
}

/// `Authorization: Basic` as RFC 6749 §2.3.1 has it: id and secret each
/// form-urlencoded, then joined by `:`.
fn basic_credentials(v: &Visit) -> Option<(String, String)> {
    let value = v.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| -> String {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

fn bearer(v: &Visit, form: Option<&Form>) -> Option<String> {
    let header = v
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_owned());
    header.or_else(|| {
        form.map(|f| f.get("access_token").to_owned())
            .filter(|t| !t.is_empty())
    })
}

impl Portal {
    pub(super) fn oidc_on(&self) -> Option<&Provider> {
        self.oidc.as_deref()
    }

    /// GET routes of the provider; `None` for paths not its own.
    pub(super) async fn oidc_get(&self, rest: &str, v: &Visit) -> Option<Response> {
        let op = self.oidc_on()?;
        Some(match rest {
            ".well-known/openid-configuration" => {
                json_answer(StatusCode::OK, op.discovery().to_string())
            }
            "oidc/jwks" => json_answer(StatusCode::OK, op.jwks()),
            "oidc/authorize" => {
                let params: Vec<(String, String)> = url::form_urlencoded::parse(v.query.as_bytes())
                    .into_owned()
                    .collect();
                let res = self.authorize(op, v, &params).await;
                self.answer(res)
            }
            "oidc/userinfo" => self.userinfo(op, v, None).await,
            "oidc/logout" => {
                let params: Vec<(String, String)> = url::form_urlencoded::parse(v.query.as_bytes())
                    .into_owned()
                    .collect();
                let res = self.end_session(op, v, &params).await;
                self.answer(res)
            }
            _ => return None,
        })
    }

    /// POST routes of the provider that other sites call (no same-site
    /// check: `token` and `userinfo` are called by servers and apps, and a
    /// client may post its authorization request).
    pub(super) async fn oidc_post_api(
        &self,
        rest: &str,
        v: &Visit,
        form: &Form,
    ) -> Option<Response> {
        let op = self.oidc_on()?;
        Some(match rest {
            "oidc/token" => self.token(op, v, form).await,
            "oidc/userinfo" => self.userinfo(op, v, Some(form)).await,
            "oidc/authorize" => {
                let res = self.authorize(op, v, &form.0).await;
                self.answer(res)
            }
            "oidc/logout" => {
                let res = self.end_session(op, v, &form.0).await;
                self.answer(res)
            }
            _ => return None,
        })
    }

    async fn token(&self, op: &Provider, v: &Visit, form: &Form) -> Response {
        let basic = basic_credentials(v);
        let (client_id, presented) = match client_of(basic.as_ref(), form) {
            Ok(c) => c,
            Err(e) => return error_json(&e),
        };
        let opt = |name: &str| Some(form.get(name)).filter(|s| !s.is_empty());
        let req = TokenRequest {
            grant_type: opt("grant_type"),
            code: opt("code"),
            redirect_uri: opt("redirect_uri"),
            code_verifier: opt("code_verifier"),
            refresh_token: opt("refresh_token"),
            client_id,
            presented,
        };
        match token::exchange(op, &v.ctx(), req).await {
            Ok(t) => {
                let mut body = json!({
                    "access_token": t.access_token,
                    "token_type": "Bearer",
                    "expires_in": t.expires_in,
                    "id_token": t.id_token,
                    "scope": t.scope,
                });
                if let Some(refresh) = t.refresh_token {
                    body["refresh_token"] = refresh.into();
                }
                json_answer(StatusCode::OK, body.to_string())
            }
            Err(e) => error_json(&e),
        }
    }

    async fn userinfo(&self, op: &Provider, v: &Visit, form: Option<&Form>) -> Response {
        let Some(token) = bearer(v, form) else {
            return error_json(&OidcError::InvalidToken);
        };
        match token::userinfo(op, &token).await {
            Ok(claims) => json_answer(StatusCode::OK, claims.to_string()),
            Err(e) => error_json(&e),
        }
    }

    async fn authorize(
        &self,
        op: &Provider,
        v: &Visit,
        params: &[(String, String)],
    ) -> Result<Response, Fault> {
        let req = match authorize::check(&op.app, params).await {
            Ok(req) => req,
            Err(refused) => return Ok(self.oidc_refused(refused)),
        };
        let signed_in = self.signed_in(v).await?;
        let found = signed_in.as_ref().map(|(_, f)| f);
        match req.next(&op.app, &v.ctx(), found).await {
            Ok(Next::Code(code)) => Ok(self.code_back(op, v, &req, &code)),
            Ok(Next::SignIn { after }) => Ok(self.sign_in_first(params, after)),
            Ok(Next::Consent) => {
                let Some((token, _)) = signed_in else {
                    return Ok(self.sign_in_first(params, None));
                };
                Ok(self.consent_page(&req, &token, params))
            }
            Err(refused) => Ok(self.oidc_refused(refused)),
        }
    }

    /// To the login page, back to this request after. With `after`, the
    /// login form is shown even to a signed-in user, and the request comes
    /// back asking for a sign-in from then on.
    fn sign_in_first(&self, params: &[(String, String)], after: Option<i64>) -> Response {
        let mut back = url::form_urlencoded::Serializer::new(String::new());
        for (k, val) in params {
            if k != "auth_after" && !(after.is_some() && k == "prompt") {
                back.append_pair(k, val);
            }
        }
        if after.is_some() {
            let now = self.app.clock.now().timestamp_millis();
            back.append_pair("auth_after", &now.to_string());
        }
        let path = format!("oidc/authorize?{}", back.finish());
        let notice = after.map(|_| text::Notice::SignInAgain);
        self.to_login(&path, notice)
    }

    fn consent_page(
        &self,
        req: &AuthRequest,
        token: &str,
        params: &[(String, String)],
    ) -> Response {
        let request = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(params.iter().filter(|(k, _)| k != "prompt"))
            .finish();
        let csrf = csrf::token(&self.app, token);
        let page = views::Consent {
            chrome: self.chrome(None, None),
            csrf: &csrf,
            client: &req.client.name,
            gives: req
                .scopes
                .iter()
                .filter_map(|s| text::scope_gives(s))
                .collect(),
            request: &request,
        };
        self.page(StatusCode::OK, &page, Vec::new())
    }

    /// The consent form's answer.
    pub(super) async fn consent_submit(&self, v: &Visit, form: &Form) -> Option<Response> {
        let op = self.oidc_on()?;
        let res = async {
            let checked = match self.checked(v, form).await? {
                Ok(c) => c,
                Err(res) => return Ok(res),
            };
            let params: Vec<(String, String)> =
                url::form_urlencoded::parse(form.get("request").as_bytes())
                    .into_owned()
                    .collect();
            let req = match authorize::check(&op.app, &params).await {
                Ok(req) => req,
                Err(refused) => return Ok(self.oidc_refused(refused)),
            };
            if form.get("answer") != "allow" {
                let denied = OidcError::AccessDenied("the user did not allow it");
                return Ok(self.oidc_refused(Refused::Back(Back {
                    redirect_uri: req.redirect_uri.clone(),
                    state: req.state.clone(),
                    mode: req.mode,
                    error: denied,
                })));
            }
            match req.consented(&op.app, &v.ctx(), &checked.found).await {
                Ok(Next::Code(code)) => Ok(self.code_back(op, v, &req, &code)),
                Ok(Next::SignIn { after }) => Ok(self.sign_in_first(&params, after)),
                Ok(Next::Consent) => Ok(self.consent_page(&req, &checked.token, &params)),
                Err(refused) => Ok(self.oidc_refused(refused)),
            }
        }
        .await;
        Some(self.answer(res))
    }

    /// An error: shown, or sent back to the client.
    fn oidc_refused(&self, refused: Refused) -> Response {
        match refused {
            Refused::Shown(why) => self.error_page(StatusCode::BAD_REQUEST, why),
            Refused::Back(back) => {
                let mut fields = vec![
                    ("error", back.error.code().to_owned()),
                    ("error_description", back.error.to_string()),
                ];
                if let Some(state) = &back.state {
                    fields.push(("state", state.clone()));
                }
                self.back_to(
                    &back.redirect_uri,
                    back.mode,
                    fields,
                    "the application",
                    false,
                    Vec::new(),
                )
            }
        }
    }

    /// The code, back to the client with `state` and `iss` (RFC 9207).
    fn code_back(&self, op: &Provider, v: &Visit, req: &AuthRequest, code: &str) -> Response {
        let mut fields = vec![("code", code.to_owned())];
        if let Some(state) = &req.state {
            fields.push(("state", state.clone()));
        }
        fields.push(("iss", op.issuer.clone()));
        // Arrived from a page of ours (a sign-in or consent form), a
        // redirect to another origin would be refused by that page's
        // `form-action`: a page takes the browser on instead.
        let from_our_page = v
            .headers
            .get("sec-fetch-site")
            .is_some_and(|s| s == "same-origin");
        self.back_to(
            &req.redirect_uri,
            req.mode,
            fields,
            &req.client.name,
            from_our_page,
            Vec::new(),
        )
    }

    fn back_to(
        &self,
        redirect_uri: &str,
        mode: Mode,
        fields: Vec<(&str, String)>,
        client: &str,
        page: bool,
        cookies: Vec<HeaderValue>,
    ) -> Response {
        let Ok(mut to) = url::Url::parse(redirect_uri) else {
            return self.error_page(StatusCode::BAD_REQUEST, text::OIDC_DENIED);
        };
        if mode == Mode::Query {
            to.query_pairs_mut().extend_pairs(fields.iter());
            if !page {
                return self.redirect(to.as_str(), cookies);
            }
        }
        let shown = views::OidcReturn {
            chrome: self.chrome(None, None),
            client,
            to: to.as_str(),
            fields: match mode {
                Mode::Query => Vec::new(),
                Mode::FormPost => fields.iter().map(|(k, v)| (*k, v.as_str())).collect(),
            },
        };
        let mut res = self.page(StatusCode::OK, &shown, cookies);
        Portal::allow_own_script(&mut res);
        if mode == Mode::FormPost {
            allow_form_to(&mut res, &to);
        }
        res
    }
}

impl Portal {
    /// RP-initiated logout: signs the portal session out at once when the
    /// request names its user (`id_token_hint`) or comes from the
    /// confirmation form; otherwise asks first. Then back to a registered
    /// `post_logout_redirect_uri`, or to the login page.
    async fn end_session(
        &self,
        op: &Provider,
        v: &Visit,
        params: &[(String, String)],
    ) -> Result<Response, Fault> {
        let req = match logout::check(op, params).await {
            Ok(req) => req,
            Err(OidcError::Server) => return Err(Fault::Internal("logout".into())),
            Err(e) => return Ok(self.error_page(StatusCode::BAD_REQUEST, &e.to_string())),
        };
        let clear: Vec<_> = self.cookies.clear(Which::Session).into_iter().collect();
        let csrf_field = params
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, c)| c.as_str());
        let mut confirmed = false;
        if let Some((token, found)) = self.signed_in(v).await? {
            let named = req.hinted_sub.as_deref() == Some(found.user.system_id.as_str());
            confirmed = csrf_field.is_some_and(|c| csrf::valid(&self.app, &token, c));
            if !named && !confirmed {
                let csrf = csrf::token(&self.app, &token);
                let fields = params
                    .iter()
                    .filter(|(k, _)| k != "csrf")
                    .map(|(k, v)| (k.as_str(), v.as_str()))
                    .collect();
                let page = views::LogoutConfirm {
                    chrome: self.chrome(None, None),
                    csrf: &csrf,
                    fields,
                };
                return Ok(self.page(StatusCode::OK, &page, Vec::new()));
            }
            let p = proto::UserLogout {
                session_token: token.into(),
                user_id: found.user.user_id,
            };
            match crate::actions::login::logout(self.app.clone(), v.ctx(), p).await {
                Ok(_) | Err(actions::Refused::No(_)) => {}
                Err(actions::Refused::Fault(f)) => return Err(f),
            }
        }
        Ok(match req.back {
            Some(back) => {
                let name = req
                    .client
                    .as_ref()
                    .map_or("the application", |c| c.name.as_str());
                self.back_to(
                    back.as_str(),
                    Mode::Query,
                    Vec::new(),
                    name,
                    confirmed,
                    clear,
                )
            }
            None => {
                let to = self.to_page("login", Some(text::Notice::SignedOut));
                self.redirect(&to, clear)
            }
        })
    }
}

/// Lets the page's form post to `to`'s origin (a registered redirect URI).
fn allow_form_to(res: &mut Response, to: &url::Url) {
    let origin = to.origin().ascii_serialization();
    let csp = res
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .map(|csp| csp.replacen("form-action ", &format!("form-action {origin} "), 1));
    if let Some(v) = csp.and_then(|csp| HeaderValue::from_str(&csp).ok()) {
        res.headers_mut().insert("content-security-policy", v);
    }
}
