//! The sign-in portal over plain HTTP (the browser suite drives the same
//! pages in Chromium): headers, cookies, CSRF, the password and the second
//! factor, redirects through the one rule, sessions, logout — and the
//! forward-auth check that follows the cookie the portal sets.

mod common;

use common::visitor::{Page, Visitor, portal_server, signed_in};
use common::{PW, TestServer, free_port};

#[tokio::test]
async fn every_page_is_framed_by_nothing_and_cached_nowhere() {
    let s = portal_server().await;
    let mut v = Visitor::new(&s);
    let page = v.get("/login").await;
    assert_eq!(page.status, 200);
    let header = |name: &str| page.headers.get(name).unwrap().to_str().unwrap().to_owned();
    let csp = header("content-security-policy");
    for part in [
        "default-src 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("script-src"), "no script at all: {csp}");
    assert_eq!(header("x-frame-options"), "DENY");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("x-content-type-options"), "nosniff");
    let set = header("set-cookie");
    for attr in ["authnzd_prelogin=", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(set.contains(attr), "{attr} in {set}");
    }
    for field in [
        "autocomplete=\"username\"",
        "autocomplete=\"current-password\"",
        "lang=\"en\"",
    ] {
        assert!(page.body.contains(field), "{field}");
    }
    assert!(!page.body.contains("<script"));
    let css = v.get("/static/portal.css").await;
    assert_eq!(css.status, 200);
    assert_eq!(v.get("/no-such-page").await.status, 404);
}

#[tokio::test]
async fn a_password_signs_in_and_forward_auth_follows_the_cookie() {
    let s = portal_server().await;
    let uid = s.verified_user("pat@example.com", PW).await;
    let mut v = Visitor::new(&s);
    assert_eq!(v.verify().await.status(), 401);
    let wrong = v.sign_in("pat@example.com", "not the password", "").await;
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("class=\"error\""), "{}", wrong.body);
    assert!(!v.jar.contains_key("authnzd_session"));
    let unknown = v.sign_in("nobody@example.com", PW, "").await;
    assert_eq!(unknown.status, 401);
    let said = |p: &Page| {
        let at = p.body.find("role=\"alert\">").unwrap();
        p.body[at..].split('<').next().unwrap().to_owned()
    };
    assert_eq!(said(&wrong), said(&unknown), "no enumeration");

    let back = format!("{}app/page?x=1", s.url());
    let done = v.sign_in("pat@example.com", PW, &back).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), back);
    assert!(v.jar.contains_key("authnzd_session"));
    assert!(!v.jar.contains_key("authnzd_prelogin"), "spent");
    let verified = v.verify().await;
    assert_eq!(verified.status(), 200);
    assert_eq!(
        verified.headers()["x-auth-user-id"],
        uid.to_string().as_str()
    );
    assert_eq!(verified.headers()["x-auth-amr"], "pwd");
    let account = v.get("/account").await;
    assert_eq!(account.status, 200);
    assert!(account.body.contains("pat@example.com"));
    assert!(account.body.contains("this browser"));

    let logout = v.post("/logout", &[("csrf", &account.csrf())]).await;
    logout.assert_to("/login?m=signed-out");
    assert_eq!(v.verify().await.status(), 401);
    assert_eq!(v.get("/account").await.status, 303);
}

#[tokio::test]
async fn redirects_pass_the_one_rule_or_go_to_the_account_page() {
    let s = portal_server().await;
    s.verified_user("rd@example.com", PW).await;
    let account = format!("{}account", s.url());
    for (rd, to) in [
        ("https://evil.example/", account.as_str()),
        ("//evil.example/x", account.as_str()),
        ("javascript:alert(1)", account.as_str()),
        ("/account?x=1", &*format!("{}account?x=1", s.url())),
    ] {
        let mut v = Visitor::new(&s);
        let done = v.sign_in("rd@example.com", PW, rd).await;
        assert_eq!(done.status, 303);
        assert_eq!(done.location(), to, "rd {rd}");
    }
}

