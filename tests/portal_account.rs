//! The account page's credentials over plain HTTP: device keys (only one's
//! own), the address (changed by a link mailed to the new one, over real
//! SMTP), recovery codes and turning two-factor off; each asks for a fresh
//! sign-in and the session's form token.

mod common;

use common::device_keys::{Device, register};
use common::visitor::{Page, Visitor, portal_on, portal_server, signed_in};
use common::{PW, TestServer, free_port, mailsink};
use serde_json::{Value, json};

async fn labels(s: &TestServer, user_id: i64) -> Vec<Value> {
    let listed = s.ok("pubkey-list", json!({"user_id": user_id})).await;
    listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["label"].clone())
        .collect()
}

#[tokio::test]
async fn device_keys_are_listed_renamed_and_removed_only_by_their_owner() {
    let s = portal_server().await;
    let me = s.verified_user("keys@example.com", PW).await;
    let them = s.verified_user("them@example.com", PW).await;
    let mine = register(&s, "keys@example.com", &Device::new(), "phone").await;
    let theirs = register(&s, "them@example.com", &Device::new(), "laptop").await;
    let mut v = Visitor::new(&s);
    v.sign_in("keys@example.com", PW, "")
        .await
        .assert_to("/account");

    let account = v.get("/account").await;
    assert!(
        account.body.contains("id=\"device-keys\""),
        "{}",
        account.body
    );
    assert!(account.body.contains(&format!("value=\"{mine}\"")));
    assert!(account.body.contains("value=\"phone\""));
    assert!(!account.body.contains(&theirs) && !account.body.contains("laptop"));
    let csrf = account.csrf();

    let done = rename_key(&mut v, &csrf, &mine, " work phone ").await;
    done.assert_to("/account?m=key-renamed");
    assert_eq!(labels(&s, me).await, [json!("work phone")]);
    let shown = v.get("/account?m=key-renamed").await;
    assert!(shown.body.contains("value=\"work phone\""));
    assert!(shown.body.contains("The device key has been renamed."));

    // Another user's key is no key of this account, renamed or removed.
    let refused = rename_key(&mut v, &csrf, &theirs, "mine now").await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("There is no such device key on your account.")
    );
    let refused = v
        .submit("/account/keys/delete", &csrf, &[("key_id", &theirs)])
        .await;
    assert_eq!(refused.status, 404);
    assert_eq!(
        labels(&s, them).await,
        [json!("laptop")],
        "theirs untouched"
    );

    let too_long = "x".repeat(201);
    let refused = rename_key(&mut v, &csrf, &mine, &too_long).await;
    assert_eq!(refused.status, 422);
    assert_eq!(labels(&s, me).await, [json!("work phone")]);

    let removed = v
        .submit("/account/keys/delete", &csrf, &[("key_id", &mine)])
        .await;
    removed.assert_to("/account?m=key-removed");
    assert!(labels(&s, me).await.is_empty());
    let account = v.get("/account").await;
    assert!(account.body.contains("id=\"device-keys-none\""));
    assert_eq!(labels(&s, them).await.len(), 1);
}

/// How many sessions an account page lists.
fn sessions_listed(account: &Page) -> usize {
    let at = account.body.find("id=\"sessions\"").unwrap();
    let table = account.body[at..].split("</table>").next().unwrap();
    table.matches("<tr").count() - 1
}

/// Every credential form of the account page, with what it sends besides
/// the token.
const CHANGES: [(&str, &str, &str); 5] = [
    ("/account/keys/rename", "label", "renamed"),
    ("/account/keys/delete", "label", ""),
    ("/account/email", "email", "moved@example.com"),
    ("/account/totp/recovery", "code", "000000"),
    ("/account/totp/off", "code", "000000"),
];

