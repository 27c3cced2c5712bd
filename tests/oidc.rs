//! The OpenID Connect provider over HTTP: discovery and keys, the code flow
//! through the portal's sign-in and consent, the token endpoint's refusals
//! (each with the error code the specifications name) and userinfo. Clients
//! are registered with the real `authnzd client add`.

mod common;

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::cli::{authnzd, json_of, write_config};
use common::visitor::{Page, Visitor, portal_on, signed_in};
use common::{PW, TestServer, free_port};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const CB: &str = "http://127.0.0.1:9/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

async fn provider() -> TestServer {
    let port = free_port();
    TestServer::start_with(move |c| {
        portal_on(port)(c);
        c.oidc.oidc = true;
    })
    .await
}

/// `authnzd client add ID ARGS… --json`: the client as printed (with its
/// secret unless public).
async fn register(s: &TestServer, id: &str, args: &[&str]) -> Value {
    let config = write_config(s, &s.key, "portal = true\noidc = true");
    let mut all = vec!["client", "add", id, "--json"];
    all.extend_from_slice(args);
    json_of(&authnzd(&config, &all, None).await, "client add")
}

/// A confidential client with redirect URI `CB`; its secret.
async fn confidential(s: &TestServer, id: &str, extra: &[&str]) -> String {
    let mut args = vec!["--redirect-uri", CB];
    args.extend_from_slice(extra);
    let made = register(s, id, &args).await;
    made["client_secret"].as_str().unwrap().to_owned()
}

fn challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// An authorization request's query: `client_id`, `CB`, the code flow with
/// PKCE for `VERIFIER`, and `more` on top (an empty value drops a field).
fn query(client_id: &str, more: &[(&str, &str)]) -> String {
    let ch = challenge(VERIFIER);
    let mut fields: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", CB),
        ("scope", "openid profile email groups"),
        ("state", "st-1"),
        ("nonce", "n-1"),
        ("code_challenge", &ch),
        ("code_challenge_method", "S256"),
    ];
    for (k, v) in more {
        fields.retain(|(f, _)| f != k);
        if !v.is_empty() {
            fields.push((k, v));
        }
    }
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// The query of a URL (or of the portal's return link), as a map.
fn params_of(url: &str) -> HashMap<String, String> {
    let url = url::Url::parse(url).unwrap();
    url.query_pairs().into_owned().collect()
}

/// Where the portal sends the browser back to the client: a 303, or (after
/// a form of its own) the return page's link.
fn returned(page: &Page) -> HashMap<String, String> {
    if page.status == 303 {
        assert!(page.location().starts_with(CB), "{}", page.location());
        return params_of(page.location());
    }
    assert_eq!(page.status, 200, "{}", page.body);
    let at = page
        .body
        .find("id=\"oidc-return\" href=\"")
        .expect("return link")
        + 23;
    let link = unescape(page.body[at..].split('"').next().unwrap());
    assert!(link.starts_with(CB), "{link}");
    params_of(&link)
}

/// A signed-in browser's way through authorize (and consent when asked):
/// the parameters it brings back to the client.
async fn authorize(
    v: &mut Visitor,
    client_id: &str,
    more: &[(&str, &str)],
) -> HashMap<String, String> {
    let page = v
        .get(&format!("/oidc/authorize?{}", query(client_id, more)))
        .await;
    if page.status == 200 && page.body.contains("id=\"consent-allow\"") {
        let request = field(&page, "request");
        let done = v
            .submit(
                "/oidc/consent",
                &page.csrf(),
                &[("request", &request), ("answer", "allow")],
            )
            .await;
        return returned(&done);
    }
    returned(&page)
}

/// A hidden field's value, unescaped.
fn field(page: &Page, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let at = page.body.find(&marker).expect("field") + marker.len();
    unescape(page.body[at..].split('"').next().unwrap())
}