fn login_fields(csrf: &str) -> [(&str, &str); 3] {
    [
        ("csrf", csrf),
        ("email", "csrf@example.com"),
        ("password", PW),
    ]
}

#[tokio::test]
async fn forms_from_elsewhere_or_without_their_token_are_refused() {
    let s = portal_server().await;
    s.verified_user("csrf@example.com", PW).await;
    let mut v = Visitor::new(&s);
    let form = v.get("/login").await;
    let csrf = form.csrf();
    v.site = "cross-site";
    let cross = v.post("/login", &login_fields(&csrf)).await;
    assert_eq!(cross.status, 403);
    v.site = "same-origin";
    let forged = v.post("/login", &login_fields("0000")).await;
    assert_eq!(forged.status, 400);
    assert!(!v.jar.contains_key("authnzd_session"));
    // Another visitor's token does not fit this one's pre-login session.
    let mut other = Visitor::new(&s);
    let theirs = other.get("/login").await.csrf();
    assert_eq!(v.post("/login", &login_fields(&theirs)).await.status, 400);
    // Signed in, the account's forms want the session's own token.
    let csrf = v.get("/login").await.csrf();
    assert_eq!(v.post("/login", &login_fields(&csrf)).await.status, 303);
    let forged = v.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(forged.status, 403);
    assert_eq!(v.verify().await.status(), 200, "still signed in");
}

#[tokio::test]
async fn a_totp_account_needs_its_code_and_a_wrong_one_starts_over() {
    let s = portal_server().await;
    let uid = s.verified_user("two@example.com", PW).await;
    let secret = s.with_totp(uid).await;
    let mut v = Visitor::new(&s);
    let asked = v.sign_in("two@example.com", PW, "").await;
    asked.assert_to("/login/code");
    assert!(
        !v.jar.contains_key("authnzd_session"),
        "the password alone is not enough"
    );
    let code_page = v.get("/login/code").await;
    assert!(code_page.body.contains("autocomplete=\"one-time-code\""));
    let wrong = v.post_code("/login/code", &code_page, "000000").await;
    assert_eq!(wrong.status, 401);
    assert!(!v.jar.contains_key("authnzd_session"));
    assert!(
        !v.jar.contains_key("authnzd_mfa"),
        "the sign-in starts over"
    );

    let asked = v.sign_in("two@example.com", PW, "").await;
    assert_eq!(asked.status, 303);
    let code_page = v.get("/login/code").await;
    let done = v
        .post_code("/login/code", &code_page, &s.totp_code(&secret, 1))
        .await;
    done.assert_to("/account");
    let verified = v.verify().await;
    assert_eq!(verified.headers()["x-auth-amr"], "pwd,otp");
}