#[tokio::test]
async fn every_change_needs_a_fresh_sign_in_and_the_sessions_own_form() {
    let s = portal_server().await;
    let me = s.verified_user("fresh@example.com", PW).await;
    let key = register(&s, "fresh@example.com", &Device::new(), "phone").await;
    let mut v = Visitor::new(&s);
    assert_eq!(v.sign_in("fresh@example.com", PW, "").await.status, 303);
    let csrf = v.get("/account").await.csrf();

    // Forged or cross-site forms are refused before anything is asked.
    let mut other = Visitor::new(&s);
    let their_csrf = other.get("/login").await.csrf();
    for (path, field, value) in CHANGES {
        for token in ["0000", their_csrf.as_str()] {
            let forged = v
                .submit(path, token, &[("key_id", &key), (field, value)])
                .await;
            assert_eq!(forged.status, 403, "{path}: {}", forged.body);
        }
        v.site = "cross-site";
        let cross = v
            .submit(path, &csrf, &[("key_id", &key), (field, value)])
            .await;
        assert_eq!(cross.status, 403, "{path}");
        v.site = "same-origin";
    }
    assert_eq!(labels(&s, me).await, [json!("phone")], "nothing changed");

    // Past the fresh-sign-in window: sign in again, and back here after.
    s.clock.advance(chrono::Duration::seconds(601));
    let stale_page = v.get("/account").await;
    let csrf = stale_page.csrf();
    let mut again = String::new();
    for (path, field, value) in CHANGES {
        let stale = v
            .submit(path, &csrf, &[("key_id", &key), (field, value)])
            .await;
        assert_eq!(stale.status, 303, "{path}: {}", stale.body);
        assert!(
            stale.location().contains("/login?m=sign-in-again&rd="),
            "{path}: {}",
            stale.location()
        );
        again = stale.location().to_owned();
    }
    assert_eq!(labels(&s, me).await, [json!("phone")], "nothing changed");
    // Still signed in, the page asked for shows the form (not a redirect
    // back); signing in there replaces this browser's session.
    let form = v.get(&again).await;
    assert_eq!(form.status, 200, "{}", form.location());
    assert!(form.body.contains("sign in again before changing"));
    let done = v
        .submit(
            "/login",
            &form.csrf(),
            &[
                ("email", "fresh@example.com"),
                ("password", PW),
                ("rd", "/account"),
            ],
        )
        .await;
    done.assert_to("/account");
    let account = v.get("/account").await;
    assert_eq!(
        sessions_listed(&account),
        sessions_listed(&stale_page),
        "the new session replaced the old"
    );
    let csrf = account.csrf();
    let renamed = rename_key(&mut v, &csrf, &key, "renamed").await;
    assert_eq!(renamed.status, 303, "{}", renamed.body);
    assert_eq!(labels(&s, me).await, [json!("renamed")]);
}

/// The account page's rename of device key `key`.
async fn rename_key(v: &mut Visitor, csrf: &str, key: &str, label: &str) -> Page {
    let fields = [("key_id", key), ("label", label)];
    v.submit("/account/keys/rename", csrf, &fields).await
}

async fn mail_server() -> (TestServer, mailsink::MailSink) {
    TestServer::with_mail_and(portal_on(free_port())).await
}

/// The recipient and the portal path of the link in the `n`th message.
async fn mailed_link(sink: &mailsink::MailSink, n: usize, base: &str) -> (String, String) {
    let mail = mailsink::parse(&sink.wait_for(n).await);
    let to = mail.header("to").unwrap_or_default().to_owned();
    let prefix = format!("{base}account/email/verify?token=");
    let link = mail
        .text
        .split_whitespace()
        .find(|w| w.starts_with(&prefix))
        .unwrap_or_else(|| panic!("a link in {}", mail.text));
    (to, link.strip_prefix(base).unwrap().to_owned())
}

/// The link with one character of its token changed.
fn tamper(link: &str) -> String {
    let at = link.find("token=").unwrap() + 20;
    let was = link.as_bytes()[at];
    let now = if was == b'A' { "B" } else { "A" };
    format!("{}{now}{}", &link[..at], &link[at + 1..])
}

fn shown_email(page: &Page) -> String {
    let at = page.body.find("id=\"account-email\">").unwrap() + 19;
    page.body[at..].split('<').next().unwrap().to_owned()
}

