//! The authnzd app on a phone: signing in with it, and adding it to an
//! account. The page shows the QR code of a challenge and waits
//! (Server-Sent Events, or a long poll); once the phone has answered, the
//! page loads `finish`: for a sign-in, the session taken for this browser;
//! for a new phone, its name and fingerprint to compare before this
//! browser confirms it. The challenge's wait secret stays in this
//! browser's cookie, so whoever else sees the code — over a shoulder, on a
//! shared screen — can answer it but never gets the session, and no key is
//! added that this browser did not confirm.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use authnzd_proto as proto;
use futures_util::StreamExt;
use warp::http::StatusCode;
use warp::reply::{Reply, Response};

use super::cookies::Which;
use super::login::refusal_is_fault;
use super::{Form, Portal, Visit, csrf};
use crate::actions::{Fault, Refusal, Refused, pubkey};
use crate::app::App;
use crate::logging::Escaped;
use crate::secret::ExposeSecret;
use crate::views::{self, text};

/// How long one event-stream step or one poll waits for the phone.
const WAIT: Duration = Duration::from_secs(20);

/// What the page's script is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Word {
    Pending,
    /// Approved: load `finish`.
    Ready,
    /// Expired, spent or unknown: start again.
    Over,
}

impl Word {
    fn as_str(self) -> &'static str {
        match self {
            Word::Pending => "pending",
            Word::Ready => "ready",
            Word::Over => "over",
        }
    }
}

/// The challenge as the phone left it, waiting up to `WAIT`; `Err` only
/// for the server's own fault.
async fn watch(app: &App, id: &str, secret: &str) -> Result<Word, Fault> {
    match pubkey::challenge_watch(app, id, secret, WAIT).await {
        Ok(said) => Ok(match said.answer.status.as_str() {
            "pending" => Word::Pending,
            // A sign-in approved; a new key waiting for its confirmation.
            "approved" | "registered" => Word::Ready,
            _ => Word::Over,
        }),
        Err(Refused::No(_)) => Ok(Word::Over),
        Err(Refused::Fault(f)) => Err(f),
    }
}

impl Portal {
    /// `{challenge_id}.{wait_secret}` from this browser's cookie.
    fn device_wait(&self, v: &Visit, which: Which) -> Option<(String, String)> {
        let held = self.cookies.read(&v.headers, which)?;
        let (id, secret) = held.split_once('.')?;
        Some((id.to_owned(), secret.to_owned()))
    }

    /// What the challenge this browser holds (`which` cookie) has come to,
    /// taking what it delivers (an approved login's session, once); `None`
    /// when the browser holds none, or none that works.
    async fn take(
        &self,
        v: &Visit,
        which: Which,
    ) -> Result<Option<proto::answers::ChallengeStatus>, Fault> {
        let Some((id, secret)) = self.device_wait(v, which) else {
            return Ok(None);
        };
        let p = proto::PubkeyChallengeWait {
            challenge_id: id,
            wait_secret: secret.into(),
            wait_seconds: 0,
        };
        match pubkey::challenge_wait(self.app.clone(), v.ctx(), p).await {
            Ok(said) => Ok(Some(said.answer)),
            Err(Refused::No(_)) => Ok(None),
            Err(Refused::Fault(f)) => Err(f),
        }
    }

    /// `login/device…` with this visit's `rd`.
    fn device_link(&self, path: &str, rd: &str) -> String {
        let mut to = self.to_page(path, None);
        if !rd.is_empty() {
            to.push_str("?rd=");
            to.extend(url::form_urlencoded::byte_serialize(rd.as_bytes()));
        }
        to
    }