#[tokio::test]
async fn the_account_page_sets_up_totp_and_signs_out_other_sessions() {
    let s = portal_server().await;
    let uid = s.verified_user("acct@example.com", PW).await;
    let mut laptop = Visitor::new(&s);
    let mut phone = Visitor::new(&s);
    assert_eq!(phone.sign_in("acct@example.com", PW, "").await.status, 303);
    assert_eq!(laptop.sign_in("acct@example.com", PW, "").await.status, 303);

    let account = laptop.get("/account").await;
    assert_eq!(
        account.body.matches("<tr").count(),
        3,
        "header and two sessions"
    );
    let out = laptop
        .post("/account/sessions/others", &[("csrf", &account.csrf())])
        .await;
    out.assert_to("/account?m=others-signed-out");
    assert_eq!(phone.verify().await.status(), 401);
    assert_eq!(laptop.verify().await.status(), 200);

    // Set-up: the QR inline, no script; a first code turns it on.
    let account = laptop.get("/account").await;
    let started = laptop
        .post("/account/totp", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(started.status, 200, "{}", started.body);
    assert!(started.body.contains("<svg"));
    let at = started.body.find("id=\"totp-secret\">").unwrap() + 17;
    let secret_text = started.body[at..].split('<').next().unwrap();
    let secret = common::totp::secret_of(secret_text);
    let on = laptop
        .post_code("/account/totp/confirm", &started, &s.totp_code(&secret, 0))
        .await;
    assert_eq!(on.status, 200, "{}", on.body);
    assert_eq!(
        on.body.matches("<li><code>").count(),
        10,
        "ten recovery codes"
    );
    let enabled = s
        .ok(
            "totp-verify",
            serde_json::json!({"user_id": uid, "code": s.totp_code(&secret, 1)}),
        )
        .await;
    assert!(enabled.is_object());
    // Now a sign-in asks for the code.
    let mut again = Visitor::new(&s);
    let asked = again.sign_in("acct@example.com", PW, "").await;
    asked.assert_to("/login/code");
}

#[tokio::test]
async fn a_stale_sign_in_must_sign_in_again_before_adding_a_factor() {
    let s = portal_server().await;
    let (mut v, _) = signed_in(&s, "stale@example.com").await;
    s.clock.advance(chrono::Duration::seconds(601));
    let account = v.get("/account").await;
    let started = v.post("/account/totp", &[("csrf", &account.csrf())]).await;
    assert_eq!(started.status, 303);
    started.assert_to_within("/login?m=sign-in-again&rd=");
}

/// The sign-in link and the code in a delivered message.
fn link_and_code(raw: &[u8], base: &str) -> (String, String) {
    let text = common::mailsink::parse(raw).text;
    let words: Vec<&str> = text.split_whitespace().collect();
    let link = words
        .iter()
        .find(|w| w.starts_with(&format!("{base}login/link?token=")))
        .expect("a portal link");
    let code = words
        .iter()
        .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
        .expect("a code");
    ((*link).to_owned(), (*code).to_owned())
}

#[tokio::test]
async fn an_email_link_signs_in_only_the_browser_that_asked() {
    let port = free_port();
    let (s, sink) = TestServer::with_mail_and(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        c.passwordless.passwordless_link_base_url = String::new();
    })
    .await;
    let uid = s.verified_user("link@example.com", PW).await;
    let mut asked = Visitor::new(&s);
    let csrf = asked.get("/login").await.csrf();
    let sent = asked
        .submit("/login/email", &csrf, &[("email", "link@example.com")])
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("Check your email"));
    let (link, _) = link_and_code(&sink.wait_for(1).await, &s.url());
    let path = link.strip_prefix(&s.url()).unwrap();

    // Another browser (a mail scanner, someone forwarded it): no sign-in,
    // and the link is not spent.
    let mut elsewhere = Visitor::new(&s);
    elsewhere.get("/login").await;
    let there = elsewhere.get(path).await;
    assert_eq!(there.status, 403);
    assert!(there.body.contains("id=\"message\""));
    assert_eq!(elsewhere.verify().await.status(), 401);

    // A copy of this browser's cookies, to replay the link later.
    let mut replay = Visitor::new(&s);
    replay.jar = asked.jar.clone();
    let here = asked.get(path).await;
    assert_eq!(here.status, 303, "{}", here.body);
    let verified = asked.verify().await;
    assert_eq!(
        verified.headers()["x-auth-user-id"],
        uid.to_string().as_str()
    );
    assert_eq!(verified.headers()["x-auth-amr"], "email");
    // Once, even from the browser that asked.
    assert_eq!(replay.get(path).await.status, 403);
    assert_eq!(replay.verify().await.status(), 401);

    // The code typed in the browser that asked works too; a wrong one is
    // said so and counted.
    let mut typed = Visitor::new(&s);
    let csrf = typed.get("/login").await.csrf();
    typed
        .submit("/login/email", &csrf, &[("email", "link@example.com")])
        .await;
    let (_, code) = link_and_code(&sink.wait_for(2).await, &s.url());
    let form = typed.get("/login").await;
    let wrong = typed.post_code("/login/email/code", &form, "000000").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    let done = typed.post_code("/login/email/code", &form, &code).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(typed.verify().await.status(), 200);
}

