//! The portal's OpenID Connect provider signs a real relying party in: a
//! real Apache httpd with Debian's mod_auth_openidc protects `/protected/`
//! on loopback, and a real headless Chromium opening it is sent to the
//! portal, signs in (password then TOTP, with the consent page; or one
//! click on a passkey) and lands back on the page, which shows the claims
//! mod_auth_openidc passed on: the email, and `sub` (also `REMOTE_USER`)
//! the user's `system_id`. The client is registered with the real
//! `authnzd client add`. Needs Apache, mod_auth_openidc, Chromium and
//! chromedriver, which `cargo xtask test` provides; Apache's error log is
//! printed when a test fails.

mod common;

use common::apache::{Apache, Rp, redirect_uri};
use common::browser::Browser;
use common::cli::{authnzd, json_of, write_config};
use common::{PW, TestServer, free_port};
use serde_json::{Value, json};

/// The server with the portal and the provider on, its portal at
/// `http://HOST:PORT/`, then `tweak`.
async fn provider(
    host: &str,
    tweak: impl FnOnce(&mut authnzd::config::Config) + Send + 'static,
) -> (TestServer, String) {
    let port = free_port();
    let portal = format!("http://{host}:{port}/");
    let url = portal.clone();
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = url;
        c.oidc.oidc = true;
        tweak(c);
    })
    .await;
    (s, portal)
}

/// `authnzd client add ID ARGS… --json`: the client as printed.
async fn register(s: &TestServer, id: &str, args: &[&str]) -> Value {
    let config = write_config(s, &s.key, "portal = true\noidc = true");
    let mut all = vec!["client", "add", id, "--json"];
    all.extend_from_slice(args);
    json_of(&authnzd(&config, &all, None).await, "client add")
}

async fn system_id(s: &TestServer, email: &str) -> String {
    let found = s.ok("user-lookup-email", json!({"email": email})).await;
    found["user_info"]["system_id"].as_str().unwrap().to_owned()
}

/// Apache on a free port as `host`, the relying party of the portal at
/// `portal`, registered as client `id` with `extra` options.
async fn relying_party(
    s: &TestServer,
    portal: &str,
    host: &str,
    id: &str,
    extra: &[&str],
) -> Apache {
    let port = free_port();
    let back = redirect_uri(host, port);
    let mut args = vec!["--redirect-uri", back.as_str()];
    args.extend_from_slice(extra);
    let made = register(s, id, &args).await;
    let discovery = format!("{portal}.well-known/openid-configuration");
    let rp = Rp {
        discovery: &discovery,
        client_id: id,
        client_secret: made["client_secret"].as_str().expect("client_secret"),
    };
    Apache::start(host, port, &rp).await
}

/// The protected page, reached: what mod_auth_openidc passed the app.
async fn assert_claims(b: &Browser, apache: &Apache, email: &str, sub: &str) {
    let page = apache.url("/protected/");
    b.wait_for_url(|u: &str| u == page).await;
    b.wait_for("#protected").await;
    assert_eq!(b.text("#email").await, email);
    assert_eq!(b.text("#sub").await, sub);
    assert_eq!(b.text("#remote-user").await, sub);
    assert_eq!(b.text("#groups").await, "authenticated");
}

#[tokio::test]
async fn apache_signs_in_through_the_portal_with_password_totp_and_consent() {
    let host = "127.0.0.1";
    let (s, portal) = provider(host, |_| {}).await;
    // Not first-party: the user is asked.
    let apache = relying_party(&s, &portal, host, "wiki", &[]).await;
    let email = "grace@example.com";
    let uid = s.verified_user(email, PW).await;
    let secret = s.with_totp(uid).await;
    let sub = system_id(&s, email).await;

    let b = Browser::start().await;
    b.goto(&apache.url("/protected/")).await;
    let at = b.wait_for_url(format!("{portal}login?rd=").as_str()).await;
    assert!(at.contains("oidc%2Fauthorize"), "{at}");
    b.wait_for("#email").await;
    b.screenshot("oidc-apache-login").await;
    b.fill("#email", email).await;
    b.fill("#password", PW).await;
    b.click("form[action='/login'] button").await;
    b.wait_for_url(format!("{portal}login/code").as_str()).await;
    b.wait_for("#code").await;
    b.fill("#code", &s.totp_code(&secret, 1)).await;
    b.click("form[action='/login/code'] button").await;

    b.wait_for("#consent-allow").await;
    b.screenshot("oidc-apache-consent").await;
    b.click("#consent-allow").await;

    assert_claims(&b, &apache, email, &sub).await;
    b.screenshot("oidc-apache-protected").await;
    assert!(b.cookie("mod_auth_openidc_session").await.is_some());

    // Signed in at Apache now: another visit goes straight through.
    b.goto(&apache.url("/protected/")).await;
    assert_claims(&b, &apache, email, &sub).await;
    b.close().await;
}

#[tokio::test]
async fn apache_signs_in_through_the_portal_with_a_passkey() {
    // `127.0.0.1` is no RP ID to Chromium: the portal is `localhost`, and
    // Apache too (the same site).
    let host = "localhost";
    let (s, portal) = provider(host, |c| {
        c.webauthn.webauthn_rp_id = "localhost".into();
    })
    .await;
    // First-party: no consent page.
    let apache = relying_party(&s, &portal, host, "intranet", &["--first-party"]).await;
    let email = "passkey@example.com";
    s.verified_user(email, PW).await;
    let sub = system_id(&s, email).await;

    // A passkey added on the account page, then signed out.
    let b = Browser::start().await;
    b.add_virtual_authenticator().await;
    b.goto(&format!("{portal}login")).await;
    b.fill("#email", email).await;
    b.fill("#password", PW).await;
    b.click("form[action='/login'] button").await;
    b.wait_for("#passkey-add").await;
    b.fill("#passkey-label", "this laptop").await;
    b.eval("document.getElementById('passkey-add').scrollIntoView()")
        .await;
    b.click("#passkey-add").await;
    b.wait_for_url(|u: &str| u.ends_with("/account?m=passkey-added"))
        .await;
    b.click("#logout").await;
    b.wait_for_url(format!("{portal}login").as_str()).await;

    // Apache sends the browser to the portal; one click on the passkey
    // (discoverable: no address typed) brings it back, signed in.
    b.goto(&apache.url("/protected/")).await;
    b.wait_for_url(format!("{portal}login?rd=").as_str()).await;
    b.wait_for("#passkey-login").await;
    b.click("#passkey-login").await;
    assert_claims(&b, &apache, email, &sub).await;
    b.screenshot("oidc-apache-passkey").await;
    b.close().await;
}