    /// `GET login/device`: a new login challenge, its QR code, the wait.
    pub(super) async fn device_page(&self, v: &Visit) -> Result<Response, Fault> {
        let rd = v.query_value("rd").unwrap_or_default();
        if self.signed_in(v).await?.is_some() {
            return Ok(self.redirect(&self.after_sign_in(&rd), Vec::new()));
        }
        let mut cookies = Vec::new();
        match self.pre_login(v).await? {
            Ok((_, cookie)) => cookies.extend(cookie),
            Err(wait) => {
                let error = text::too_many(wait);
                return Ok(self.error_page(StatusCode::TOO_MANY_REQUESTS, &error));
            }
        }
        if let Some(wait) = self.over_limit("pubkey-challenge-new", v, None).await? {
            let error = text::too_many(wait);
            return Ok(self.error_page(StatusCode::TOO_MANY_REQUESTS, &error));
        }
        let p = proto::PubkeyChallengeNew {
            purpose: "login".into(),
            user_id: None,
            session_token: None,
            ip_address: Some(v.client.to_string()),
            user_agent: Some(v.user_agent()),
        };
        let issued = refusal_is_fault(pubkey::challenge_new(self.app.clone(), v.ctx(), p).await)?;
        let issued = issued.answer;
        let held = format!(
            "{}.{}",
            issued.challenge_id,
            issued.wait_secret.expose_secret()
        );
        let ttl = i64::try_from(self.app.config.pubkey.pubkey_challenge_ttl).unwrap_or(300);
        cookies.extend(self.cookies.set(Which::DeviceWait, &held, ttl));
        let (finish, again) = (
            self.device_link("login/device/finish", &rd),
            self.device_link("login/device", &rd),
        );
        let (events, status) = (
            self.to_page("login/device/events", None),
            self.to_page("login/device/status", None),
        );
        let page = views::Device {
            chrome: self.chrome(None, None),
            heading: text::DEVICE_LOGIN_TITLE,
            intro: text::DEVICE_LOGIN_INTRO,
            qr_svg: views::qr_svg(&issued.payload),
            events: &events,
            status: &status,
            finish: &finish,
            again: &again,
            again_label: text::DEVICE_AGAIN,
        };
        let mut res = self.page(StatusCode::OK, &page, cookies);
        Portal::allow_own_script(&mut res);
        Ok(res)
    }

