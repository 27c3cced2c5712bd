//! Passkeys in the portal over plain HTTP, with webauthn-authenticator-rs's
//! software authenticator as the browser's: added from the account page
//! (fresh sign-in only), signing in with one (discoverable), one as the
//! second step of a password sign-in; the JSON endpoints' form token,
//! content type and a replayed finish refused.

mod common;

use common::visitor::{Page, Visitor, portal_server, signed_in};
use common::{PW, TestServer, free_port};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

/// The page origin the authenticator signs for (an allowed origin on the
/// RP ID `localhost`; the portal itself is reached at 127.0.0.1).
fn origin(port: u16) -> String {
    format!("http://localhost:{port}")
}

async fn server() -> (TestServer, String) {
    let port = free_port();
    let allowed = origin(port);
    let s = TestServer::start_with(move |c| {
        c.server.port = port;
        c.portal.portal = true;
        c.portal.portal_url = format!("http://127.0.0.1:{port}/");
        c.webauthn.webauthn_rp_id = "localhost".into();
        c.webauthn.webauthn_origins = allowed;
    })
    .await;
    (s, origin(port))
}

/// The script's request: JSON, from this site, with the visitor's cookies.
async fn post_json(v: &mut Visitor, path: &str, body: &Value) -> (u16, Value) {
    let page = v.post_json(path, body).await;
    let kind = page.headers.get("content-type").unwrap().to_str().unwrap();
    assert_eq!(kind, "application/json", "{}", page.body);
    assert_eq!(page.headers.get("cache-control").unwrap(), "no-store");
    (page.status, serde_json::from_str(&page.body).unwrap())
}

/// A server, a browser signed in as a new user (`email`), and a passkey
/// it added from the account page, labelled `label`.
async fn with_passkey(email: &str, label: &str) -> (TestServer, String, Visitor, SoftPasskey, i64) {
    let (s, origin) = server().await;
    let (mut v, user_id) = signed_in(&s, email).await;
    let mut a = SoftPasskey::new(true);
    add_from_account(&mut v, &mut a, &origin, label).await;
    (s, origin, v, a, user_id)
}

fn script_allowed(page: &Page) -> bool {
    page.headers
        .get("content-security-policy")
        .and_then(|c| c.to_str().ok())
        .is_some_and(|c| c.contains("script-src 'self'; connect-src 'self'"))
}