/// Asks for `to` on the account page of `v`; the page said.
async fn ask_for(v: &mut Visitor, to: &str) -> Page {
    let csrf = v.get("/account").await.csrf();
    v.submit("/account/email", &csrf, &[("email", to)]).await
}

#[tokio::test]
async fn a_new_address_counts_once_the_link_mailed_to_it_is_opened() {
    let (s, sink) = mail_server().await;
    s.verified_user("old@example.com", PW).await;
    s.verified_user("taken@example.com", PW).await;
    let mut v = Visitor::new(&s);
    assert_eq!(v.sign_in("old@example.com", PW, "").await.status, 303);
    let account = v.get("/account").await;
    assert!(account.body.contains("autocomplete=\"email\""));

    let sent = ask_for(&mut v, "New@Example.com").await;
    assert_eq!(sent.status, 200, "{}", sent.body);
    assert!(
        sent.body.contains("We sent a link to new@example.com."),
        "{}",
        sent.body
    );
    let (to, link) = mailed_link(&sink, 1, &s.url()).await;
    assert!(to.contains("new@example.com"), "to the new address: {to}");
    // Nothing changed yet.
    assert_eq!(shown_email(&v.get("/account").await), "old@example.com");
    assert!(s.login("new@example.com", PW).await.is_err());

    // Not signed in: sign in first, then back to the link.
    let mut anon = Visitor::new(&s);
    let asked = anon.get(&link).await;
    assert_eq!(asked.status, 303);
    assert!(
        asked
            .location()
            .contains("/login?rd=%2Faccount%2Femail%2Fverify%3Ftoken%3D"),
        "{}",
        asked.location()
    );
    // Signed in there, as another account, back at the link: not theirs.
    s.verified_user("else@example.com", PW).await;
    let mut elsewhere = anon;
    let form = elsewhere.get(asked.location()).await;
    let field = "name=\"rd\" value=\"";
    let at = form.body.find(field).unwrap() + field.len();
    let rd = form.body[at..].split('"').next().unwrap().to_owned();
    let back = elsewhere
        .submit(
            "/login",
            &form.csrf(),
            &[("email", "else@example.com"), ("password", PW), ("rd", &rd)],
        )
        .await;
    assert_eq!(back.location(), format!("{}{link}", s.url()));
    assert_eq!(elsewhere.get(&link).await.status, 400);
    assert_eq!(
        shown_email(&elsewhere.get("/account").await),
        "else@example.com"
    );
    // A token changed by a character does not open.
    let tampered = tamper(&link);
    assert_eq!(v.get(&tampered).await.status, 400);

    let opened = v.get(&link).await;
    opened.assert_to("/account?m=email-changed");
    assert_eq!(shown_email(&v.get("/account").await), "new@example.com");
    assert!(s.login("new@example.com", PW).await.is_ok());
    assert!(s.login("old@example.com", PW).await.is_err());
    let verified = s
        .ok("user-lookup-email", json!({"email": "new@example.com"}))
        .await;
    assert_eq!(verified["user_info"]["email_verified"], true, "{verified}");
    // Once.
    let again = v.get(&link).await;
    assert_eq!(again.status, 400);
    assert!(again.body.contains("Your address has not changed."));

    // Another account's address: the request says the same as any; the
    // link, opened, says it is taken and changes nothing.
    let sent = ask_for(&mut v, "taken@example.com").await;
    assert_eq!(sent.status, 200);
    assert!(sent.body.contains("We sent a link to taken@example.com."));
    let (to, link) = mailed_link(&sink, 2, &s.url()).await;
    assert!(to.contains("taken@example.com"));
    assert_eq!(v.get(&link).await.status, 409);
    assert_eq!(shown_email(&v.get("/account").await), "new@example.com");

    // A link expires within the hour.
    ask_for(&mut v, "later@example.com").await;
    let (_, link) = mailed_link(&sink, 3, &s.url()).await;
    s.clock.advance(chrono::Duration::minutes(61));
    let mut later = Visitor::new(&s);
    assert_eq!(later.sign_in("new@example.com", PW, "").await.status, 303);
    assert_eq!(later.get(&link).await.status, 400);
    assert_eq!(shown_email(&later.get("/account").await), "new@example.com");
}