    /// `GET login/device/events`: one event, `ready` or `over`, when the
    /// phone has answered or the code is spent (`pending` between waits).
    /// A browser that goes away ends the wait with its connection.
    pub(super) async fn device_events(&self, v: &Visit, which: Which) -> Result<Response, Fault> {
        let Some((id, secret)) = self.device_wait(v, which) else {
            return Ok(self.error_page(StatusCode::NOT_FOUND, text::DEVICE_OVER));
        };
        if let Some(wait) = self.over_limit("pubkey-challenge-wait", v, None).await? {
            return Ok(self.error_page(StatusCode::TOO_MANY_REQUESTS, &text::too_many(wait)));
        }
        // The wait runs in its own task (warp wants a `Sync` stream, the
        // database futures are not), ended at once when the browser hangs up.
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Word>(1);
        let app: Arc<App> = self.app.clone();
        tokio::spawn(async move {
            loop {
                let word = tokio::select! {
                    w = watch(&app, &id, &secret) => w,
                    () = tx.closed() => return,
                };
                let word = match word {
                    Ok(word) => word,
                    // The browser reconnects by itself (or polls).
                    Err(e) => {
                        tracing::error!(error = %Escaped(&e), "phone sign-in wait failed");
                        return;
                    }
                };
                if tx.send(word).await.is_err() || word != Word::Pending {
                    return;
                }
            }
        });
        let steps = futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)).map(|word| {
            let event = warp::sse::Event::default()
                .event(word.as_str())
                .data(word.as_str());
            Ok::<_, Infallible>(event)
        });
        let mut res = warp::sse::reply(warp::sse::keep_alive().stream(steps)).into_response();
        // nginx would hold the events in its buffer otherwise.
        res.headers_mut().insert(
            "x-accel-buffering",
            warp::http::HeaderValue::from_static("no"),
        );
        Ok(self.finish(res, Vec::new()))
    }

    /// `GET login/device/status`: the long poll where events do not get
    /// through; its body is the event's word.
    pub(super) async fn device_status(&self, v: &Visit, which: Which) -> Result<Response, Fault> {
        let word = match self.device_wait(v, which) {
            None => Word::Over,
            Some((id, secret)) => {
                if let Some(wait) = self.over_limit("pubkey-challenge-wait", v, None).await? {
                    let mut res = Response::new(Word::Pending.as_str().into());
                    *res.status_mut() = StatusCode::TOO_MANY_REQUESTS;
                    if let Ok(after) = wait.to_string().parse() {
                        res.headers_mut()
                            .insert(warp::http::header::RETRY_AFTER, after);
                    }
                    return Ok(self.finish(res, Vec::new()));
                }
                watch(&self.app, &id, &secret).await?
            }
        };
        let mut res = Response::new(word.as_str().into());
        res.headers_mut().insert(
            warp::http::header::CONTENT_TYPE,
            warp::http::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Ok(self.finish(res, Vec::new()))
    }

    /// `GET login/device/finish`: the approved login's session, taken once
    /// by this browser (or its second step); not yet approved, a page that
    /// says so.
    pub(super) async fn device_finish(&self, v: &Visit) -> Result<Response, Fault> {
        let rd = v.query_value("rd").unwrap_or_default();
        let (finish, again) = (
            self.device_link("login/device/finish", &rd),
            self.device_link("login/device", &rd),
        );
        let Some(status) = self.take(v, Which::DeviceWait).await? else {
            return Ok(self.device_over());
        };
        if status.status == "pending" {
            let page = views::DevicePending {
                chrome: self.chrome(None, None),
                finish: &finish,
                again: &again,
            };
            return Ok(self.page(StatusCode::OK, &page, Vec::new()));
        }
        let clear_wait = self.cookies.clear(Which::DeviceWait);
        let mut res = match (status.session_token, status.mfa_token) {
            (Some(session), _) => {
                let days = i64::from(self.app.config.sessions.session_expiry_days);
                let secs = chrono::Duration::days(days).num_seconds();
                let token = session.expose_secret();
                let cookies = [
                    self.cookies.set(Which::Session, token, secs),
                    self.cookies.clear(Which::PreLogin),
                    self.cookies.clear(Which::SecondFactor),
                ];
                self.redirect(
                    &self.after_sign_in(&rd),
                    cookies.into_iter().flatten().collect(),
                )
            }
            (None, Some(mfa)) => self.to_second_step(mfa.expose_secret(), &rd, false),
            (None, None) => return Ok(self.device_over()),
        };
        if let Some(c) = clear_wait {
            res.headers_mut().append(warp::http::header::SET_COOKIE, c);
        }
        Ok(res)
    }
}

impl Portal {
    /// `POST account/keys/add`: a registration challenge for the signed-in
    /// user (freshly signed in, as for every credential), its QR code and
    /// the wait.
    pub(super) async fn key_add(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        let c = match self.fresh(v, form).await? {
            Ok(c) => c,
            Err(res) => return Ok(res),
        };
        if let Some(res) = self.limited(v, &c, "pubkey-challenge-new", None).await? {
            return Ok(res);
        }
        let p = proto::PubkeyChallengeNew {
            purpose: "register".into(),
            user_id: None,
            session_token: Some(c.token.clone().into()),
            ip_address: Some(v.client.to_string()),
            user_agent: Some(v.user_agent()),
        };
        let issued = match pubkey::challenge_new(self.app.clone(), v.ctx(), p).await {
            Ok(said) => said.answer,
            Err(Refused::No(no)) if no.reason == Refusal::FreshSignInRequired => {
                return Ok(self.to_login("account", Some(text::Notice::SignInAgain)));
            }
            Err(Refused::No(no)) => {
                return Err(Fault::Internal(format!(
                    "portal request refused: {}",
                    no.reason
                )));
            }
            Err(Refused::Fault(f)) => return Err(f),
        };
        let held = format!(
            "{}.{}",
            issued.challenge_id,
            issued.wait_secret.expose_secret()
        );
        let ttl = i64::try_from(self.app.config.pubkey.pubkey_challenge_ttl).unwrap_or(300);
        let cookie = self.cookies.set(Which::DeviceAdd, &held, ttl);
        let paths = [
            "account/keys/add/events",
            "account/keys/add/status",
            "account/keys/add/confirm",
            "account",
        ]
        .map(|p| self.to_page(p, None));
        let page = views::Device {
            chrome: self.chrome(None, None),
            heading: text::DEVICE_ADD_TITLE,
            intro: text::DEVICE_ADD_INTRO,
            qr_svg: views::qr_svg(&issued.payload),
            events: &paths[0],
            status: &paths[1],
            finish: &paths[2],
            again: &paths[3],
            again_label: text::DEVICE_CANCEL,
        };
        let mut res = self.page(StatusCode::OK, &page, cookie.into_iter().collect());
        Portal::allow_own_script(&mut res);
        Ok(res)
    }