#[tokio::test]
async fn the_account_page_changes_the_password_and_signs_out_the_other_sessions() {
    let s = portal_server().await;
    s.verified_user("pw@example.com", PW).await;
    let mut laptop = Visitor::new(&s);
    let mut phone = Visitor::new(&s);
    assert_eq!(phone.sign_in("pw@example.com", PW, "").await.status, 303);
    assert_eq!(laptop.sign_in("pw@example.com", PW, "").await.status, 303);
    let account = laptop.get("/account").await;
    assert!(account.body.contains("autocomplete=\"new-password\""));
    let new_password = "a different passphrase 2026";
    let fields = |csrf, current| {
        [
            ("csrf", csrf),
            ("current_password", current),
            ("new_password", new_password),
        ]
    };
    let csrf = account.csrf();
    let refused = laptop
        .post("/account/password", &fields(&csrf, "not my password"))
        .await;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(refused.body.contains("role=\"alert\""));
    assert_eq!(
        phone.verify().await.status(),
        200,
        "a refusal changes nothing"
    );

    let done = laptop.post("/account/password", &fields(&csrf, PW)).await;
    done.assert_to("/account?m=password-changed");
    assert_eq!(laptop.verify().await.status(), 200, "this session stays");
    assert_eq!(phone.verify().await.status(), 401, "the others end");
    assert_eq!(
        Visitor::new(&s)
            .sign_in("pw@example.com", PW, "")
            .await
            .status,
        401
    );
    let again = Visitor::new(&s)
        .sign_in("pw@example.com", new_password, "")
        .await;
    assert_eq!(again.status, 303);
}

#[tokio::test]
async fn the_operators_colour_logo_and_stylesheet_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let logo = dir.path().join("logo.svg");
    let svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>";
    std::fs::write(&logo, svg).unwrap();
    let css = dir.path().join("extra.css");
    std::fs::write(&css, "main { border-radius: 0; }").unwrap();
    let port = free_port();
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        c.portal.portal_accent_color = "#a31515".into();
        c.portal.portal_logo_file = Some(logo);
        c.portal.portal_stylesheet_file = Some(css);
    })
    .await;
    let mut v = Visitor::new(&s);
    let page = v.get("/login").await;
    assert!(page.body.contains("src=\"/static/logo\""));
    assert!(page.body.contains("href=\"/static/brand.css\""));
    let brand = v.get("/static/brand.css").await;
    assert!(brand.body.contains("--accent: #a31515"), "{}", brand.body);
    assert!(brand.body.contains("main { border-radius: 0; }"));
    let served = v.get("/static/logo").await;
    assert_eq!(served.headers["content-type"], "image/svg+xml");
    assert_eq!(served.body, svg);
    // Without a logo there is none to fetch.
    let plain = portal_server().await;
    assert_eq!(Visitor::new(&plain).get("/static/logo").await.status, 404);
}

#[tokio::test]
async fn new_sign_in_forms_are_limited_as_new_sessions_are() {
    let port = free_port();
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        let defaults = authnzd::config::LimitsConfig::default().rate_limits;
        c.limits.rate_limits = format!("{defaults}; session-new:2");
    })
    .await;
    // Made first: the RPC's session-new counts against the same limit.
    let pre_login = s.anon_session().await;
    let mut statuses = Vec::new();
    for _ in 0..3 {
        statuses.push(Visitor::new(&s).get("/login").await.status);
    }
    assert_eq!(statuses, [200, 429, 429]);
    // A visitor with its pre-login session keeps its form.
    let mut kept = Visitor::new(&s);
    kept.jar.insert("authnzd_prelogin".into(), pre_login);
    assert_eq!(kept.get("/login").await.status, 200);
}

async fn mailing_portal(signup: bool) -> (TestServer, common::mailsink::MailSink) {
    let port = free_port();
    TestServer::with_mail_and(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        c.portal.portal_signup = signup;
        c.passwordless.passwordless_link_base_url = String::new();
    })
    .await
}