fn ceremony_cookie(v: &Visitor) -> Option<(String, String)> {
    v.jar
        .iter()
        .find(|(k, _)| k.contains("passkey"))
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// A passkey added from the account page; its credential id and user
/// handle (a browser reads them off a resident key; the software
/// authenticator keeps neither).
async fn add_from_account(
    v: &mut Visitor,
    a: &mut SoftPasskey,
    origin: &str,
    label: &str,
) -> (Value, Value) {
    let account = v.get("/account").await;
    assert!(
        account.body.contains("id=\"passkey-add\""),
        "{}",
        account.body
    );
    assert!(script_allowed(&account));
    let csrf = account.csrf();
    let (status, started) =
        post_json(v, "/account/passkeys/add/start", &json!({"csrf": csrf})).await;
    assert_eq!(status, 200, "{started}");
    assert!(
        ceremony_cookie(v).is_some(),
        "the ceremony id waits in a cookie"
    );
    assert!(started.get("ceremony_id").is_none());
    let handle = started["options"]["publicKey"]["user"]["id"].clone();
    let ccr: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("creation options");
    let reg = a
        .do_registration(Url::parse(origin).unwrap(), ccr)
        .expect("registers");
    let reg = serde_json::to_value(reg).unwrap();
    let body = json!({"csrf": csrf, "credential": reg, "label": label});
    let (status, done) = post_json(v, "/account/passkeys/add/finish", &body).await;
    assert_eq!(status, 200, "{done}");
    assert!(
        done["to"]
            .as_str()
            .unwrap()
            .ends_with("/account?m=passkey-added"),
        "{done}"
    );
    assert!(
        ceremony_cookie(v).is_none(),
        "the ceremony cookie is cleared"
    );
    (reg["rawId"].clone(), handle)
}

fn sign_with(a: &mut SoftPasskey, options: &Value, origin: &str) -> Value {
    let rcr: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
    let signed = a
        .do_authentication(Url::parse(origin).unwrap(), rcr)
        .expect("the authenticator signs");
    serde_json::to_value(signed).unwrap()
}

#[tokio::test]
async fn a_passkey_added_on_the_account_page_signs_in_with_one_click() {
    let (s, origin) = server().await;
    let email = "pk-portal@example.com";
    let (mut v, _) = signed_in(&s, email).await;

    // The form token is checked, and only JSON is taken.
    let (status, said) = post_json(
        &mut v,
        "/account/passkeys/add/start",
        &json!({"csrf": "forged"}),
    )
    .await;
    assert_eq!((status, said["error"].is_string()), (403, true), "{said}");
    let account = v.get("/account").await;
    let form = v
        .post("/account/passkeys/add/start", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(form.status, 415);
    // Another site's request is refused before anything else.
    let mut cross = v.clone();
    cross.site = "cross-site";
    let refused = cross
        .post("/account/passkeys/add/start", &[("csrf", &account.csrf())])
        .await;
    assert_eq!(refused.status, 403);

    let mut a = SoftPasskey::new(true);
    let (cred_id, handle) = add_from_account(&mut v, &mut a, &origin, "laptop").await;
    let account = v.get("/account?m=passkey-added").await;
    assert!(account.body.contains("id=\"passkeys\""), "{}", account.body);
    assert!(account.body.contains("value=\"laptop\""));
    assert!(account.body.contains("The passkey has been added"));
    assert_eq!(s.audit_count("passkey-added").await, 1);

    // Past the fresh-sign-in window: sign in again first.
    s.clock.advance(chrono::Duration::seconds(601));
    let csrf = account.csrf();
    let (status, said) = post_json(
        &mut v,
        "/account/passkeys/add/start",
        &json!({"csrf": csrf}),
    )
    .await;
    assert_eq!(status, 200);
    assert!(said.get("options").is_none(), "{said}");
    assert!(
        said["to"].as_str().unwrap().contains("m=sign-in-again"),
        "{said}"
    );

    // Signed out, the login page offers the passkey.
    let out = v.post("/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, 303);
    let login = v.get("/login?rd=%2Faccount").await;
    assert!(
        login.body.contains("id=\"passkey-login\""),
        "{}",
        login.body
    );
    assert!(login.body.contains("static/passkey.js"));
    assert!(login.body.contains("data-not-allowed=\""));
    assert!(script_allowed(&login));
    let script = v.get("/static/passkey.js").await;
    assert_eq!(script.status, 200);
    assert!(script.body.contains("navigator.credentials.get"));
    let csrf = login.csrf();

    let (status, _) = post_json(&mut v, "/login/passkey/start", &json!({"csrf": "forged"})).await;
    assert_eq!(status, 403);
    let (status, started) = post_json(&mut v, "/login/passkey/start", &json!({"csrf": csrf})).await;
    assert_eq!(status, 200, "{started}");
    // Discoverable: no address asked, no credentials listed; a browser's
    // resident key answers with its user handle.
    let mut options = started["options"].clone();
    assert!(
        options["publicKey"]["allowCredentials"]
            .as_array()
            .is_none_or(Vec::is_empty)
    );
    options["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": cred_id}]);
    let mut signed = sign_with(&mut a, &options, &origin);
    signed["response"]["userHandle"] = handle;
    let ceremony = ceremony_cookie(&v).expect("a ceremony cookie");

    let body = json!({"csrf": csrf, "rd": "/account", "credential": signed});
    let (status, forged) = post_json(
        &mut v,
        "/login/passkey/finish",
        &json!({"csrf": "forged", "credential": signed}),
    )
    .await;
    assert_eq!(status, 403, "{forged}");
    let (status, done) = post_json(&mut v, "/login/passkey/finish", &body).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["to"].as_str().unwrap().ends_with("/account"), "{done}");
    assert_eq!(v.verify().await.status(), 200, "signed in");
    let account = v.get("/account").await;
    assert!(account.body.contains(email));
    assert!(account.body.contains("passkey + mfa"), "{}", account.body);

    // The same finish again, from another browser holding the ceremony:
    // the ceremony is spent.
    let mut other = Visitor::new(&s);
    let login = other.get("/login").await;
    other.jar.insert(ceremony.0, ceremony.1);
    let body = json!({"csrf": login.csrf(), "credential": signed});
    let (status, said) = post_json(&mut other, "/login/passkey/finish", &body).await;
    assert_eq!(status, 401, "{said}");
    assert!(said["error"].as_str().unwrap().contains("over"), "{said}");
    assert_eq!(other.verify().await.status(), 401, "no session");
}

