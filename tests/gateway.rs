//! `GET /auth/verify` and `/.well-known/jwks.json` over real HTTP: session
//! cookies, bearer session tokens and access JWTs; every forgery and
//! out-of-date token refused; redirects only to allowed hosts; the
//! per-client limit; a separate gateway listener; key rotation.

mod common;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PW, TestServer};
use serde_json::{Value, json};

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: String,
}

async fn verify_at(base: &str, path_and_query: &str, headers: &[(&str, &str)]) -> Answer {
    // Redirects are what is tested: not followed.
    authnzd::tls::install_provider();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut req = client.get(format!("{base}{path_and_query}"));
    if !headers.iter().any(|(k, _)| *k == "x-real-ip") {
        req = req.header("x-real-ip", "198.51.100.4");
    }
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = req.send().await.expect("GET");
    Answer {
        status: res.status().as_u16(),
        headers: res.headers().clone(),
        body: res.text().await.unwrap_or_default(),
    }
}

async fn verify(s: &TestServer, headers: &[(&str, &str)]) -> Answer {
    verify_at(&s.url(), "auth/verify", headers).await
}

/// /auth/verify with `token` as the bearer token.
async fn verify_bearer(s: &TestServer, token: &str) -> Answer {
    verify(s, &[("authorization", &format!("Bearer {token}"))]).await
}

fn h<'a>(a: &'a Answer, name: &str) -> Option<&'a str> {
    a.headers.get(name).and_then(|v| v.to_str().ok())
}

async fn user_session(s: &TestServer, email: &str) -> (i64, String) {
    let id = s.verified_user(email, PW).await;
    (id, s.session_for(Some(id), 48).await)
}