/// The portal link in a delivered message whose path starts `path?token=`,
/// as a path to get.
fn mailed_link(raw: &[u8], base: &str, path: &str) -> String {
    let text = common::mailsink::parse(raw).text;
    let prefix = format!("{base}{path}?token=");
    let link = text
        .split_whitespace()
        .find(|w| w.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a {path} link in {text}"));
    format!("/{}", link.strip_prefix(base).unwrap())
}

/// What a message page says.
fn message_of(p: &Page) -> String {
    let at = p.body.find("id=\"message\">").expect("a message page") + 13;
    p.body[at..].split('<').next().unwrap().to_owned()
}

/// The token a link carries, decoded.
fn token_of_link(path: &str) -> String {
    let query = path.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// Asks for a reset link for `email`; the page answered.
async fn ask_for_reset(v: &mut Visitor, email: &str) -> Page {
    let form = v.get("/login/forgot").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("autocomplete=\"username\""));
    v.submit("/login/forgot", &form.csrf(), &[("email", email)])
        .await
}

const NEW_PW: &str = "a different passphrase 2026";

#[tokio::test]
async fn a_mailed_reset_link_sets_a_new_password_once_and_signs_everyone_out() {
    let (s, sink) = mailing_portal(false).await;
    let (phone, _) = signed_in(&s, "lost@example.com").await;

    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(login.body.contains("href=\"/login/forgot\""));
    let sent = ask_for_reset(&mut v, "lost@example.com").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(message_of(&sent).contains("If an account uses that address"));
    let mail = sink.wait_for(1).await;
    let to = common::mailsink::parse(&mail);
    assert!(to.header("To").unwrap().contains("lost@example.com"));
    let link = mailed_link(&mail, &s.url(), "login/reset");
    let token = token_of_link(&link);

    // The link opens a form for a new password; the policy has its say.
    let form = v.get(&link).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("autocomplete=\"new-password\""));
    assert!(form.body.contains("value=\"lost@example.com\""));
    let weak = v
        .submit(
            "/login/reset",
            &form.csrf(),
            &[("token", &token), ("new_password", "short")],
        )
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("role=\"alert\""));
    assert_eq!(
        phone.verify().await.status(),
        200,
        "a refusal changes nothing"
    );

    // Without the form's token: refused, nothing changed.
    let forged = v
        .post(
            "/login/reset",
            &[
                ("csrf", "0000"),
                ("token", &token),
                ("new_password", NEW_PW),
            ],
        )
        .await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    assert_eq!(phone.verify().await.status(), 200);

    let done = v
        .submit(
            "/login/reset",
            &weak.csrf(),
            &[("token", &token), ("new_password", NEW_PW)],
        )
        .await;
    done.assert_to("/login?m=password-reset");
    assert_eq!(phone.verify().await.status(), 401, "the other session ends");
    let notice = v.get(done.location()).await;
    assert!(notice.body.contains("Sign in with the new password"));

    // Once: the link died with the old password.
    let again = v.get(&link).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(message_of(&again).contains("already been used"));
    let form_csrf = v.get("/login/forgot").await.csrf();
    let replay = v
        .submit(
            "/login/reset",
            &form_csrf,
            &[
                ("token", &token),
                ("new_password", "yet another passphrase 2027"),
            ],
        )
        .await;
    assert_eq!(replay.status, 400, "{}", replay.body);
    let old = Visitor::new(&s).sign_in("lost@example.com", PW, "").await;
    assert_eq!(old.status, 401, "the old password no longer works");
    let new = Visitor::new(&s)
        .sign_in("lost@example.com", NEW_PW, "")
        .await;
    assert_eq!(new.status, 303, "{}", new.body);
}