/// HTML character references back to characters (askama writes `&#38;`).
fn unescape(raw: &str) -> String {
    let mut out = String::new();
    let mut rest = raw;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let end = rest[at..].find(';').expect("a reference ends") + at;
        let name = &rest[at + 1..end];
        let c = match name {
            "amp" => '&',
            "quot" => '"',
            "lt" => '<',
            "gt" => '>',
            _ => {
                let code = match name.strip_prefix("#x") {
                    Some(hex) => u32::from_str_radix(hex, 16).unwrap(),
                    None => name.trim_start_matches('#').parse().unwrap(),
                };
                char::from_u32(code).unwrap()
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    out
}

/// Asserts a token-endpoint answer is the error `error` with `status`.
#[track_caller]
fn assert_error(answer: &(u16, Value), status: u16, error: &str) {
    let (got, body) = answer;
    assert_eq!(
        (*got, body["error"].as_str()),
        (status, Some(error)),
        "{body}"
    );
}

/// `POST /oidc/token` with `form` and, when given, HTTP Basic credentials.
async fn token(s: &TestServer, form: &[(&str, &str)], basic: Option<(&str, &str)>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http.post(format!("{}oidc/token", s.url())).form(form);
    if let Some((id, secret)) = basic {
        req = req.basic_auth(id, Some(secret));
    }
    let res = req.send().await.unwrap();
    let status = res.status().as_u16();
    assert_eq!(res.headers()["cache-control"], "no-store");
    (status, res.json().await.unwrap())
}

async fn redeem(s: &TestServer, code: &str, id: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
    ];
    token(s, &form, Some((id, secret))).await
}

async fn userinfo(s: &TestServer, access_token: &str) -> (u16, Value) {
    let res = reqwest::Client::new()
        .get(format!("{}oidc/userinfo", s.url()))
        .bearer_auth(access_token)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

async fn system_id(s: &TestServer, email: &str) -> String {
    let found = s.ok("user-lookup-email", json!({"email": email})).await;
    found["user_info"]["system_id"].as_str().unwrap().to_owned()
}

/// The claims of an id token, its signature checked against the JWKS the
/// discovery document names.
async fn verified_id_token(s: &TestServer, id_token: &str, aud: &str) -> Value {
    let http = reqwest::Client::new();
    let discovery: Value = http
        .get(format!("{}.well-known/openid-configuration", s.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks: jsonwebtoken::jwk::JwkSet = http
        .get(discovery["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    assert_eq!(header.alg, jsonwebtoken::Algorithm::RS256);
    let jwk = jwks
        .find(header.kid.as_deref().unwrap())
        .expect("kid published");
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    let mut v = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    v.set_audience(&[aud]);
    v.set_issuer(&[discovery["issuer"].as_str().unwrap()]);
    jsonwebtoken::decode::<Value>(id_token, &key, &v)
        .expect("id token verifies")
        .claims
}

#[tokio::test]
async fn discovery_names_the_endpoints_under_the_issuer_and_only_what_is_supported() {
    let s = provider().await;
    let http = reqwest::Client::new();
    let res = http
        .get(format!("{}.well-known/openid-configuration", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let d: Value = res.json().await.unwrap();
    let issuer = s.url().trim_end_matches('/').to_owned();
    assert_eq!(d["issuer"], issuer.as_str());
    for (field, path) in [
        ("authorization_endpoint", "/oidc/authorize"),
        ("token_endpoint", "/oidc/token"),
        ("userinfo_endpoint", "/oidc/userinfo"),
        ("jwks_uri", "/oidc/jwks"),
    ] {
        assert_eq!(d[field], format!("{issuer}{path}").as_str(), "{field}");
    }
    assert_eq!(d["response_types_supported"], json!(["code"]));
    assert_eq!(d["response_modes_supported"], json!(["query", "form_post"]));
    assert_eq!(
        d["grant_types_supported"],
        json!(["authorization_code", "refresh_token"])
    );
    assert_eq!(
        d["end_session_endpoint"],
        format!("{issuer}/oidc/logout").as_str()
    );
    assert_eq!(d["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(d["subject_types_supported"], json!(["public"]));
    assert_eq!(d["id_token_signing_alg_values_supported"], json!(["RS256"]));
    assert_eq!(d["authorization_response_iss_parameter_supported"], true);
    for method in ["client_secret_basic", "client_secret_post", "none"] {
        let methods = d["token_endpoint_auth_methods_supported"]
            .as_array()
            .unwrap();
        assert!(methods.contains(&json!(method)), "{method}");
    }
    for scope in ["openid", "profile", "email", "groups"] {
        assert!(
            d["scopes_supported"]
                .as_array()
                .unwrap()
                .contains(&json!(scope))
        );
    }
    let jwks: Value = http
        .get(d["jwks_uri"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rsa: Vec<&Value> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["kty"] == "RSA")
        .collect();
    assert_eq!(rsa.len(), 1, "{jwks}");
    assert_eq!(rsa[0]["alg"], "RS256");
    assert!(rsa[0].get("d").is_none(), "no private part");

    // The same key after a restart: it is stored, not made per process.
    let mut s = s;
    let kid = rsa[0]["kid"].clone();
    s.restart().await;
    let again: Value = http
        .get(format!("{}oidc/jwks", s.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        again["keys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["kid"] == kid)
    );
}

#[tokio::test]
async fn a_confidential_client_signs_a_user_in_after_consent() {
    let s = provider().await;
    let secret = confidential(&s, "wiki", &["--name", "The Wiki"]).await;
    let (mut v, _) = signed_in(&s, "ana@example.com").await;
    let sub = system_id(&s, "ana@example.com").await;

    let page = v
        .get(&format!("/oidc/authorize?{}", query("wiki", &[])))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("The Wiki"));
    assert!(page.body.contains("see your verified email address"));
    let request = field(&page, "request");
    let done = v
        .submit(
            "/oidc/consent",
            &page.csrf(),
            &[("request", &request), ("answer", "allow")],
        )
        .await;
    let back = returned(&done);
    assert_eq!(back["state"], "st-1");
    assert_eq!(back["iss"], s.url().trim_end_matches('/'));
    // The return page may only post to the client's own origin.
    assert!(
        done.headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );

    let (status, tokens) = redeem(&s, &back["code"], "wiki", &secret).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["scope"], "openid profile email groups");
    let claims = verified_id_token(&s, tokens["id_token"].as_str().unwrap(), "wiki").await;
    assert_eq!(claims["sub"], sub.as_str(), "the system id, not the row id");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(claims["azp"], "wiki");
    assert_eq!(claims["email"], "ana@example.com");
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["groups"], json!(["authenticated"]));
    assert_eq!(claims["amr"], json!(["pwd"]));
    assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());

    let (status, info) = userinfo(&s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{info}");
    assert_eq!(info["sub"], sub.as_str());
    assert_eq!(info["email"], "ana@example.com");

    // Agreed once, the next sign-in asks nothing: straight back.
    let page = v
        .get(&format!("/oidc/authorize?{}", query("wiki", &[])))
        .await;
    assert_eq!(page.status, 303, "{}", page.body);
    assert!(params_of(page.location()).contains_key("code"));
    // More scopes than agreed to: asked again.
    let page = v
        .get(&format!(
            "/oidc/authorize?{}",
            query("wiki", &[("scope", "openid")])
        ))
        .await;
    assert_eq!(page.status, 303, "a subset needs nothing new");
    let page = v
        .get(&format!(
            "/oidc/authorize?{}",
            query("wiki", &[("prompt", "consent")])
        ))
        .await;
    assert!(
        page.body.contains("id=\"consent-allow\""),
        "prompt=consent asks"
    );
}

#[tokio::test]
async fn an_unverified_address_is_not_asserted() {
    let s = provider().await;
    let secret = confidential(&s, "app", &["--first-party"]).await;
    let (mut v, user_id) = signed_in(&s, "una@example.com").await;
    s.edit_user(user_id, json!({"email_verified": false})).await;
    let back = authorize(&mut v, "app", &[]).await;
    let (status, tokens) = redeem(&s, &back["code"], "app", &secret).await;
    assert_eq!(status, 200, "{tokens}");
    let claims = verified_id_token(&s, tokens["id_token"].as_str().unwrap(), "app").await;
    assert!(claims.get("email").is_none(), "{claims}");
    assert!(claims.get("preferred_username").is_none(), "{claims}");
    let (_, info) = userinfo(&s, tokens["access_token"].as_str().unwrap()).await;
    assert!(info.get("email").is_none(), "{info}");
    assert!(info.get("sub").is_some(), "{info}");
}

#[tokio::test]
async fn a_code_is_good_once_for_its_client_redirect_and_verifier() {
    let s = provider().await;
    let secret = confidential(&s, "one", &["--first-party"]).await;
    let other = confidential(&s, "two", &["--first-party"]).await;
    let (mut v, _) = signed_in(&s, "bo@example.com").await;

    // Another client's code, a wrong redirect URI, a wrong verifier: each
    // invalid_grant — and each spends the code.
    let code = authorize(&mut v, "one", &[]).await["code"].clone();
    assert_error(
        &redeem(&s, &code, "two", &other).await,
        400,
        "invalid_grant",
    );
    let (status, _) = redeem(&s, &code, "one", &secret).await;
    assert_eq!(status, 400, "spent by the attempt");

    let code = authorize(&mut v, "one", &[]).await["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/other"),
        ("code_verifier", VERIFIER),
    ];
    assert_error(
        &token(&s, &form, Some(("one", &secret))).await,
        400,
        "invalid_grant",
    );

    let code = authorize(&mut v, "one", &[]).await["code"].clone();
    let wrong = "x".repeat(43);
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", wrong.as_str()),
    ];
    assert_error(
        &token(&s, &form, Some(("one", &secret))).await,
        400,
        "invalid_grant",
    );

    // A wrong secret: invalid_client, 401, and the code is not spent.
    let code = authorize(&mut v, "one", &[]).await["code"].clone();
    assert_error(
        &redeem(&s, &code, "one", "not-the-secret").await,
        401,
        "invalid_client",
    );
    assert_error(
        &redeem(&s, &code, "nobody", &secret).await,
        401,
        "invalid_client",
    );
    // The secret in the form works too (client_secret_post); both at once not.
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("code_verifier", VERIFIER),
        ("client_id", "one"),
        ("client_secret", secret.as_str()),
    ];
    assert_error(
        &token(&s, &form, Some(("one", &secret))).await,
        400,
        "invalid_request",
    );
    let (status, first) = token(&s, &form, None).await;
    assert_eq!(status, 200, "{first}");

    // Redeemed again: refused, and what the first redemption issued stops
    // working.
    let access = first["access_token"].as_str().unwrap();
    assert_eq!(userinfo(&s, access).await.0, 200);
    assert_error(&token(&s, &form, None).await, 400, "invalid_grant");
    assert_eq!(userinfo(&s, access).await.0, 401, "revoked by the replay");

    // Many redemptions at once: one wins.
    let code = authorize(&mut v, "one", &[]).await["code"].clone();
    let tries = (0..8).map(|_| redeem(&s, &code, "one", &secret));
    let results = futures_util::future::join_all(tries).await;
    let won = results.iter().filter(|(status, _)| *status == 200).count();
    assert_eq!(won, 1, "{results:?}");

    // Unknown grant types and codes.
    assert_error(
        &token(&s, &[("grant_type", "password")], Some(("one", &secret))).await,
        400,
        "unsupported_grant_type",
    );
    assert_error(
        &redeem(&s, "no-such-code", "one", &secret).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_code_expires() {
    let s = provider().await;
    let secret = confidential(&s, "slow", &["--first-party"]).await;
    let (mut v, _) = signed_in(&s, "cy@example.com").await;
    let code = authorize(&mut v, "slow", &[]).await["code"].clone();
    s.clock.advance(chrono::Duration::seconds(61));
    assert_error(
        &redeem(&s, &code, "slow", &secret).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_public_client_must_use_pkce_s256() {
    let s = provider().await;
    register(
        &s,
        "spa",
        &["--public", "--first-party", "--redirect-uri", CB],
    )
    .await;
    let (mut v, _) = signed_in(&s, "di@example.com").await;

    for (more, why) in [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "no PKCE",
        ),
        (
            vec![
                ("code_challenge_method", "plain"),
                ("code_challenge", VERIFIER),
            ],
            "plain",
        ),
        (vec![("code_challenge", "short")], "not S256-shaped"),
    ] {
        let back = authorize(&mut v, "spa", &more).await;
        assert_eq!(back["error"], "invalid_request", "{why}: {back:?}");
        assert_eq!(back["state"], "st-1", "{why}");
        assert!(!back.contains_key("code"), "{why}");
    }
    // With PKCE, a public client redeems with its id and verifier only.
    let code = authorize(&mut v, "spa", &[]).await["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("client_id", "spa"),
    ];
    assert_error(&token(&s, &form, None).await, 400, "invalid_grant");
    let code = authorize(&mut v, "spa", &[]).await["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", CB),
        ("client_id", "spa"),
        ("code_verifier", VERIFIER),
    ];
    let (status, tokens) = token(&s, &form, None).await;
    assert_eq!(status, 200, "{tokens}");
    // A public client presenting a secret is not authenticated by it.
    assert_error(
        &token(&s, &form, Some(("spa", "made-up"))).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn an_unknown_client_or_redirect_is_shown_never_followed() {
    let s = provider().await;
    confidential(&s, "known", &[]).await;
    let (mut v, _) = signed_in(&s, "ed@example.com").await;
    for q in [
        query("unknown", &[]),
        query("known", &[("redirect_uri", "https://evil.example/cb")]),
        query("known", &[("redirect_uri", "http://127.0.0.1:9/cb/")]),
        query("known", &[("redirect_uri", "")]),
    ] {
        let page = v.get(&format!("/oidc/authorize?{q}")).await;
        assert_eq!(page.status, 400, "{q}");
        assert!(page.location().is_empty(), "{q}");
        assert!(page.body.contains("class=\"error\"") || page.body.contains("id=\"message\""));
    }
    // Known client and URI: errors go back to it.
    let back = authorize(&mut v, "known", &[("response_type", "token")]).await;
    assert_eq!(back["error"], "unsupported_response_type");
    let back = authorize(&mut v, "known", &[("scope", "profile")]).await;
    assert_eq!(back["error"], "invalid_scope");
    let back = authorize(&mut v, "known", &[("request", "eyJ")]).await;
    assert_eq!(back["error"], "request_not_supported");
}

#[tokio::test]
async fn prompt_none_and_prompt_login() {
    let s = provider().await;
    confidential(&s, "quiet", &["--first-party"]).await;
    let mut anon = Visitor::new(&s);
    let back = authorize(&mut anon, "quiet", &[("prompt", "none")]).await;
    assert_eq!(back["error"], "login_required");
    assert_eq!(back["state"], "st-1");

    // Not signed in: to the login page, and back to authorize after.
    let page = anon
        .get(&format!("/oidc/authorize?{}", query("quiet", &[])))
        .await;
    page.assert_to_within("/login?rd=%2Foidc%2Fauthorize%3F");
    s.verified_user("fay@example.com", PW).await;
    let rd = params_of(&format!(
        "{}{}",
        s.url(),
        page.location().trim_start_matches('/')
    ))["rd"]
        .clone();
    let done = anon.sign_in("fay@example.com", PW, &rd).await;
    done.assert_to_within("/oidc/authorize?");
    let page = anon.get(done.location().trim_start_matches(&s.url())).await;
    let back = returned(&page);
    assert!(back.contains_key("code"), "{back:?}");

    // prompt=login: the login form again, even signed in; then back with
    // a code only for that fresh sign-in.
    s.clock.advance(chrono::Duration::seconds(5));
    let page = anon
        .get(&format!(
            "/oidc/authorize?{}",
            query("quiet", &[("prompt", "login")])
        ))
        .await;
    page.assert_to_within("m=sign-in-again");
    page.assert_to_within("auth_after");
    let form = anon.get(page.location()).await;
    assert_eq!(
        form.status,
        200,
        "the form, not a redirect: {}",
        form.location()
    );
    let rd = params_of(&format!(
        "{}{}",
        s.url(),
        page.location().trim_start_matches('/')
    ))["rd"]
        .clone();
    let stale = anon.get(&rd).await;
    stale.assert_to_within("m=sign-in-again");
    let fields = [
        ("email", "fay@example.com"),
        ("password", PW),
        ("rd", rd.as_str()),
    ];
    let done = anon.submit("/login", &form.csrf(), &fields).await;
    done.assert_to_within("/oidc/authorize?");
    let page = anon.get(done.location().trim_start_matches(&s.url())).await;
    assert!(returned(&page).contains_key("code"));
    // max_age: a sign-in older than it is asked again.
    s.clock.advance(chrono::Duration::seconds(120));
    let page = anon
        .get(&format!(
            "/oidc/authorize?{}",
            query("quiet", &[("max_age", "60")])
        ))
        .await;
    page.assert_to_within("m=sign-in-again");
    let back = authorize(&mut anon, "quiet", &[("max_age", "600")]).await;
    assert!(back.contains_key("code"), "{back:?}");
}

#[tokio::test]
async fn roles_locks_and_denials_end_in_no_tokens() {
    let s = provider().await;
    let secret = confidential(&s, "staffonly", &["--first-party", "--role", "staff"]).await;
    let open = confidential(&s, "open", &["--first-party"]).await;
    let (mut v, user_id) = signed_in(&s, "gus@example.com").await;

    let back = authorize(&mut v, "staffonly", &[]).await;
    assert_eq!(back["error"], "access_denied", "{back:?}");
    s.edit_user(user_id, json!({"user_role": "staff"})).await;
    let code = authorize(&mut v, "staffonly", &[]).await["code"].clone();
    // The role taken away between the code and its redemption.
    s.edit_user(user_id, json!({"user_role": "authenticated"}))
        .await;
    assert_error(
        &redeem(&s, &code, "staffonly", &secret).await,
        400,
        "invalid_grant",
    );

    // Tokens issued, then the account locked: userinfo refuses.
    let code = authorize(&mut v, "open", &[]).await["code"].clone();
    let (status, tokens) = redeem(&s, &code, "open", &open).await;
    assert_eq!(status, 200);
    s.lock_user(user_id, "lock").await;
    let (status, _) = userinfo(&s, tokens["access_token"].as_str().unwrap()).await;
    assert_eq!(status, 401);

    // Consent denied: access_denied back to the client.
    let (mut w, _) = signed_in(&s, "hal@example.com").await;
    confidential(&s, "asks", &[]).await;
    let page = w
        .get(&format!("/oidc/authorize?{}", query("asks", &[])))
        .await;
    let request = field(&page, "request");
    let done = w
        .submit(
            "/oidc/consent",
            &page.csrf(),
            &[("request", &request), ("answer", "deny")],
        )
        .await;
    let back = if done.status == 303 {
        params_of(done.location())
    } else {
        returned(&done)
    };
    assert_eq!(back["error"], "access_denied");
    // A consent form without its CSRF token does nothing.
    let forged = w
        .submit(
            "/oidc/consent",
            "forged",
            &[("request", &request), ("answer", "allow")],
        )
        .await;
    assert_eq!(forged.status, 403);
}

#[tokio::test]
async fn the_client_command_registers_rotates_and_deletes() {
    let s = provider().await;
    let config = write_config(&s, &s.key, "portal = true\noidc = true");
    let first = confidential(&s, "rot", &["--first-party"]).await;
    let bad = authnzd(
        &config,
        &["client", "add", "bad id", "--redirect-uri", CB],
        None,
    )
    .await;
    assert!(!bad.status.success());
    let bad = authnzd(
        &config,
        &[
            "client",
            "add",
            "plain",
            "--redirect-uri",
            "http://example.com/cb",
        ],
        None,
    )
    .await;
    assert!(!bad.status.success(), "http off loopback");
    let again = authnzd(
        &config,
        &["client", "add", "rot", "--redirect-uri", CB],
        None,
    )
    .await;
    assert!(!again.status.success(), "taken");

    let rotated = json_of(
        &authnzd(&config, &["client", "rotate-secret", "rot", "--json"], None).await,
        "rotate",
    );
    let second = rotated["client_secret"].as_str().unwrap();
    assert_ne!(second, first);
    let (mut v, _) = signed_in(&s, "ida@example.com").await;
    let code = authorize(&mut v, "rot", &[]).await["code"].clone();
    let (status, _) = redeem(&s, &code, "rot", &first).await;
    assert_eq!(status, 401, "the old secret is gone");
    let (status, _) = redeem(&s, &code, "rot", second).await;
    assert_eq!(status, 200);

    let list = json_of(
        &authnzd(&config, &["client", "list", "--json"], None).await,
        "list",
    );
    assert_eq!(list[0]["client_id"], "rot");
    assert!(list[0].get("client_secret").is_none());
    let gone = authnzd(&config, &["client", "delete", "rot"], None).await;
    assert!(gone.status.success());
    let page = v
        .get(&format!("/oidc/authorize?{}", query("rot", &[])))
        .await;
    assert_eq!(page.status, 400, "deleted");
}

/// A code redeemed with `offline_access`: the tokens, with a refresh token.
async fn offline_tokens(s: &TestServer, v: &mut Visitor, id: &str, secret: &str) -> Value {
    let more = [("scope", "openid email offline_access")];
    let code = authorize(v, id, &more).await["code"].clone();
    let (status, tokens) = redeem(s, &code, id, secret).await;
    assert_eq!(status, 200, "{tokens}");
    tokens
}

async fn refresh(s: &TestServer, refresh_token: &str, id: &str, secret: &str) -> (u16, Value) {
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(s, &form, Some((id, secret))).await
}

#[tokio::test]
async fn offline_access_refreshes_rotating_and_rechecking_the_user() {
    let s = provider().await;
    let scopes = ["--first-party", "--scopes", "openid email offline_access"];
    let secret = confidential(&s, "tv", &scopes).await;
    let other = confidential(&s, "radio", &scopes).await;
    let (mut v, user_id) = signed_in(&s, "jo@example.com").await;

    // Without offline_access, no refresh token.
    let code = authorize(&mut v, "tv", &[("scope", "openid email")]).await["code"].clone();
    let (_, plain) = redeem(&s, &code, "tv", &secret).await;
    assert!(plain.get("refresh_token").is_none(), "{plain}");

    let tokens = offline_tokens(&s, &mut v, "tv", &secret).await;
    let first = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (status, next) = refresh(&s, &first, "tv", &secret).await;
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["scope"], "openid email offline_access");
    let second = next["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(second, first, "rotated");
    let claims = verified_id_token(&s, next["id_token"].as_str().unwrap(), "tv").await;
    assert_eq!(claims["email"], "jo@example.com");
    assert_eq!(
        userinfo(&s, next["access_token"].as_str().unwrap()).await.0,
        200
    );

    // Another client cannot use it.
    assert_error(
        &refresh(&s, &second, "radio", &other).await,
        400,
        "invalid_grant",
    );

    // The spent one again (past the grace period): the family and its
    // session are revoked, so the latest stops working too.
    s.clock.advance(chrono::Duration::seconds(60));
    assert_error(
        &refresh(&s, &first, "tv", &secret).await,
        400,
        "invalid_grant",
    );
    let (status, _) = refresh(&s, &second, "tv", &secret).await;
    assert_eq!(status, 400, "the family is gone");

    // A locked user: refused.
    let tokens = offline_tokens(&s, &mut v, "tv", &secret).await;
    s.lock_user(user_id, "lock").await;
    assert_error(
        &refresh(&s, tokens["refresh_token"].as_str().unwrap(), "tv", &secret).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn a_refresh_after_the_role_is_no_longer_allowed_is_refused() {
    let s = provider().await;
    let args = [
        "--first-party",
        "--scopes",
        "openid offline_access",
        "--role",
        "staff",
    ];
    let secret = confidential(&s, "ops", &args).await;
    let user_id = s.user_with_role("kim@example.com", "staff").await;
    let mut v = Visitor::new(&s);
    assert_eq!(v.sign_in("kim@example.com", PW, "").await.status, 303);
    let more = [("scope", "openid offline_access")];
    let code = authorize(&mut v, "ops", &more).await["code"].clone();
    let (_, tokens) = redeem(&s, &code, "ops", &secret).await;
    let rt = tokens["refresh_token"].as_str().unwrap();
    s.edit_user(user_id, json!({"user_role": "authenticated"}))
        .await;
    assert_error(&refresh(&s, rt, "ops", &secret).await, 400, "invalid_grant");
}

#[tokio::test]
async fn an_authlib_public_client_signs_in_with_pkce_and_refreshes() {
    let s = provider().await;
    let args = [
        "--public",
        "--first-party",
        "--scopes",
        "openid email offline_access",
    ];
    register(
        &s,
        "authlib-app",
        &[&["--redirect-uri", CB][..], &args[..]].concat(),
    )
    .await;
    let (mut v, _) = signed_in(&s, "lu@example.com").await;
    let issuer = s.url().trim_end_matches('/').to_owned();
    let common = vec![issuer.clone(), "authlib-app".to_owned(), CB.to_owned()];
    let started =
        common::python::oidc_rp([vec!["start".to_owned()], common.clone()].concat()).await;
    let url = started["url"].as_str().unwrap();
    assert!(url.contains("code_challenge_method=S256"), "{url}");
    // The browser's part: the signed-in portal sends it back with a code.
    let page = v.get(url.trim_start_matches(&s.url())).await;
    assert_eq!(page.status, 303, "{}", page.body);
    let callback = page.location().to_owned();
    let mut finish = [vec!["finish".to_owned()], common].concat();
    for field in ["verifier", "nonce", "state"] {
        finish.push(started[field].as_str().unwrap().to_owned());
    }
    finish.push(callback);
    let said = common::python::oidc_rp(finish).await;
    assert_eq!(
        said["sub"],
        system_id(&s, "lu@example.com").await.as_str(),
        "{said}"
    );
    assert_eq!(said["email"], "lu@example.com");
    assert_eq!(said["alg"], "RS256");
    assert_eq!(said["rotated"], true);
    assert_eq!(said["refreshed_access"], true);
    assert_eq!(said["userinfo_sub"], said["sub"]);
}

#[tokio::test]
async fn rp_initiated_logout_signs_out_the_user_it_names_or_asks() {
    let s = provider().await;
    let bye = "http://127.0.0.1:9/bye";
    let secret = confidential(
        &s,
        "leaver",
        &["--first-party", "--post-logout-redirect-uri", bye],
    )
    .await;
    let (mut v, _) = signed_in(&s, "max@example.com").await;
    let code = authorize(&mut v, "leaver", &[]).await["code"].clone();
    let (_, tokens) = redeem(&s, &code, "leaver", &secret).await;
    let hint = tokens["id_token"].as_str().unwrap();
    let logout = |fields: &[(&str, &str)]| {
        let q = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        format!("/oidc/logout?{q}")
    };

    // Not registered: shown, never followed, and nobody signed out.
    let page = v
        .get(&logout(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", "https://evil.example/"),
        ]))
        .await;
    assert_eq!(page.status, 400);
    assert!(page.location().is_empty());
    assert_eq!(v.verify().await.status(), 200);

    // Another user's hint: asked, not signed out.
    let (mut w, _) = signed_in(&s, "ned@example.com").await;
    let asked = w
        .get(&logout(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", bye),
        ]))
        .await;
    assert!(
        asked.body.contains("id=\"logout-confirm\""),
        "{}",
        asked.body
    );
    assert_eq!(w.verify().await.status(), 200);
    // Confirmed: signed out, then back to the client.
    let mut fields = vec![("csrf".to_owned(), asked.csrf())];
    for name in ["id_token_hint", "post_logout_redirect_uri"] {
        fields.push((name.to_owned(), field(&asked, name)));
    }
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let done = w.post("/oidc/logout", &form).await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains(bye), "{}", done.body);
    assert_eq!(w.verify().await.status(), 401, "signed out");

    // Its own user's hint: signed out at once, back with the state.
    let done = v
        .get(&logout(&[
            ("id_token_hint", hint),
            ("post_logout_redirect_uri", bye),
            ("state", "s-9"),
        ]))
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(done.location(), format!("{bye}?state=s-9"));
    assert_eq!(v.verify().await.status(), 401, "signed out");
    // A forged hint is refused.
    let forged = v
        .get(&logout(&[("id_token_hint", "eyJhbGciOiJub25lIn0.e30.")]))
        .await;
    assert_eq!(forged.status, 400);
}

#[tokio::test]
async fn form_post_returns_the_code_in_a_form_to_the_client_only() {
    let s = provider().await;
    let secret = confidential(&s, "poster", &["--first-party"]).await;
    let (mut v, _) = signed_in(&s, "ola@example.com").await;
    let page = v
        .get(&format!(
            "/oidc/authorize?{}",
            query("poster", &[("response_mode", "form_post")])
        ))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("id=\"oidc-return-form\""));
    assert!(
        page.body
            .contains(&format!("action=\"{}\"", CB.replace('/', "&#x2f;")))
            || page.body.contains(&format!("action=\"{CB}\"")),
        "{}",
        page.body
    );
    let csp = page.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action http://127.0.0.1:9 'self'"),
        "{csp}"
    );
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert_eq!(field(&page, "state"), "st-1");
    assert_eq!(field(&page, "iss"), s.url().trim_end_matches('/'));
    let (status, _) = redeem(&s, &field(&page, "code"), "poster", &secret).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn redeemed_codes_still_revoke_for_a_day_then_are_pruned() {
    let s = provider().await;
    let secret = confidential(&s, "kept", &["--first-party"]).await;
    let (mut v, _) = signed_in(&s, "pia@example.com").await;
    let code = authorize(&mut v, "kept", &[]).await["code"].clone();
    assert_eq!(redeem(&s, &code, "kept", &secret).await.0, 200);
    let app = &s.running().app;
    s.clock.advance(chrono::Duration::hours(23));
    assert_eq!(
        authnzd::actions::chores::prune_oidc_codes(app)
            .await
            .unwrap(),
        0
    );
    s.clock.advance(chrono::Duration::hours(2));
    assert_eq!(
        authnzd::actions::chores::prune_oidc_codes(app)
            .await
            .unwrap(),
        1
    );
    assert_error(
        &redeem(&s, &code, "kept", &secret).await,
        400,
        "invalid_grant",
    );
}