    /// `GET account/keys/add/confirm`: once the phone has registered, the
    /// name and fingerprint its app shows, to compare before confirming.
    pub(super) async fn key_add_seen(&self, v: &Visit) -> Result<Response, Fault> {
        let Some((token, _)) = self.signed_in(v).await? else {
            return Ok(self.to_login("account", None));
        };
        let (finish, back) = (
            self.to_page("account/keys/add/confirm", None),
            self.to_page("account", None),
        );
        let Some(status) = self.take(v, Which::DeviceAdd).await? else {
            return Ok(self.device_over());
        };
        match status.status.as_str() {
            "pending" => {
                let page = views::DevicePending {
                    chrome: self.chrome(None, None),
                    finish: &finish,
                    again: &back,
                };
                Ok(self.page(StatusCode::OK, &page, Vec::new()))
            }
            "registered" => {
                let csrf = csrf::token(&self.app, &token);
                let page = views::DeviceConfirm {
                    chrome: self.chrome(None, None),
                    csrf: &csrf,
                    label: status.label.as_deref().unwrap_or_default(),
                    fingerprint: status.fingerprint.as_deref().unwrap_or_default(),
                };
                Ok(self.page(StatusCode::OK, &page, Vec::new()))
            }
            _ => Ok(self.device_over()),
        }
    }

    /// `POST account/keys/add/confirm`: the key this browser was shown is
    /// added (`pubkey-register-confirm`, audited there).
    pub(super) async fn key_add_confirm(&self, v: &Visit, form: &Form) -> Result<Response, Fault> {
        if let Err(res) = self.checked(v, form).await? {
            return Ok(res);
        }
        let Some((id, secret)) = self.device_wait(v, Which::DeviceAdd) else {
            return Ok(self.device_over());
        };
        let p = proto::PubkeyRegisterConfirm {
            challenge_id: id,
            wait_secret: secret.into(),
        };
        match pubkey::register_confirm(self.app.clone(), v.ctx(), p).await {
            Ok(_) => {
                let mut res = self.to_account(text::Notice::KeyAdded);
                if let Some(c) = self.cookies.clear(Which::DeviceAdd) {
                    res.headers_mut().append(warp::http::header::SET_COOKIE, c);
                }
                Ok(res)
            }
            Err(Refused::No(_)) => Ok(self.device_over()),
            Err(Refused::Fault(f)) => Err(f),
        }
    }

    /// The code is spent or expired: say so, and forget it.
    fn device_over(&self) -> Response {
        let page = views::Message {
            chrome: self.chrome(None, None),
            title: text::DEVICE_OVER_TITLE,
            text: text::DEVICE_OVER,
        };
        let clear = [
            self.cookies.clear(Which::DeviceWait),
            self.cookies.clear(Which::DeviceAdd),
        ];
        self.page(
            StatusCode::GONE,
            &page,
            clear.into_iter().flatten().collect(),
        )
    }
}