#[tokio::test]
async fn a_reset_link_posted_from_eight_tabs_at_once_sets_one_password() {
    let (s, sink) = mailing_portal(false).await;
    s.verified_user("racy@example.com", PW).await;
    let mut v = Visitor::new(&s);
    ask_for_reset(&mut v, "racy@example.com").await;
    let link = mailed_link(&sink.wait_for(1).await, &s.url(), "login/reset");
    let token = token_of_link(&link);
    let csrf = v.get(&link).await.csrf();
    let passwords: Vec<String> = (0..8).map(|i| format!("{NEW_PW} tab {i}")).collect();
    let posts = passwords.iter().map(|pw| {
        let (mut tab, csrf, token) = (v.clone(), csrf.clone(), token.clone());
        async move {
            let form = [
                ("csrf", csrf.as_str()),
                ("token", token.as_str()),
                ("new_password", pw.as_str()),
            ];
            tab.post("/login/reset", &form).await.status
        }
    });
    let statuses = futures_util::future::join_all(posts).await;
    let landed: Vec<_> = statuses.iter().filter(|&&st| st == 303).collect();
    assert_eq!(landed.len(), 1, "{statuses:?}");
    assert!(
        statuses.iter().all(|&st| st == 303 || st == 400),
        "{statuses:?}"
    );
    // The password set is the one of the tab that was told so.
    let winner = statuses.iter().position(|&st| st == 303).unwrap();
    for (i, pw) in passwords.iter().enumerate() {
        let signed = Visitor::new(&s).sign_in("racy@example.com", pw, "").await;
        assert_eq!(
            signed.status == 303,
            i == winner,
            "tab {i}: {}",
            signed.status
        );
    }
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_page_and_no_mail() {
    let (s, sink) = mailing_portal(false).await;
    s.verified_user("known@example.com", PW).await;
    let unknown = ask_for_reset(&mut Visitor::new(&s), "nobody@example.com").await;
    assert_eq!(sink.settled_count().await, 0, "no mail for nobody");
    let known = ask_for_reset(&mut Visitor::new(&s), "known@example.com").await;
    assert_eq!(unknown.status, known.status);
    assert_eq!(message_of(&unknown), message_of(&known), "no enumeration");
    assert_eq!(sink.settled_count().await, 1);

    // Without the form's token (or from another site): no mail either.
    let mut v = Visitor::new(&s);
    v.get("/login/forgot").await;
    let forged = v
        .post(
            "/login/forgot",
            &[("csrf", "0000"), ("email", "known@example.com")],
        )
        .await;
    assert_eq!(forged.status, 400);
    v.site = "cross-site";
    let csrf = v.get("/login/forgot").await.csrf();
    let cross = v
        .submit("/login/forgot", &csrf, &[("email", "known@example.com")])
        .await;
    assert_eq!(cross.status, 403);
    assert_eq!(sink.settled_count().await, 1);
}

#[tokio::test]
async fn an_expired_or_forged_reset_link_is_refused_with_a_page_that_says_so() {
    let (s, sink) = mailing_portal(false).await;
    s.verified_user("late@example.com", PW).await;
    let mut v = Visitor::new(&s);
    ask_for_reset(&mut v, "late@example.com").await;
    let link = mailed_link(&sink.wait_for(1).await, &s.url(), "login/reset");
    let token = token_of_link(&link);
    assert_eq!(v.get(&link).await.status, 200, "fresh, it works");

    // Forged: one character of the token changed, or none at all.
    let mut chars: Vec<char> = token.chars().collect();
    let mid = chars.len() / 2;
    chars[mid] = if chars[mid] == 'A' { 'B' } else { 'A' };
    let forged: String = chars.into_iter().collect();
    for bad in [forged.as_str(), "", "not-a-token"] {
        let path = format!(
            "/login/reset?token={}",
            url::form_urlencoded::byte_serialize(bad.as_bytes()).collect::<String>()
        );
        let page = v.get(&path).await;
        assert_eq!(page.status, 400, "{bad}: {}", page.body);
        assert!(message_of(&page).contains("expired"));
    }

    s.clock.advance(chrono::Duration::seconds(3601));
    let late = v.get(&link).await;
    assert_eq!(late.status, 400, "{}", late.body);
    assert!(message_of(&late).contains("expired"));
    let csrf = v.get("/login/forgot").await.csrf();
    let posted = v
        .submit(
            "/login/reset",
            &csrf,
            &[("token", &token), ("new_password", NEW_PW)],
        )
        .await;
    assert_eq!(posted.status, 400, "{}", posted.body);
    let still = Visitor::new(&s).sign_in("late@example.com", PW, "").await;
    assert_eq!(still.status, 303, "the password is unchanged");
}

#[tokio::test]
async fn sign_up_is_off_unless_configured() {
    let s = portal_server().await;
    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(!login.body.contains("signup"), "no sign-up link");
    assert_eq!(v.get("/signup").await.status, 404);
    let csrf = login.csrf();
    let fields = [
        ("csrf", csrf.as_str()),
        ("email", "new@example.com"),
        ("password", NEW_PW),
    ];
    assert_eq!(v.post("/signup", &fields).await.status, 404);
    // Not a 403 either: off, there is no such page for anyone.
    v.site = "cross-site";
    assert_eq!(v.post("/signup", &fields).await.status, 404);
    let none = s
        .call(
            "user-lookup-email",
            serde_json::json!({"email": "new@example.com"}),
        )
        .await;
    assert!(!none.success, "no account was made");
    // A verification link that is not one says so (never a server error).
    let bad = Visitor::new(&s).get("/verify?token=nonsense").await;
    assert_eq!(bad.status, 400);
    assert!(message_of(&bad).contains("verification link"));
}

/// The sign-up form posted for fresh@example.com.
async fn sign_up(v: &mut Visitor, csrf: &str, password: &str) -> Page {
    let fields = [
        ("csrf", csrf),
        ("email", "fresh@example.com"),
        ("full_name", "Fresh Person"),
        ("password", password),
        // Not a field of the form: never read.
        ("user_role", "superuser"),
    ];
    v.post("/signup", &fields).await
}

#[tokio::test]
async fn a_sign_up_is_verified_by_its_mailed_link_and_then_signs_in() {
    let (s, sink) = mailing_portal(true).await;
    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(login.body.contains("href=\"/signup\""));
    let form = v.get("/signup").await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("autocomplete=\"new-password\""));
    let forged = sign_up(&mut v, "0000", NEW_PW).await;
    assert_eq!(forged.status, 400, "{}", forged.body);
    let weak = sign_up(&mut v, &form.csrf(), "short").await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("role=\"alert\""));
    assert_eq!(sink.settled_count().await, 0);

    let done = sign_up(&mut v, &weak.csrf(), NEW_PW).await;
    assert_eq!(done.status, 200, "{}", done.body);
    let mail = sink.wait_for(1).await;
    let link = mailed_link(&mail, &s.url(), "verify");
    let unverified = Visitor::new(&s)
        .sign_in("fresh@example.com", NEW_PW, "")
        .await;
    assert_eq!(unverified.status, 401, "not before the address is verified");

    // The same address again: the same page, and no second account or mail.
    let mut other = Visitor::new(&s);
    let again_form = other.get("/signup").await;
    let again = sign_up(&mut other, &again_form.csrf(), "another passphrase 2027").await;
    assert_eq!(again.status, done.status);
    assert_eq!(message_of(&again), message_of(&done));
    assert_eq!(sink.settled_count().await, 1);

    let verified = Visitor::new(&s).get(&link).await;
    verified.assert_to("/login?m=email-verified");
    let mut signed = Visitor::new(&s);
    let done = signed.sign_in("fresh@example.com", NEW_PW, "").await;
    assert_eq!(done.status, 303, "{}", done.body);
    let seen = signed.verify().await;
    assert_eq!(seen.status(), 200);
    let user_id = seen.headers()["x-auth-user-id"]
        .to_str()
        .unwrap()
        .to_owned();
    let info = s
        .ok(
            "user-list",
            serde_json::json!({"user_id": user_id.parse::<i64>().unwrap()}),
        )
        .await;
    let me = &info["user_info"][0];
    assert_eq!(me["user_role"], "authenticated", "{me}");
    assert_eq!(me["email_verified"], true);
    // The later attempt's password did not replace this one.
    let other_pw = Visitor::new(&s)
        .sign_in("fresh@example.com", "another passphrase 2027", "")
        .await;
    assert_eq!(other_pw.status, 401);
}