fn part(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

#[tokio::test]
async fn a_session_cookie_or_bearer_token_passes_with_the_users_headers_and_logout_ends_it() {
    let s = TestServer::start_with(|c| c.gateway.forward_auth_remote_headers = true).await;
    let (id, session) = user_session(&s, "fa@example.com").await;
    let none = verify(&s, &[]).await;
    assert_eq!(none.status, 401);
    let cookie = format!("other=1; authnzd_session={session}");
    let ok = verify(&s, &[("cookie", &cookie)]).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(h(&ok, "x-auth-user-id"), Some(id.to_string().as_str()));
    assert_eq!(h(&ok, "x-auth-email"), Some("fa@example.com"));
    assert_eq!(h(&ok, "x-auth-role"), Some("authenticated"));
    assert_eq!(h(&ok, "remote-user"), Some(id.to_string().as_str()));
    assert_eq!(h(&ok, "remote-groups"), Some("authenticated"));
    let body: Value = serde_json::from_str(&ok.body).unwrap();
    assert_eq!(
        body,
        json!({"user_id": id, "user_email": "fa@example.com", "email_verified": true,
               "user_role": "authenticated", "amr": []})
    );
    assert_eq!(verify_bearer(&s, &session).await.status, 200);

    // Anonymous sessions and unknown tokens are nobody.
    let anon = s.anon_session().await;
    assert_eq!(
        verify(&s, &[("cookie", &format!("authnzd_session={anon}"))])
            .await
            .status,
        401
    );
    assert_eq!(
        verify(&s, &[("cookie", "authnzd_session=forged")])
            .await
            .status,
        401
    );

    // Logged out: refused on the very next check (the cache holds a
    // revocation mark, so the bound here is 0; other processes: the cache TTL).
    s.ok("session-delete", json!({"session_token": session}))
        .await;
    assert_eq!(verify(&s, &[("cookie", &cookie)]).await.status, 401);
}

#[tokio::test]
async fn access_jwts_pass_until_expiry_and_every_forgery_is_401() {
    let s = TestServer::start().await;
    let (id, session) = user_session(&s, "jwt-fa@example.com").await;
    let pair = s.ok("token-issue", json!({"session_token": session})).await;
    let jwt = pair["access_token"].as_str().unwrap().to_owned();
    let ok = verify_bearer(&s, &jwt).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(h(&ok, "x-auth-user-id"), Some(id.to_string().as_str()));

    let [head, payload, sig]: [&str; 3] = jwt.split('.').collect::<Vec<_>>().try_into().unwrap();
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(head).unwrap()).unwrap();
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    let kid = header["kid"].as_str().unwrap();
    let with = |patch: Value| {
        let mut c = claims.clone();
        for (k, v) in patch.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // Signed by us, with bad claims: the server's own key signs them here.
    let keys = s.running().app.access_keys();
    let sign = |c: Value| {
        let c: authnzd::security::jwt::AccessClaims = serde_json::from_value(c).unwrap();
        keys.sign(&c).unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    let mut forged = vec![
        ("wrong aud", sign(with(json!({"aud": "other"})))),
        ("wrong iss", sign(with(json!({"iss": "evil"})))),
        (
            "expired",
            sign(with(json!({"iat": now - 700, "exp": now - 100}))),
        ),
        (
            "not yet valid",
            sign(with(json!({"iat": now + 3600, "exp": now + 4000}))),
        ),
        ("other user", sign(with(json!({"sub": "1"})))),
        ("other role", sign(with(json!({"role": "superuser"})))),
        ("dead session", sign(with(json!({"sid": "0".repeat(64)})))),
    ];
    // Not signed by us.
    let none = part(&json!({"alg": "none", "typ": "JWT", "kid": kid}));
    forged.push(("alg none", format!("{none}.{payload}.")));
    forged.push(("alg none, no sig", format!("{none}.{payload}")));
    let jwks: Value = serde_json::from_str(&keys.jwks()).unwrap();
    let x = URL_SAFE_NO_PAD
        .decode(jwks["keys"][0]["x"].as_str().unwrap())
        .unwrap();
    let hs = jsonwebtoken::encode(
        &jsonwebtoken::Header {
            kid: Some(kid.into()),
            ..jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256)
        },
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(&x),
    )
    .unwrap();
    forged.push(("HS256 keyed with the public key", hs));
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[7u8; 32]);
    let signing_input = format!("{head}.{payload}");
    use ed25519_dalek::Signer;
    let foreign = URL_SAFE_NO_PAD.encode(stranger.sign(signing_input.as_bytes()).to_bytes());
    forged.push(("another key, our kid", format!("{signing_input}.{foreign}")));
    let other_kid = part(&json!({"alg": "EdDSA", "kid": "not-ours"}));
    forged.push(("unknown kid", format!("{other_kid}.{payload}.{sig}")));
    let tampered = part(&with(json!({"sub": "1"})));
    forged.push(("tampered payload", format!("{head}.{tampered}.{sig}")));
    forged.push(("truncated", jwt[..jwt.len() - 10].to_owned()));
    forged.push(("garbage", "a.b.c".into()));
    forged.push(("huge", format!("{head}.{}.{sig}", "A".repeat(60_000))));
    for (what, token) in &forged {
        let a = verify_bearer(&s, token).await;
        assert_eq!(a.status, 401, "{what} got {}: {}", a.status, a.body);
    }

    // Expiry by the server's clock.
    s.clock.advance(chrono::Duration::minutes(11));
    assert_eq!(verify_bearer(&s, &jwt).await.status, 401);
}

