//! The sign-in portal in a real headless Chromium, behind a real nginx
//! (`auth_request`): an unauthenticated visit is sent to the portal, signs
//! in with the password and a TOTP code, and comes back to the upstream,
//! which sees the user; an email link signs in the browser that asked and
//! no other; a phone added from the account page (its QR code read off the
//! screen, its fingerprint confirmed) then signs in with no click once it
//! approves; the account page signs out another browser; a form posted from
//! another site is refused; logout. A screenshot of each page is kept under
//! the target dir (`screenshots/`). Needs nginx and Chromium, which
//! `cargo xtask test` provides.

mod common;

use common::PW;
use common::browser::Browser;
use common::nginx::Nginx;
use common::portal::{Ports, Site};
use warp::Filter;

/// nginx in front of both: the portal's pages go to authnzd, everything
/// else to the upstream behind `auth_request` (the README's snippet).
fn servers(public: u16, auth: u16, upstream: u16) -> String {
    format!(
        r#"
    server {{
        listen 127.0.0.1:{public};
        location = /_authnzd {{
            internal;
            proxy_pass http://127.0.0.1:{auth}/auth/verify;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location ~ ^/(login|account|logout|signup|verify|static/) {{
            proxy_pass http://127.0.0.1:{auth};
            proxy_set_header Host $http_host;
            proxy_set_header X-Real-IP $remote_addr;
        }}
        location / {{
            auth_request /_authnzd;
            auth_request_set $auth_user $upstream_http_x_auth_user_id;
            auth_request_set $auth_redirect $upstream_http_location;
            error_page 401 =302 $auth_redirect;
            proxy_set_header X-Auth-User-Id $auth_user;
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
"#
    )
}

/// nginx with the README's snippet in front of the site.
async fn nginx(p: Ports) -> Nginx {
    Nginx::start(&servers(p.public, p.auth, p.upstream), p.public).await
}

#[tokio::test]
async fn nginx_sends_the_browser_to_the_portal_and_back_after_password_and_totp() {
    let site = Site::start_on("127.0.0.1", nginx, |_| {}).await;
    site.round_trip_with_totp("/app/report?year=2026", "portal-login")
        .await;
}

/// The sign-in link and the code in a delivered message.
fn link_in(raw: &[u8], origin: &str) -> String {
    let text = common::mailsink::parse(raw).text;
    let prefix = format!("{origin}/login/link?token=");
    text.split_whitespace()
        .find(|w| w.starts_with(&prefix))
        .expect("a portal link")
        .to_owned()
}

#[tokio::test]
async fn an_email_link_signs_in_the_browser_that_asked_and_no_other() {
    let sink = common::mailsink::MailSink::start();
    let port = sink.port;
    let site = Site::start_on("127.0.0.1", nginx, move |c| {
        common::mail::smtp_to(c, port);
        c.passwordless.passwordless_link_base_url = String::new();
    })
    .await;
    site.s.verified_user("ada@example.com", PW).await;
    let asked = Browser::start().await;
    asked.goto(&site.url("/login")).await;
    asked.fill("#link-email", "ada@example.com").await;
    asked.click("#email-link").await;
    asked.wait_for("form[action='/login/email/code']").await;
    asked.screenshot("portal-email-sent").await;
    let link = link_in(&sink.wait_for(1).await, &site.origin);

    let other = Browser::start().await;
    other.goto(&link).await;
    other.wait_for("#message").await;
    other.screenshot("portal-link-elsewhere").await;
    other.goto(&site.url("/account")).await;
    other.wait_for_url(site.url("/login").as_str()).await;

    asked.goto(&link).await;
    asked.wait_for("#account-email").await;
    assert_eq!(asked.text("#account-email").await, "ada@example.com");
    other.close().await;
    asked.close().await;
}

#[tokio::test]
async fn a_phone_added_on_the_account_page_then_signs_in_by_itself() {
    let site = Site::start_on("127.0.0.1", nginx, |_| {}).await;
    let email = "ada@example.com";
    let uid = site.s.verified_user(email, PW).await;
    let b = Browser::start().await;

    // Adding: the phone scans the code off the screen and registers; the
    // page goes on by itself to what the phone shows, to confirm.
    site.sign_in(&b, email).await;
    b.click("#key-add").await;
    b.wait_for(".qr svg").await;
    let mut phone = common::phone::Phone::unregistered();
    let payload = common::phone::read_qr(&b.screenshot("portal-device-add").await);
    let made = phone.register_from(&site.s, &payload, "Ada's phone").await;
    b.wait_for("#key-fingerprint").await;
    assert_eq!(
        b.text("#key-fingerprint").await,
        made["fingerprint"].as_str().unwrap()
    );
    b.screenshot("portal-device-confirm").await;
    b.click("#key-confirm").await;
    b.wait_for_url(site.url("/account?m=key-added").as_str())
        .await;
    b.click("#logout").await;
    b.wait_for_url(site.url("/login?m=signed-out").as_str())
        .await;

    // Signing in: no click after the phone approves.
    b.goto(&site.url("/app/dashboard")).await;
    b.wait_for_url(site.url("/login?url=").as_str()).await;
    b.click("#device-login").await;
    b.wait_for(".qr svg").await;
    let payload = common::phone::read_qr(&b.screenshot("portal-device").await);
    phone.approve(&site.s, &payload).await;
    b.wait_for_url(site.url("/app/dashboard").as_str()).await;
    assert_eq!(b.text("body").await, format!("upstream saw user={uid}"));
    assert!(b.cookie("authnzd_session").await.is_some());
    assert!(b.cookie("authnzd_device").await.is_none());
    b.close().await;
}

/// A page on another origin with a form that posts to the portal.
async fn foreign_site(target: String) -> String {
    let page = format!(
        "<!doctype html><title>Win a prize</title>\
         <form method=post action=\"{target}\"><input type=hidden name=csrf value=x>\
         <button id=prize>Claim</button></form>"
    );
    let route = warp::path::end().map(move || warp::reply::html(page.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(warp::serve(route).incoming(listener).run());
    format!("http://{addr}/")
}

#[tokio::test]
async fn the_account_page_signs_out_another_browser_and_refuses_forms_from_elsewhere() {
    let site = Site::start_on("127.0.0.1", nginx, |_| {}).await;
    site.s.verified_user("lin@example.com", PW).await;
    let laptop = Browser::start().await;
    let phone = Browser::start().await;
    site.sign_in(&phone, "lin@example.com").await;
    site.sign_in(&laptop, "lin@example.com").await;
    assert_eq!(
        laptop
            .eval("return document.querySelectorAll('#sessions tbody tr').length")
            .await,
        2
    );
    laptop.screenshot("portal-account").await;

    // A cross-site form cannot sign the laptop out.
    let evil = foreign_site(site.url("/logout")).await;
    laptop.goto(&evil).await;
    laptop.click("#prize").await;
    laptop.wait_for_url(site.url("/logout").as_str()).await;
    assert!(laptop.html().await.contains("did not come from this site"));
    laptop.goto(&site.url("/account")).await;
    laptop.wait_for("#account-email").await;

    // Each button, then where it lands, then the app sends that browser
    // to sign in.
    for (button, lands, signed_out) in [
        ("#sign-out-others", "/account?m=others-signed-out", &phone),
        ("#logout", "/login?m=signed-out", &laptop),
    ] {
        laptop.click(button).await;
        laptop.wait_for_url(site.url(lands).as_str()).await;
        signed_out.goto(&site.url("/app")).await;
        signed_out
            .wait_for_url(site.url("/login?url=").as_str())
            .await;
    }
    phone.close().await;
    laptop.close().await;
}

#[tokio::test]
async fn a_passkey_added_on_the_account_page_signs_in_to_the_upstream_with_one_click() {
    // `127.0.0.1` is no RP ID to Chromium: the site is `localhost`.
    let site = Site::start_on("localhost", nginx, |c| {
        c.webauthn.webauthn_rp_id = "localhost".into();
    })
    .await;
    let email = "passkey@example.com";
    let uid = site.s.verified_user(email, PW).await;
    let b = Browser::start().await;
    b.add_virtual_authenticator().await;

    site.sign_in(&b, email).await;
    b.wait_for("#passkey-add").await;
    b.fill("#passkey-label", "this laptop").await;
    b.eval("document.getElementById('passkey-add').scrollIntoView()")
        .await;
    b.screenshot("portal-passkey-account").await;
    b.click("#passkey-add").await;
    b.wait_for_url(|u: &str| u.ends_with("/account?m=passkey-added"))
        .await;
    b.wait_for("#passkeys").await;
    assert!(b.html().await.contains("value=\"this laptop\""));
    b.eval("document.getElementById('passkeys').scrollIntoView()")
        .await;
    b.screenshot("portal-passkey-added").await;
    b.click("#logout").await;
    b.wait_for_url(site.url("/login").as_str()).await;

    // The upstream sends the browser to sign in; one click on the passkey
    // (discoverable: no address typed) brings it back, signed in.
    b.goto(&site.url("/app/passkey")).await;
    b.wait_for_url(site.url("/login?url=").as_str()).await;
    b.wait_for("#passkey-login").await;
    b.screenshot("portal-passkey-login").await;
    b.click("#passkey-login").await;
    b.wait_for_url(site.url("/app/passkey").as_str()).await;
    assert_eq!(b.text("body").await, format!("upstream saw user={uid}"));
    let cookie = b.cookie("authnzd_session").await.expect("session cookie");
    assert!(cookie.http_only);
    assert!(b.cookie("authnzd_passkey").await.is_none());

    // Signed in with the passkey (fresh, both factors), adding it again:
    // the authenticator refuses (`InvalidStateError`), and the page says so.
    b.goto(&site.url("/account")).await;
    b.click("#passkey-add").await;
    let said = "This device already holds a passkey for your account.";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while b.text("#passkey-state").await != said {
        assert!(std::time::Instant::now() < deadline, "{}", b.html().await);
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    b.eval("document.getElementById('passkey-state').scrollIntoView()")
        .await;
    b.screenshot("portal-passkey-refused").await;
    b.close().await;
}