/// A password and `code` sign-in in a new visitor: the second step's status.
async fn second_factor(s: &TestServer, email: &str, code: &str) -> (Visitor, u16) {
    let mut v = Visitor::new(s);
    let asked = v.sign_in(email, PW, "").await;
    asked.assert_to("/login/code");
    let form = v.get("/login/code").await;
    let status = v.post_code("/login/code", &form, code).await.status;
    (v, status)
}

/// The codes a recovery page lists, and those its download link carries.
fn codes_of(page: &Page) -> (Vec<String>, Vec<String>) {
    let listed = page
        .body
        .split("<li><code>")
        .skip(1)
        .map(|c| c.split('<').next().unwrap().to_owned())
        .collect();
    let href = "download=\"recovery-codes.txt\" href=\"data:text/plain;charset=utf-8,";
    let at = page.body.find(href).expect("a download link") + href.len();
    let data = page.body[at..].split('"').next().unwrap();
    let file: String = url::form_urlencoded::parse(format!("f={data}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    (listed, file.lines().map(str::to_owned).collect())
}

#[tokio::test]
async fn regenerated_recovery_codes_replace_the_old_ones_and_two_factor_turns_off() {
    let s = portal_server().await;
    let uid = s.verified_user("codes@example.com", PW).await;
    let started = s.ok("totp-enroll-start", json!({"user_id": uid})).await;
    let secret = common::totp::secret_of(started["secret"].as_str().unwrap());
    let finished = s
        .ok(
            "totp-enroll-finish",
            json!({"user_id": uid, "code": s.totp_code(&secret, 0)}),
        )
        .await;
    let old: Vec<String> = serde_json::from_value(finished["recovery_codes"].clone()).unwrap();
    let (mut v, status) = second_factor(&s, "codes@example.com", &s.totp_code(&secret, 1)).await;
    assert_eq!(status, 303);

    let account = v.get("/account").await;
    assert!(account.body.contains("id=\"recovery-regenerate\""));
    let wrong = v
        .post_code("/account/totp/recovery", &account, "000000")
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(!wrong.body.contains("<li><code>"));
    let page = v
        .post_code("/account/totp/recovery", &account, &old[0])
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The old ones no longer work."));
    let (new, downloaded) = codes_of(&page);
    assert_eq!(new.len(), 10);
    assert_eq!(downloaded, new, "the download holds the codes shown");
    assert!(new.iter().all(|c| !old.contains(c)));

    // An old code no longer signs in; a new one does, once.
    assert_eq!(second_factor(&s, "codes@example.com", &old[1]).await.1, 401);
    let (signed_in, status) = second_factor(&s, "codes@example.com", &new[0]).await;
    assert_eq!(status, 303);
    assert_eq!(signed_in.verify().await.status(), 200);
    assert_eq!(second_factor(&s, "codes@example.com", &new[0]).await.1, 401);

    // Turning it off wants a working code too.
    let account = v.get("/account").await;
    let refused = v.post_code("/account/totp/off", &account, &old[2]).await;
    assert_eq!(refused.status, 422);
    let off = v.post_code("/account/totp/off", &account, &new[1]).await;
    off.assert_to("/account?m=totp-off");
    let plain = Visitor::new(&s).sign_in("codes@example.com", PW, "").await;
    plain.assert_to("/account");
}

#[tokio::test]
async fn the_set_up_pages_codes_download_as_a_text_file() {
    let s = portal_server().await;
    let (mut v, _) = signed_in(&s, "setup@example.com").await;
    let account = v.get("/account").await;
    let started = v.post("/account/totp", &[("csrf", &account.csrf())]).await;
    let at = started.body.find("id=\"totp-secret\">").unwrap() + 17;
    let secret = common::totp::secret_of(started.body[at..].split('<').next().unwrap());
    let on = v
        .post_code("/account/totp/confirm", &started, &s.totp_code(&secret, 0))
        .await;
    let (listed, downloaded) = codes_of(&on);
    assert_eq!(listed.len(), 10);
    assert_eq!(downloaded, listed);
}
