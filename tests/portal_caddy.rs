//! The sign-in portal in a real headless Chromium, behind a real Caddy
//! (`forward_auth`, the README's Caddyfile): an unauthenticated visit is
//! sent to the portal by authnzd's own 302 (`?mode=redirect`, which Caddy
//! passes on as it is), signs in with the password and a TOTP code, and
//! comes back to the upstream, which sees the user; without the cookie the
//! upstream is a 302 to the portal. Caddy builds the original URL for
//! authnzd itself (`X-Forwarded-Proto`, `-Host`, `-Uri`). Needs Caddy and
//! Chromium, which `cargo xtask test` provides.

mod common;

use common::caddy::Caddy;
use common::portal::{Ports, Site};

/// The portal's pages to authnzd, everything else behind `forward_auth`
/// (the README's snippet).
fn caddyfile(public: u16, auth: u16, upstream: u16) -> String {
    format!(
        r#"
http://127.0.0.1:{public} {{
    @portal path /login* /account* /logout /signup /verify /static/*
    handle @portal {{
        reverse_proxy 127.0.0.1:{auth}
    }}
    handle {{
        forward_auth 127.0.0.1:{auth} {{
            uri /auth/verify?mode=redirect
            copy_headers X-Auth-User-Id
        }}
        reverse_proxy 127.0.0.1:{upstream}
    }}
}}
"#
    )
}

async fn caddy(p: Ports) -> Caddy {
    Caddy::start(&caddyfile(p.public, p.auth, p.upstream), p.public).await
}

#[tokio::test]
async fn caddy_sends_the_browser_to_the_portal_and_back_after_password_and_totp() {
    let site = Site::start_on("127.0.0.1", caddy, |_| {}).await;
    site.round_trip_with_totp("/app/x", "portal-caddy-login")
        .await;

    // Without the cookie: authnzd's 302, passed on by Caddy as it is.
    authnzd::tls::install_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = client.get(site.url("/app/x")).send().await.unwrap();
    let log = site.proxy.log();
    assert_eq!(res.status().as_u16(), 302, "caddy log: {log}");
    let wanted = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("url", &site.url("/app/x"))
        .finish();
    assert_eq!(
        res.headers()["location"].to_str().unwrap(),
        format!("{}?{wanted}", site.url("/login")),
    );
}