/// The portal with codes by SMS through a local Twilio.
async fn sms_portal() -> (TestServer, common::fake_twilio::FakeTwilio) {
    let twilio = common::fake_twilio::FakeTwilio::start().await;
    let (url, port) = (twilio.url.clone(), free_port());
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        common::mail::twilio_at(c, url);
    })
    .await;
    (s, twilio)
}

#[tokio::test]
async fn a_code_by_sms_signs_in_where_it_was_asked_for() {
    let (s, twilio) = sms_portal().await;
    let uid = s.verified_user("sam@example.com", PW).await;
    s.edit_user(uid, serde_json::json!({"phone": "+1 201 555 0123"}))
        .await;
    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(login.body.contains("autocomplete=\"tel\""));
    let sent = v
        .post(
            "/login/sms",
            &[("csrf", &login.csrf()), ("phone", "(201) 555-0123")],
        )
        .await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(sent.body.contains("action=\"/login/sms/code\""));
    let texts = common::eventually("an SMS", || {
        Some(twilio.messages()).filter(|m| !m.is_empty())
    })
    .await;
    assert_eq!(texts[0].field("To"), Some("+12015550123"));
    let code: String = texts[0]
        .field("Body")
        .unwrap()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();

    // Typed in another browser: nothing (the attempt is this one's).
    let mut other = Visitor::new(&s);
    let elsewhere = other.get("/login").await;
    let stolen = other.post_code("/login/sms/code", &elsewhere, &code).await;
    stolen.assert_to_within("/login?m=expired");
    assert_eq!(other.verify().await.status(), 401);

    let wrong = v.post_code("/login/sms/code", &sent, "000000").await;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(wrong.body.contains("Check the text message"));
    let done = v.post_code("/login/sms/code", &wrong, &code).await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(v.verify().await.status(), 200);
}

