//! The sign-in portal behind a real reverse proxy, for the browser tests:
//! the server with the portal on, the proxy the test brings (nginx, Caddy)
//! on a public loopback port in front of it and of an upstream
//! (`nginx::upstream`), and the public origin the browser sees.

use std::future::Future;

use super::browser::Browser;
use super::nginx::upstream;
use super::{PW, TestServer, free_port};

/// Where the proxy listens and what it sends to.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// The proxy's own port: the public origin.
    pub public: u16,
    /// authnzd (`server.port`): the portal's pages and `/auth/verify`.
    pub auth: u16,
    /// The app behind forward-auth.
    pub upstream: u16,
}

/// The server, the proxy `P` in front of it, and the public origin.
pub struct Site<P> {
    pub s: TestServer,
    pub origin: String,
    pub proxy: P,
}

impl<P> Site<P> {
    /// The server (portal on, `portal_url` the proxy's origin, then
    /// `tweak`), and the proxy `start_proxy` starts on the ports it is
    /// given; the browser reaches the proxy as `host` (a loopback address,
    /// or `localhost` where a host name is needed, as a WebAuthn RP ID is).
    pub async fn start_on<F, Fut>(
        host: &str,
        start_proxy: F,
        tweak: impl FnOnce(&mut authnzd::config::Config) + Send + 'static,
    ) -> Site<P>
    where
        F: FnOnce(Ports) -> Fut,
        Fut: Future<Output = P>,
    {
        let (auth, public) = (free_port(), free_port());
        let origin = format!("http://{host}:{public}");
        let portal_url = format!("{origin}/");
        let s = TestServer::start_with(move |c| {
            c.server.port = auth;
            c.portal.portal = true;
            c.portal.portal_url = portal_url;
            tweak(c);
        })
        .await;
        let ports = Ports {
            public,
            auth,
            upstream: upstream().await,
        };
        let proxy = start_proxy(ports).await;
        Site { s, origin, proxy }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    /// A password sign-in in `b`, from the login page.
    pub async fn sign_in(&self, b: &Browser, email: &str) {
        b.goto(&self.url("/login")).await;
        b.fill("#email", email).await;
        b.fill("#password", PW).await;
        b.click("form[action='/login'] button").await;
        b.wait_for("#account-email").await;
    }

    /// A user with TOTP on, and a new browser's visit to the upstream at
    /// `path` without a session: the proxy sends it to the portal's login page
    /// (screenshot `shot`), the password and then a TOTP code bring it back
    /// to `path`, where the upstream sees the user. No session cookie before
    /// the code; afterwards the session cookie (`HttpOnly`,
    /// `SameSite=Lax`) and none of the sign-in's own.
    pub async fn round_trip_with_totp(&self, path: &str, shot: &str) {
        let b = Browser::start().await;
        let email = "grace@example.com";
        let uid = self.s.verified_user(email, PW).await;
        let secret = self.s.with_totp(uid).await;
        b.goto(&self.url(path)).await;
        let at = b.wait_for_url(self.url("/login?url=").as_str()).await;
        let asked = url::form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>();
        assert!(at.contains(&asked), "{at} carries {asked}");
        b.wait_for("#email").await;
        b.screenshot(shot).await;
        b.fill("#email", email).await;
        b.fill("#password", PW).await;
        b.click("form[action='/login'] button").await;

        b.wait_for_url(self.url("/login/code").as_str()).await;
        b.wait_for("#code").await;
        assert!(b.cookie("__Host-authnzd_session").await.is_none());
        assert!(
            b.cookie("authnzd_session").await.is_none(),
            "not before the code"
        );
        b.fill("#code", &self.s.totp_code(&secret, 1)).await;
        b.click("form[action='/login/code'] button").await;

        b.wait_for_url(self.url(path).as_str()).await;
        assert_eq!(b.text("body").await, format!("upstream saw user={uid}"));
        let cookie = b.cookie("authnzd_session").await.expect("session cookie");
        assert!(cookie.http_only);
        assert_eq!(cookie.same_site.as_deref(), Some("Lax"));
        assert!(b.cookie("authnzd_mfa").await.is_none());
        assert!(b.cookie("authnzd_prelogin").await.is_none());
        b.close().await;
    }
}