#[tokio::test]
async fn redirects_carry_only_https_urls_on_allowed_domains() {
    let s =
        TestServer::with_forward_auth(|c| c.gateway.redirect_domains = "example.net".into()).await;
    let original = "https://app.example.com/private?x=1";
    let a = verify(&s, &[("x-original-url", original)]).await;
    assert_eq!(a.status, 401);
    let location = url::Url::parse(h(&a, "location").expect("Location")).unwrap();
    assert_eq!(location.host_str(), Some("login.example.com"));
    let carried: Vec<_> = location.query_pairs().collect();
    assert_eq!(carried, vec![("url".into(), original.into())]);
    // Traefik / Caddy style: a real 302, the URL from X-Forwarded-*.
    let a = verify_at(
        &s.url(),
        "auth/verify?mode=redirect",
        &[
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "app.example.com"),
            ("x-forwarded-uri", "/a/b"),
        ],
    )
    .await;
    assert_eq!(a.status, 302);
    assert!(
        h(&a, "location")
            .unwrap()
            .ends_with("url=https%3A%2F%2Fapp.example.com%2Fa%2Fb")
    );
    for evil in [
        "auth/verify?url=https://evil.example/",
        "auth/verify?url=//evil.example",
        "auth/verify?rd=http://app.example.com/",
        "auth/verify?mode=redirect&url=https://app.example.com@evil.example/",
        "auth/verify?url=javascript:alert(1)",
        "auth/verify?url=https://evil.example%5C@app.example.com/",
        "auth/verify?url=https://app.example.com/%0d%0aSet-Cookie:x=1",
        "auth/verify?url=https:evil.example",
    ] {
        let a = verify_at(&s.url(), evil, &[]).await;
        assert_eq!(a.status, 403, "{evil}");
        assert!(h(&a, "location").is_none(), "{evil}");
    }
    // `redirect_domains` is part of the same allow-list.
    let a = verify_at(&s.url(), "auth/verify?url=https://www.example.net/x", &[]).await;
    assert_eq!(a.status, 401);
    assert!(h(&a, "location").is_some_and(|l| l.contains("www.example.net")));
    // Signed in, the target does not matter: nothing is redirected.
    let (_, session) = user_session(&s, "rd@example.com").await;
    let cookie = format!("authnzd_session={session}");
    assert_eq!(
        verify_at(
            &s.url(),
            "auth/verify?url=https://evil.example/",
            &[("cookie", &cookie)]
        )
        .await
        .status,
        200
    );
}

#[tokio::test]
async fn oversized_credentials_are_4xx_and_each_client_is_rate_limited() {
    let s = TestServer::start_with(|c| c.gateway.gateway_rate_limit = 2).await;
    let big = format!("authnzd_session={}", "x".repeat(100_000));
    let a = verify_at(
        &s.url(),
        "auth/verify",
        &[("cookie", &big), ("x-real-ip", "192.0.2.50")],
    )
    .await;
    assert!((400..500).contains(&a.status), "{}", a.status);
    let huge = format!("authnzd_session={}", "x".repeat(1_000_000));
    let a = common::http()
        .get(format!("{}auth/verify", s.url()))
        .header("cookie", huge)
        .send()
        .await;
    if let Ok(a) = a {
        assert!((400..500).contains(&a.status().as_u16()), "{}", a.status());
    }
    // 40 checks at once from one address: the burst (4) and what the rate
    // (2/s) refills while they run pass, the rest are 429 with Retry-After.
    let started = std::time::Instant::now();
    let base = s.url();
    let answers = futures_util::future::join_all(
        (0..40).map(|_| verify_at(&base, "auth/verify", &[("x-real-ip", "192.0.2.77")])),
    )
    .await;
    let refill = 2 * (started.elapsed().as_secs() as usize + 1);
    let passed = answers.iter().filter(|a| a.status == 401).count();
    let limited: Vec<_> = answers.iter().filter(|a| a.status == 429).collect();
    assert_eq!(passed + limited.len(), 40);
    assert!((4..=4 + refill).contains(&passed), "{passed} passed");
    assert!(!limited.is_empty());
    assert!(
        limited
            .iter()
            .all(|a| h(a, "retry-after").is_some_and(|r| r.parse::<u64>().is_ok_and(|n| n >= 1)))
    );
    assert_eq!(
        verify_at(&s.url(), "auth/verify", &[("x-real-ip", "192.0.2.78")])
            .await
            .status,
        401
    );
    s.assert_serving().await;
}

