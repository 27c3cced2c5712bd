//! The portal's phone sign-in over plain HTTP (the browser suite drives the
//! page in Chromium): the QR code on the page is the challenge the phone
//! approves; the live wait (events or the long poll) says `ready` at once;
//! the session goes once, to the browser holding the wait cookie — never
//! to whoever else saw the code; an account with TOTP still asks for it. A
//! phone is added from the account page only once the browser that asked
//! confirms the name and fingerprint the phone shows.

mod common;

use std::time::Duration;

use common::phone::{Phone, read_svg_qr};
use common::visitor::{Visitor, portal_server, signed_in};
use common::{PW, TestServer};
use reqwest::header::{LOCATION, SET_COOKIE};

/// A browser that has loaded the phone page: its cookies and the page.
struct Waiting {
    http: reqwest::Client,
    base: String,
    cookies: String,
    page: String,
    csp: String,
}

impl Waiting {
    async fn open(s: &TestServer, query: &str) -> Waiting {
        authnzd::tls::install_provider();
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let base = s.url();
        let res = http
            .get(format!("{base}login/device{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        let cookies = res
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
            .collect::<Vec<_>>()
            .join("; ");
        let csp = res.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        let page = res.text().await.unwrap();
        Waiting {
            http,
            base,
            cookies,
            page,
            csp,
        }
    }

    async fn get(&self, path: &str, cookies: &str) -> reqwest::Response {
        self.http
            .get(format!("{}{path}", self.base))
            .header("cookie", cookies)
            .send()
            .await
            .unwrap()
    }
}

/// Whether the answer sets a session cookie (not one that clears it).
fn sets_session(res: &reqwest::Response) -> bool {
    res.headers().get_all(SET_COOKIE).iter().any(|c| {
        let c = c.to_str().unwrap();
        c.starts_with("authnzd_session=") && !c.starts_with("authnzd_session=;")
    })
}

/// Where an answer sends the browser.
fn location(res: &reqwest::Response) -> &str {
    res.headers()[LOCATION].to_str().unwrap()
}

#[tokio::test]
async fn the_page_waits_live_and_the_session_goes_once_to_this_browser_only() {
    let s = portal_server().await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let phone = s.with_phone("ada@example.com").await;
    let b = Waiting::open(&s, "?rd=/account").await;
    assert!(b.cookies.contains("authnzd_device="), "{}", b.cookies);
    assert!(b.page.contains("static/device.js"));
    assert!(b.csp.contains("script-src 'self'"), "{}", b.csp);
    assert!(!b.csp.contains("'unsafe-inline'"), "{}", b.csp);

    // Not approved yet: the finish link says so and signs in nothing.
    let early = b.get("login/device/finish", &b.cookies).await;
    assert_eq!(early.status(), 200);
    assert!(early.headers().get(SET_COOKIE).is_none());
    assert!(early.text().await.unwrap().contains("not approved"));

    // The events stream is open before the phone approves; it says
    // `ready` as soon as the phone has.
    let mut events = b.get("login/device/events", &b.cookies).await;
    assert_eq!(
        events.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    phone.approve(&s, &read_svg_qr(&b.page)).await;
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(5), async {
        while !seen.contains("event:ready") {
            let chunk = events.chunk().await.unwrap().expect("more events");
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .expect("ready within 5 s");
    let poll = b.get("login/device/status", &b.cookies).await;
    assert_eq!(poll.text().await.unwrap(), "ready");

    // Whoever else saw the code gets nothing; this browser its session.
    let other = b.get("login/device/finish", "").await;
    assert_eq!(other.status(), 410);
    assert!(!sets_session(&other), "{:?}", other.headers());
    let done = b.get("login/device/finish?rd=/account", &b.cookies).await;
    assert_eq!(done.status(), 303);
    assert!(location(&done).ends_with("/account"));
    let session = done
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("authnzd_session=") && !c.starts_with("authnzd_session=;"))
        .expect("a session cookie");
    let token = session["authnzd_session=".len()..]
        .split(';')
        .next()
        .unwrap();
    let found = s
        .ok(
            "session-exists",
            serde_json::json!({"session_token": token}),
        )
        .await;
    assert_eq!(found["session_info"]["user_id"], uid);

    // Once: the same browser's second finish finds the session taken.
    assert_eq!(b.get("login/device/finish", &b.cookies).await.status(), 410);
}

#[tokio::test]
async fn a_totp_account_still_asks_for_its_code_after_the_phone() {
    let s = portal_server().await;
    let uid = s.verified_user("tom@example.com", PW).await;
    let phone = s.with_phone("tom@example.com").await;
    s.with_totp(uid).await;
    let b = Waiting::open(&s, "").await;
    phone.approve(&s, &read_svg_qr(&b.page)).await;
    let done = b.get("login/device/finish", &b.cookies).await;
    assert_eq!(done.status(), 303);
    assert!(
        location(&done).ends_with("/login/code"),
        "{:?}",
        done.headers()
    );
    let set: Vec<_> = done.headers().get_all(SET_COOKIE).iter().collect();
    assert!(
        set.iter()
            .any(|c| c.to_str().unwrap().starts_with("authnzd_mfa="))
    );
    assert!(!sets_session(&done), "no session before the code");
}

#[tokio::test]
async fn a_spent_or_unknown_wait_says_over_and_nothing_else() {
    let s = portal_server().await;
    let b = Waiting::open(&s, "").await;
    let forged = b.get("login/device/status", "authnzd_device=abc.def").await;
    assert_eq!(forged.text().await.unwrap(), "over");
    let none = b.get("login/device/events", "").await;
    assert_eq!(none.status(), 404);
    // The code expires: the wait says so.
    s.clock.advance(chrono::Duration::hours(1));
    let status = b.get("login/device/status", &b.cookies).await;
    assert_eq!(status.text().await.unwrap(), "over");
}

#[tokio::test]
async fn a_phone_is_added_from_the_account_page_once_this_browser_confirms_it() {
    let s = portal_server().await;
    let (mut v, _) = signed_in(&s, "kim@example.com").await;
    let account = v.get("/account").await;
    assert!(account.body.contains("id=\"device-keys-none\""));
    let page = v
        .post("/account/keys/add", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("account/keys/add/events"));

    let mut phone = Phone::unregistered();
    let made = phone
        .register_from(&s, &read_svg_qr(&page.body), "kim's phone")
        .await;
    assert_eq!(v.get("/account/keys/add/status").await.body, "ready");
    // Not confirmed yet: the key approves nothing.
    let login = Waiting::open(&s, "").await;
    let payload = read_svg_qr(&login.page);
    let c: serde_json::Value = serde_json::from_str(&payload).unwrap();
    s.refuses(
        "pubkey-login",
        serde_json::json!({"challenge_id": c["challenge_id"], "key_id": phone.key_id,
                           "signature": "A".repeat(86) + "=="}),
        authnzd_proto::Refusal::PubkeyNotFound,
    )
    .await;

    // Another browser has nothing to confirm; this one sees what the phone shows.
    let mut other = Visitor::new(&s);
    other.sign_in("kim@example.com", PW, "").await;
    assert_eq!(other.get("/account/keys/add/confirm").await.status, 410);
    let seen = v.get("/account/keys/add/confirm").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let fingerprint = made["fingerprint"].as_str().unwrap();
    assert!(seen.body.contains(fingerprint), "{}", seen.body);
    assert!(seen.body.contains("kim&#39;s phone") || seen.body.contains("kim&#x27;s phone"));
    let done = v
        .post("/account/keys/add/confirm", &[("csrf", &seen.csrf())])
        .await;
    done.assert_to("/account?m=key-added");
    assert!(v.get("/account").await.body.contains("id=\"device-keys\""));
    // Once: confirming again finds nothing to confirm.
    let again = v
        .post("/account/keys/add/confirm", &[("csrf", &seen.csrf())])
        .await;
    assert_eq!(again.status, 410);

    // The phone now signs in.
    let b = Waiting::open(&s, "").await;
    phone.approve(&s, &read_svg_qr(&b.page)).await;
    assert_eq!(b.get("login/device/finish", &b.cookies).await.status(), 303);
}

#[tokio::test]
async fn adding_a_phone_needs_a_fresh_sign_in() {
    let s = portal_server().await;
    s.verified_user("old@example.com", PW).await;
    let mut v = Visitor::new(&s);
    v.sign_in("old@example.com", PW, "").await;
    let account = v.get("/account").await;
    s.clock.advance(chrono::Duration::hours(2));
    let stale = v
        .post("/account/keys/add", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(stale.status, 303);
    stale.assert_to_within("m=sign-in-again");
}

#[tokio::test]
async fn a_browser_that_hangs_up_leaves_no_wait_behind() {
    let s = portal_server().await;
    let b = Waiting::open(&s, "").await;
    let waits = || s.running().app.challenge_waits.len();
    let events = b.get("login/device/events", &b.cookies).await;
    assert_eq!(events.status(), 200);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while waits() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the wait never began"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(events);
    // Gone with the connection, not after the wait's 20 s.
    while waits() != 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the wait outlived its browser"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
