//! token-issue / token-refresh / token-revoke over the wire: access JWTs
//! checked by an independent library (PyJWT against our JWKS), rotation,
//! reuse detection with and without the grace period, concurrent refreshes
//! of one token, refusals once the session or the role changes.

mod common;

use authnzd_proto::Refusal;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{PW, TestServer, counts, pyjwt_verify, tally};
use serde_json::{Value, json};

/// A signed-in user's session and a token pair issued for it.
async fn signed_in(s: &TestServer, email: &str) -> (i64, String, Value) {
    let id = s.verified_user(email, PW).await;
    let session = s.session_for(Some(id), 48).await;
    let pair = s.ok("token-issue", json!({"session_token": session})).await;
    (id, session, pair)
}

fn refresh_token(pair: &Value) -> String {
    pair["refresh_token"]
        .as_str()
        .expect("refresh_token")
        .to_owned()
}

/// `token-refresh` of `token`: the new pair.
async fn refresh(s: &TestServer, token: &str) -> Value {
    s.ok("token-refresh", json!({"refresh_token": token})).await
}

/// `token-refresh` of `token`, refused for `reason`.
async fn refresh_refused(s: &TestServer, token: &str, reason: Refusal) {
    s.refuses("token-refresh", json!({"refresh_token": token}), reason)
        .await;
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

async fn jwks(s: &TestServer) -> (String, Option<String>) {
    let res = common::http()
        .get(format!("{}.well-known/jwks.json", s.url()))
        .send()
        .await
        .expect("GET jwks");
    assert_eq!(res.status(), 200);
    let cache = res
        .headers()
        .get("cache-control")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (res.text().await.expect("body"), cache)
}

#[tokio::test]
async fn access_tokens_verify_with_pyjwt_against_the_jwks_and_not_after_expiry() {
    // The venv first: making it can outlast the server's keep-alive.
    common::test_python();
    let s = TestServer::start().await;
    let (id, session, pair) = signed_in(&s, "jwt@example.com").await;
    let access = pair["access_token"].as_str().unwrap();
    let claims = claims_of(access);
    assert_eq!(claims["sub"], id.to_string());
    assert_eq!(claims["iss"], "authnzd");
    assert_eq!(claims["aud"], "authnzd");
    assert_eq!(claims["role"], "authenticated");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert!(claims["jti"].as_str().is_some_and(|j| j.len() == 32));
    assert_eq!(
        claims["sid"].as_str().unwrap(),
        authnzd::security::tokens::digest(&session)
    );
    assert!(refresh_token(&pair).len() >= 43);

    let (doc, cache) = jwks(&s).await;
    let keys: Value = serde_json::from_str(&doc).unwrap();
    let key = &keys["keys"][0];
    assert_eq!(
        (&key["kty"], &key["crv"], &key["alg"], &key["use"]),
        (
            &json!("OKP"),
            &json!("Ed25519"),
            &json!("EdDSA"),
            &json!("sig")
        )
    );
    let header: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(access.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(header["kid"], key["kid"]);
    assert_eq!(header["alg"], "EdDSA");
    let max_age: u64 = cache
        .as_deref()
        .and_then(|c| c.split("max-age=").nth(1))
        .and_then(|n| n.parse().ok())
        .expect("Cache-Control max-age");
    assert!(
        max_age > 0 && max_age < 600,
        "max-age {max_age} must be shorter than the overlap"
    );

    let verified = pyjwt_verify(&doc, access, "authnzd", "authnzd").expect("PyJWT accepts it");
    assert_eq!(verified["sub"], id.to_string());
    assert_eq!(
        pyjwt_verify(&doc, access, "authnzd", "another-service"),
        Err("InvalidAudienceError".into())
    );

    // A token issued 11 minutes ago (the server's clock set back) is past
    // its 10 minutes by PyJWT's own clock.
    s.clock.advance(chrono::Duration::minutes(-11));
    let session2 = s.session_for(Some(id), 48).await;
    let old = s
        .ok("token-issue", json!({"session_token": session2}))
        .await;
    let old = old["access_token"].as_str().unwrap();
    assert_eq!(
        pyjwt_verify(&doc, old, "authnzd", "authnzd"),
        Err("ExpiredSignatureError".into())
    );
}

#[tokio::test]
async fn refresh_rotates_and_presenting_a_spent_token_revokes_family_and_session() {
    let s = TestServer::start_with(|c| c.tokens.refresh_reuse_grace = 0).await;
    let (id, session, pair) = signed_in(&s, "rotate@example.com").await;
    let r1 = refresh_token(&pair);
    let p2 = refresh(&s, &r1).await;
    let r2 = refresh_token(&p2);
    assert_ne!(r1, r2);
    assert_ne!(p2["access_token"], pair["access_token"]);
    let r3 = refresh_token(&refresh(&s, &r2).await);

    refresh_refused(&s, &r1, Refusal::RefreshTokenReused).await;
    // The thief's token and the victim's newest are both dead, and so is
    // the session they hung from.
    refresh_refused(&s, &r3, Refusal::RefreshTokenUnknown).await;
    assert!(!s.session_alive(&session).await);
    let events: Vec<_> = s
        .audit_events()
        .await
        .into_iter()
        .map(|(e, u, _)| (e, u))
        .collect();
    for e in ["token-issue", "token-refresh", "token-reuse-detected"] {
        assert!(
            events.contains(&(e.to_owned(), Some(id))),
            "{e} in {events:?}"
        );
    }
}

#[tokio::test]
async fn ten_concurrent_refreshes_of_one_token_yield_one_successor_and_later_reuse_revokes() {
    let s = TestServer::start().await;
    let (_, session, pair) = signed_in(&s, "tabs@example.com").await;
    let r1 = refresh_token(&pair);
    let replies = s
        .repeated("token-refresh", json!({"refresh_token": r1}), 10)
        .await;
    assert_eq!(tally(&replies), counts(10, []));
    let successors: std::collections::BTreeSet<_> =
        replies.iter().map(|r| refresh_token(&r.response)).collect();
    assert_eq!(successors.len(), 1, "the family forked: {successors:?}");
    let r2 = successors.into_iter().next().unwrap();

    // The successor works, once; its own successor is the family's head.
    let r3 = refresh_token(&refresh(&s, &r2).await);
    // r1 is no longer the immediately previous token: no grace for it.
    refresh_refused(&s, &r1, Refusal::RefreshTokenReused).await;
    assert!(!s.session_alive(&session).await);
    refresh_refused(&s, &r3, Refusal::RefreshTokenUnknown).await;
}

#[tokio::test]
async fn the_previous_token_gets_the_same_successor_only_within_the_grace_period() {
    let s = TestServer::start().await;
    let (_, session, pair) = signed_in(&s, "grace@example.com").await;
    let r1 = refresh_token(&pair);
    let r2 = refresh_token(&refresh(&s, &r1).await);
    s.clock.advance(chrono::Duration::seconds(15));
    let again = refresh(&s, &r1).await;
    assert_eq!(refresh_token(&again), r2);
    s.clock.advance(chrono::Duration::seconds(16));
    refresh_refused(&s, &r1, Refusal::RefreshTokenReused).await;
    assert!(!s.session_alive(&session).await);
}

#[tokio::test]
async fn a_key_added_to_the_ring_keeps_the_grace_period_whole() {
    let mut s = TestServer::start().await;
    let (_, session, pair) = signed_in(&s, "rotate@example.com").await;
    let r1 = refresh_token(&pair);
    let r2 = refresh_token(&refresh(&s, &r1).await);
    // `authnzd key add`, then the restart that reads the new ring.
    let newer = authnzd::envelope::KeyRing::generate_key();
    s.config.keys.secret = Some(format!("{newer},{}", s.key).into());
    s.restart().await;
    // The other tab, a moment later: the same successor, no theft.
    s.clock.advance(chrono::Duration::seconds(5));
    let again = refresh(&s, &r1).await;
    assert_eq!(refresh_token(&again), r2);
    assert!(s.session_alive(&session).await);
    // The family goes on under the new key, and reuse past the grace is
    // still theft.
    let r3 = refresh_token(&refresh(&s, &r2).await);
    assert_ne!(r3, r2);
    s.clock.advance(chrono::Duration::seconds(31));
    refresh_refused(&s, &r1, Refusal::RefreshTokenReused).await;
    assert!(!s.session_alive(&session).await);
}

#[tokio::test]
async fn with_no_grace_concurrent_refreshes_spend_the_token_once_and_revoke_the_family() {
    let s = TestServer::start_with(|c| c.tokens.refresh_reuse_grace = 0).await;
    let (_, session, pair) = signed_in(&s, "race@example.com").await;
    let r1 = refresh_token(&pair);
    let replies = s
        .repeated("token-refresh", json!({"refresh_token": r1}), 10)
        .await;
    let t = tally(&replies);
    assert_eq!(t.successes(), 1, "{t:?}");
    // The losers are refused as a reuse, or, once the first reuse has
    // revoked the session (and with it the family), as an unknown token or
    // an ended session: which, depends on when each read the row.
    let others: usize = [
        Refusal::RefreshTokenReused,
        Refusal::RefreshTokenUnknown,
        Refusal::RefreshSessionEnded,
    ]
    .into_iter()
    .map(|r| t.of(r))
    .sum();
    assert_eq!(others, 9, "{t:?}");
    assert!(t.of(Refusal::RefreshTokenReused) > 0, "{t:?}");
    let winner = replies.iter().find(|r| r.success).unwrap();
    refresh_refused(
        &s,
        &refresh_token(&winner.response),
        Refusal::RefreshTokenUnknown,
    )
    .await;
    assert!(!s.session_alive(&session).await);
}

#[tokio::test]
async fn refresh_is_refused_once_the_session_ends_the_role_changes_or_the_token_expires() {
    let s = TestServer::start_with(|c| c.tokens.refresh_token_ttl_days = 1).await;
    // Logged out.
    let (_, session, pair) = signed_in(&s, "gone@example.com").await;
    s.ok("session-delete", json!({"session_token": session}))
        .await;
    refresh_refused(&s, &refresh_token(&pair), Refusal::RefreshTokenUnknown).await;
    // Locked.
    let (id, _, pair) = signed_in(&s, "locked@example.com").await;
    s.lock_user(id, "lock").await;
    assert!(
        !s.call(
            "token-refresh",
            json!({"refresh_token": refresh_token(&pair)})
        )
        .await
        .success
    );
    // Role changed.
    let (id, session, pair) = signed_in(&s, "promoted@example.com").await;
    s.edit_user(id, json!({"user_role": "staff"})).await;
    refresh_refused(&s, &refresh_token(&pair), Refusal::RefreshRoleChanged).await;
    // A new pair for the new role works.
    let fresh = s.ok("token-issue", json!({"session_token": session})).await;
    assert_eq!(
        claims_of(fresh["access_token"].as_str().unwrap())["role"],
        "staff"
    );
    // Expired (the session lasts 48 h, the refresh token 1 day).
    s.clock.advance(chrono::Duration::hours(25));
    refresh_refused(&s, &refresh_token(&fresh), Refusal::RefreshTokenExpired).await;
}

#[tokio::test]
async fn revoke_ends_the_family_and_bad_tokens_are_clear_refusals() {
    let s = TestServer::start().await;
    let (id, session, pair) = signed_in(&s, "revoke@example.com").await;
    let r1 = refresh_token(&pair);
    s.ok("token-revoke", json!({"refresh_token": r1})).await;
    refresh_refused(&s, &r1, Refusal::RefreshTokenUnknown).await;
    // The session itself stays: revoking is the token client's logout.
    assert!(s.session_alive(&session).await);
    assert!(
        s.audit_events()
            .await
            .iter()
            .any(|(e, u, _)| e == "token-revoke" && *u == Some(id))
    );
    for bad in [String::new(), "x".into(), "é".repeat(5000), "a.b.c".into()] {
        for request in ["token-refresh", "token-revoke"] {
            s.refuses(
                request,
                json!({"refresh_token": bad}),
                Refusal::RefreshTokenUnknown,
            )
            .await;
        }
    }
    for bad in [json!(null), json!(12), json!({"a": 1})] {
        let r = s.call("token-refresh", json!({"refresh_token": bad})).await;
        assert!(!r.success);
    }
    // Anonymous and unknown sessions get no tokens.
    let anon = s.anon_session().await;
    for (session, reason) in [
        (anon.as_str(), Refusal::AccountCannotSignIn),
        ("nope", Refusal::SessionExpired),
    ] {
        let body = json!({"session_token": session});
        s.refuses("token-issue", body, reason).await;
    }
}