/// 400 checks from this (loopback) peer, 50 at a time, the `n`-th naming
/// `named(n)` in `X-Real-IP` and `X-Forwarded-For`: how many passed (401,
/// not signed in) and how long they took.
async fn spoofed_checks(
    s: &TestServer,
    named: impl Fn(u32) -> String,
) -> (usize, std::time::Duration) {
    let url = format!("{}auth/verify", s.url());
    let client = common::http();
    let started = std::time::Instant::now();
    let mut passed = 0;
    for batch in 0..8u32 {
        let answers = futures_util::future::join_all((0..50u32).map(|i| {
            let ip = named(batch * 50 + i);
            client
                .get(&url)
                .header("x-forwarded-for", format!("192.0.2.1, {ip}"))
                .header("x-real-ip", ip)
                .send()
        }))
        .await;
        for a in answers {
            let status = a.expect("GET").status().as_u16();
            assert!(status == 401 || status == 429, "{status}");
            passed += usize::from(status == 401);
        }
    }
    (passed, started.elapsed())
}

#[tokio::test]
async fn forwarding_headers_count_only_from_trusted_proxies() {
    // 100 checks a second, a burst of 200: from one client key, at most
    // 200 + 100 per second elapsed of the 400 pass.
    let at_most = |took: std::time::Duration| 200 + 100 * (took.as_secs() as usize + 1);
    let each_its_own = |n: u32| format!("203.0.{}.{}", n / 250, n % 250 + 1);
    for trusted in [vec![], vec!["10.0.0.0/8".to_owned()]] {
        let s = TestServer::start_with(|c| {
            c.gateway.gateway_rate_limit = 100;
            c.server.trusted_proxies = trusted.clone();
        })
        .await;
        let (passed, took) = spoofed_checks(&s, each_its_own).await;
        assert!(
            passed <= at_most(took),
            "trusted {trusted:?}: {passed} of 400 passed in {took:?}: the headers moved the key"
        );
        s.stop().await;
    }
    // Loopback is trusted by default (a proxy on this host): each address
    // named is a client of its own, and one named 400 times is one client.
    let s = TestServer::start_with(|c| c.gateway.gateway_rate_limit = 100).await;
    assert_eq!(spoofed_checks(&s, each_its_own).await.0, 400);
    let (passed, took) = spoofed_checks(&s, |_| "192.0.2.99".into()).await;
    assert!(passed <= at_most(took), "{passed} passed in {took:?}");
    s.stop().await;
}

#[tokio::test]
async fn a_gateway_listener_serves_forward_auth_and_jwks_and_the_rpc_port_does_not() {
    let s = TestServer::start_with(|c| c.gateway.gateway_listen = "127.0.0.1:0".into()).await;
    let gw = format!(
        "http://{}/",
        s.running().gateway_addr.expect("gateway address")
    );
    assert_eq!(verify(&s, &[]).await.status, 404);
    assert_eq!(verify_at(&gw, "auth/verify", &[]).await.status, 401);
    assert_eq!(
        verify_at(&gw, ".well-known/jwks.json", &[]).await.status,
        200
    );
    assert_eq!(
        verify_at(&s.url(), ".well-known/jwks.json", &[])
            .await
            .status,
        404
    );
    assert_eq!(verify_at(&gw, "health", &[]).await.status, 200);
    let (status, _) = common::post_raw(&gw, "not for the gateway").await;
    assert_eq!(status, 404);
    let (_, session) = user_session(&s, "gw@example.com").await;
    let cookie = format!("authnzd_session={session}");
    assert_eq!(
        verify_at(&gw, "auth/verify", &[("cookie", &cookie)])
            .await
            .status,
        200
    );
}