#[tokio::test]
async fn with_passkeys_off_no_page_offers_one_or_runs_script() {
    // A portal on 127.0.0.1 has no RP ID: passkeys are off.
    let s = portal_server().await;
    s.verified_user("off@example.com", PW).await;
    let mut v = Visitor::new(&s);
    let login = v.get("/login").await;
    assert!(!login.body.contains("passkey") && !script_allowed(&login));
    let started = v
        .post("/login/passkey/start", &[("csrf", &login.csrf())])
        .await;
    assert_eq!(started.status, 404);
    assert_eq!(v.get("/static/passkey.js").await.status, 200);
    assert_eq!(v.sign_in("off@example.com", PW, "").await.status, 303);
    let account = v.get("/account").await;
    assert!(!account.body.contains("passkey") && !script_allowed(&account));
}

#[tokio::test]
async fn a_passkey_is_renamed_and_removed_on_the_account_page() {
    let email = "pk-manage@example.com";
    let (s, _, mut v, _, user_id) = with_passkey(email, "").await;
    let listed = s.ok("passkey-list", json!({"user_id": user_id})).await;
    let id = listed["passkeys"][0]["passkey_id"]
        .as_str()
        .unwrap()
        .to_owned();

    let account = v.get("/account").await;
    assert!(account.body.contains(&format!("value=\"{id}\"")));
    let csrf = account.csrf();
    let renamed = v
        .submit(
            "/account/passkeys/rename",
            &csrf,
            &[("passkey_id", &id), ("label", "phone")],
        )
        .await;
    renamed.assert_to("/account?m=passkey-renamed");
    let listed = s.ok("passkey-list", json!({"user_id": user_id})).await;
    assert_eq!(listed["passkeys"][0]["label"], "phone");
    let unknown = v
        .submit("/account/passkeys/delete", &csrf, &[("passkey_id", "nope")])
        .await;
    assert_eq!(unknown.status, 404);
    let removed = v
        .submit("/account/passkeys/delete", &csrf, &[("passkey_id", &id)])
        .await;
    removed.assert_to("/account?m=passkey-removed");
    let listed = s.ok("passkey-list", json!({"user_id": user_id})).await;
    assert_eq!(listed["passkeys"], json!([]));
    let account = v.get("/account").await;
    assert!(account.body.contains("id=\"passkeys-none\""));
}

#[tokio::test]
async fn the_code_form_offers_the_passkey_as_the_second_step() {
    let email = "pk-second@example.com";
    let (s, origin, mut v, mut a, user_id) = with_passkey(email, "key").await;
    s.with_totp(user_id).await;
    let account = v.get("/account").await;
    v.post("/logout", &[("csrf", &account.csrf())]).await;

    let first = v.sign_in(email, PW, "/account").await;
    assert_eq!(first.status, 303);
    let to = first.location().to_owned();
    assert!(
        to.contains("/login/code?") && to.ends_with("passkey=1"),
        "{to}"
    );
    let code = v.get(&to).await;
    assert!(code.body.contains("id=\"passkey-second\""), "{}", code.body);
    assert!(script_allowed(&code));
    let csrf = code.csrf();
    let (status, started) =
        post_json(&mut v, "/login/code/passkey/start", &json!({"csrf": csrf})).await;
    assert_eq!(status, 200, "{started}");
    let signed = sign_with(&mut a, &started["options"], &origin);
    let body = json!({"csrf": csrf, "rd": "/account", "credential": signed});
    let (status, done) = post_json(&mut v, "/login/code/passkey/finish", &body).await;
    assert_eq!(status, 200, "{done}");
    assert!(done["to"].as_str().unwrap().ends_with("/account"), "{done}");
    assert_eq!(v.verify().await.status(), 200);
    let account = v.get("/account").await;
    assert!(
        account.body.contains("pwd + passkey + mfa"),
        "{}",
        account.body
    );

    // Without a passkey in `methods`, the code form offers none.
    let plain = s.verified_user("no-pk@example.com", PW).await;
    s.with_totp(plain).await;
    let mut w = Visitor::new(&s);
    let first = w.sign_in("no-pk@example.com", PW, "").await;
    assert!(
        !first.location().contains("passkey"),
        "{}",
        first.location()
    );
    let code = w.get(first.location()).await;
    assert!(!code.body.contains("passkey-second") && !script_allowed(&code));
}