#[tokio::test]
async fn without_an_sms_sender_no_sms_is_offered() {
    let s = portal_server().await;
    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(!login.body.contains("login/sms"));
    let asked = v
        .submit("/login/sms", &login.csrf(), &[("phone", "+12015550123")])
        .await;
    assert_eq!(asked.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_wrong_passwords_posted_at_once_get_three_comparisons_as_over_rpc() {
    let port = free_port();
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        c.lockout.user_lock_tries = 3;
        c.lockout.failed_login_delay_ms = 1000;
        c.limits.rate_limits = "none".into();
    })
    .await;
    s.verified_user("burst@example.com", PW).await;
    let hashes = || s.running().app.credentials.hasher.runs();
    let before = s.settled_hashes().await;
    // Thirty forms, each with its own pre-login session (a failed sign-in
    // ends the one it used), posted at once.
    let mut forms = Vec::new();
    for _ in 0..30 {
        let mut tab = Visitor::new(&s);
        let csrf = tab.get("/login").await.csrf();
        forms.push((tab, csrf));
    }
    let mut v = Visitor::new(&s);
    let posts = forms.into_iter().map(|(mut tab, csrf)| async move {
        let form = [
            ("csrf", csrf.as_str()),
            ("email", "burst@example.com"),
            ("password", "not the password at all"),
        ];
        tab.post("/login", &form).await.status
    });
    let statuses = futures_util::future::join_all(posts).await;
    assert!(statuses.iter().all(|&st| st == 401), "{statuses:?}");
    assert_eq!(hashes() - before, 3, "guesses compared");
    // Locked now: the right password is refused, and not compared.
    let right = v.sign_in("burst@example.com", PW, "").await;
    assert_eq!(right.status, 401, "{}", right.body);
    assert_eq!(hashes() - before, 3);
}