fn kid_of(jwt: &str) -> String {
    let head = URL_SAFE_NO_PAD
        .decode(jwt.split('.').next().unwrap())
        .unwrap();
    serde_json::from_slice::<Value>(&head).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn access_token(s: &TestServer, email: &str) -> String {
    let (_, session) = user_session(s, email).await;
    let pair = s.ok("token-issue", json!({"session_token": session})).await;
    pair["access_token"].as_str().unwrap().to_owned()
}

fn published(s: &TestServer) -> Vec<String> {
    let doc: Value = serde_json::from_str(&s.running().app.access_keys().jwks()).unwrap();
    doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn a_rotated_key_stays_published_and_accepted_until_its_tokens_expire() {
    let s = TestServer::start_with(|c| c.tokens.jwt_key_rotation_days = 1).await;
    let app = s.running().app.clone();
    let old = access_token(&s, "rot@example.com").await;
    // The operator's rotation.
    let replace = authnzd::store::signing_keys::Replace::Any;
    assert!(
        authnzd::security::jwt::rotate(&app.db, &app.keys.seals, app.now(), replace)
            .await
            .unwrap()
    );
    authnzd::actions::token::reload_keys(&app).await.unwrap();
    assert_eq!(published(&s).len(), 2);
    assert!(published(&s).contains(&kid_of(&old)));
    let new = access_token(&s, "rot2@example.com").await;
    assert_ne!(kid_of(&new), kid_of(&old));
    for t in [&old, &new] {
        assert_eq!(verify_bearer(&s, t).await.status, 200);
    }
    // Every token of the old key has expired: it is no longer published.
    s.clock.advance(chrono::Duration::minutes(12));
    authnzd::actions::token::rotate_keys_when_due(&app)
        .await
        .unwrap();
    assert_eq!(published(&s), vec![kid_of(&new)]);
    // The schedule: a day later the key in use is replaced.
    s.clock.advance(chrono::Duration::hours(25));
    authnzd::actions::token::rotate_keys_when_due(&app)
        .await
        .unwrap();
    let kids = published(&s);
    assert_eq!(kids.len(), 2, "{kids:?}");
    let newest = access_token(&s, "rot3@example.com").await;
    assert!(kids.contains(&kid_of(&newest)) && kid_of(&newest) != kid_of(&new));
    // Not due again: nothing changes.
    authnzd::actions::token::rotate_keys_when_due(&app)
        .await
        .unwrap();
    assert_eq!(published(&s), kids);
}

#[tokio::test]
async fn the_rotate_token_key_command_replaces_the_key_running_servers_use() {
    let s = TestServer::start().await;
    let before = access_token(&s, "cmd@example.com").await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authnzd"))
        .arg("rotate-token-key")
        .current_dir(s.dir.path())
        .env("AUTHNZD_DATABASE_URL", &s.config.database.database_url)
        .env("AUTHNZD_SECRET", &s.key)
        .env("AUTHNZD_KEY_FILE", s.path("no-such.key"))
        .output()
        .expect("run authnzd");
    common::cli::ok(&out, "rotate-token-key");
    // The server's minute chore reloads; run it now.
    authnzd::actions::token::rotate_keys_when_due(&s.running().app)
        .await
        .unwrap();
    let after = access_token(&s, "cmd2@example.com").await;
    assert_ne!(kid_of(&after), kid_of(&before));
    assert_eq!(published(&s).len(), 2);
    for t in [&before, &after] {
        assert_eq!(verify_bearer(&s, t).await.status, 200);
    }
    // Without the servers' key it refuses rather than seal with a new one.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_authnzd"))
        .arg("rotate-token-key")
        .current_dir(s.dir.path())
        .env("AUTHNZD_DATABASE_URL", &s.config.database.database_url)
        .env("AUTHNZD_KEY_FILE", s.path("absent.key"))
        .env_remove("AUTHNZD_SECRET")
        .output()
        .expect("run authnzd");
    assert!(!out.status.success());
    assert!(!s.path("absent.key").exists());
}
