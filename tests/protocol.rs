//! The status table of `protocol.md`, row by row, over real HTTP.

mod common;

use authnzd_proto::Refusal;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use common::{TestServer, call, post_raw, session_new_body};
use fernet::Fernet;
use serde_json::{Value, json};

fn envelope(request: &str, body: Value) -> Value {
    json!({"request": request, "body": body, "reqid": 1, "client_ipaddr": "198.51.100.1"})
}

fn seal_at(key: &str, plaintext: &str, at: u64) -> String {
    STANDARD.encode(
        Fernet::new(key)
            .unwrap()
            .encrypt_at_time(plaintext.as_bytes(), at),
    )
}

fn now() -> u64 {
    chrono::Utc::now().timestamp() as u64
}

#[tokio::test]
async fn handled_requests_answer_200_with_the_reqid_echoed() {
    let s = TestServer::start().await;
    for reqid in [json!("abc-123"), json!(42)] {
        let reply = s
            .client
            .request_with_id("session-new", session_new_body(None, 1), reqid);
        let reply = reply.await.expect("reply");
        assert_eq!(reply.status, 200);
        assert!(reply.success, "{reply:?}");
    }
    // The raw envelope keeps the reqid's JSON type and repeats the flags inside `response`.
    let body = s.client.seal(&json!({"request": "session-exists", "body": {"session_token": "nope"}, "reqid": 7, "client_ipaddr": "::1"}));
    let (status, text) = post_raw(&s.url(), body).await;
    assert_eq!(status, 200);
    let reply = s.client.open(&text).unwrap();
    assert_eq!(reply["reqid"], json!(7));
    assert_eq!(reply["success"], json!(false));
    assert_eq!(
        reply["failure_reason"],
        json!("session does not exist or expired")
    );
    assert_eq!(reply["response"]["success"], json!(false));
    assert_eq!(reply["response"]["failure_reason"], reply["failure_reason"]);
    assert_eq!(reply["response"]["session_info"], Value::Null);
}

#[tokio::test]
async fn undecryptable_requests_get_one_401_line() {
    let s = TestServer::start().await;
    let plain = envelope("session-exists", json!({"session_token": "x"})).to_string();

    let wrong_key = seal_at(&Fernet::generate_key(), &plain, now());
    let token = Fernet::new(&s.key).unwrap().encrypt(plain.as_bytes());
    let mut raw = URL_SAFE.decode(&token).unwrap();
    let mid = raw.len() / 2;
    raw[mid] ^= 0x01;
    let tampered = STANDARD.encode(URL_SAFE.encode(&raw));
    let expired = seal_at(&s.key, &plain, now() - 301);
    let from_the_future = seal_at(&s.key, &plain, now() + 120);

    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("wrong key", wrong_key.into_bytes()),
        ("tampered", tampered.into_bytes()),
        ("not base64", b"%%%not base64%%%".to_vec()),
        (
            "base64 but not fernet",
            STANDARD.encode("hello").into_bytes(),
        ),
        ("not utf-8", vec![0xff, 0xfe, 0x00]),
        ("empty", vec![]),
        ("expired", expired.into_bytes()),
        ("future", from_the_future.into_bytes()),
    ];
    let mut texts = std::collections::HashSet::new();
    for (what, body) in cases {
        let (status, text) = post_raw(&s.url(), body).await;
        assert_eq!(status, 401, "{what}");
        assert_eq!(text.lines().count(), 1, "{what}: {text}");
        texts.insert(text);
    }
    assert_eq!(
        texts.len(),
        1,
        "the 401 text must not say which check failed"
    );
}

#[tokio::test]
async fn a_replayed_request_is_refused() {
    let s = TestServer::start().await;
    let body = s
        .client
        .seal(&envelope("session-new", session_new_body(None, 1)));
    let (first, _) = post_raw(&s.url(), body.clone()).await;
    let (second, _) = post_raw(&s.url(), body).await;
    assert_eq!((first, second), (200, 401));
}

#[tokio::test]
async fn unknown_request_type_is_a_handled_failure() {
    let s = TestServer::start().await;
    let reply = s.call("no-such-request", json!({})).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.success);
    assert_eq!(reply.refusal(), Some(Refusal::UnknownRequest));
}

#[tokio::test]
async fn bad_parameters_are_all_reported() {
    let s = TestServer::start().await;
    let mistyped = json!({"ip_address": 12, "user_id": true, "expires": "2030-01-01T00:00:00",
                          "extra_info_json": []});
    let reply = s.call("session-new", mistyped).await;
    assert_eq!(reply.status, 200);
    assert!(!reply.success);
    assert_eq!(reply.refusal(), Some(Refusal::InvalidParameters));
    let problems = reply.response["problems"]
        .as_array()
        .expect("problems list");
    let found: Vec<(&str, &str)> = problems
        .iter()
        .map(|p| (p["param"].as_str().unwrap(), p["problem"].as_str().unwrap()))
        .collect();
    assert_eq!(
        found,
        vec![
            ("ip_address", "incorrect type"),
            ("user_agent", "missing"),
            ("user_id", "incorrect type"),
            ("extra_info_json", "incorrect type"),
        ]
    );
    assert_eq!(problems[2]["required_type"], json!(["int", "None"]));
}

#[tokio::test]
async fn malformed_envelopes_get_400_naming_the_field() {
    // Rate limits on, so `client_ipaddr` is required.
    let s = TestServer::start_with(|c| {
        c.limits.rate_limits = authnzd::config::Config::default().limits.rate_limits
    })
    .await;
    let cases = [
        (r#"["not", "an", "object"]"#, "JSON object"),
        (
            r#"{"body": {}, "reqid": 1, "client_ipaddr": "::1"}"#,
            "`request`",
        ),
        (
            r#"{"request": "session-exists", "reqid": 1, "client_ipaddr": "::1"}"#,
            "`body`",
        ),
        (
            r#"{"request": "session-exists", "body": "x", "reqid": 1, "client_ipaddr": "::1"}"#,
            "`body`",
        ),
        (
            r#"{"request": "session-exists", "body": {}, "client_ipaddr": "::1"}"#,
            "`reqid`",
        ),
        (
            r#"{"request": "session-exists", "body": {}, "reqid": null, "client_ipaddr": "::1"}"#,
            "`reqid`",
        ),
        (
            r#"{"request": "session-exists", "body": {}, "reqid": 1}"#,
            "`client_ipaddr`",
        ),
    ];
    for (plain, names) in cases {
        let (status, text) = post_raw(&s.url(), seal_at(&s.key, plain, now())).await;
        assert_eq!(status, 400, "{plain}");
        assert!(text.contains(names), "{plain}: {text}");
    }
}

#[tokio::test]
async fn client_ipaddr_is_optional_when_rate_limits_are_off() {
    let s = TestServer::start().await;
    let plain = json!({"request": "session-exists", "body": {"session_token": "x"}, "reqid": 1})
        .to_string();
    let (status, _) = post_raw(&s.url(), seal_at(&s.key, &plain, now())).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn oversized_bodies_get_413() {
    let s = TestServer::start_with(|c| c.server.max_body_bytes = 4096).await;
    let (status, _) = post_raw(&s.url(), vec![b'A'; 5000]).await;
    assert_eq!(status, 413);
    // Chunked, so no Content-Length up front.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..10).map(|_| Ok(vec![b'A'; 1000])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let (status, _) = post_raw(&s.url(), body).await;
    assert_eq!(status, 413);
    // And the server still serves.
    s.assert_serving().await;
}

#[tokio::test]
async fn other_methods_and_paths() {
    let s = TestServer::start().await;
    let http = common::http();
    let get = http.get(s.url()).send().await.unwrap();
    assert_eq!(get.status().as_u16(), 405);
    let put = http.put(s.url()).body("x").send().await.unwrap();
    assert_eq!(put.status().as_u16(), 405);
    let missing = http
        .get(format!("{}nowhere", s.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    let bad_host = http
        .post(s.url())
        .header("host", "evil.example")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(bad_host.status().as_u16(), 403);
}

#[tokio::test]
async fn health_reports_version_and_database() {
    let s = TestServer::start().await;
    let (status, body) = s.health().await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["database"], true);
    assert_eq!(body["version"], authnzd::VERSION);
}

#[tokio::test]
async fn a_database_fault_is_503_and_the_server_keeps_serving() {
    let s = TestServer::start().await;
    s.running().app.db.clone().close().await.unwrap();
    let reply = s.call("session-new", session_new_body(None, 1)).await;
    assert_eq!(reply.status, 503);
    let (status, body) = s.health_until(|status, _| status == 503).await;
    assert_eq!(status, 503);
    assert_eq!(body["database"], false);
    // Requests that need no database are still answered.
    let reply = s.call("no-such-request", json!({})).await;
    assert_eq!(reply.status, 200);
}

#[tokio::test]
async fn key_rotation_answers_with_the_key_that_opened_the_request() {
    let (new, old) = (Fernet::generate_key(), Fernet::generate_key());
    let ring = format!("{new},{old}");
    let s = TestServer::start_with(move |c| c.keys.secret = Some(ring.into())).await;
    let old_client = authnzd_client::Client::new(s.url(), &old).unwrap();
    let reply = call(&old_client, "session-new", session_new_body(None, 1)).await;
    assert!(reply.success, "a frontend still on the old key is served");
    let body = old_client.seal(&envelope("session-exists", json!({"session_token": "x"})));
    let (_, text) = post_raw(&s.url(), body).await;
    let new_client = authnzd_client::Client::new(s.url(), &new).unwrap();
    assert!(
        new_client.open(&text).is_err(),
        "reply sealed with the old key, not the new"
    );
    assert!(old_client.open(&text).is_ok());
}

#[tokio::test]
async fn over_the_limit_is_429_with_retry_after_until_the_window_passes() {
    let s = TestServer::with_session_new_limit(3).await;
    let new_session = |client| call(client, "session-new", session_new_body(None, 1));
    for _ in 0..3 {
        assert_eq!(new_session(&s.client).await.status, 200);
    }
    let limited = new_session(&s.client).await;
    assert_eq!(limited.status, 429);
    assert!(
        limited.retry_after.is_some_and(|s| (1..=60).contains(&s)),
        "{limited:?}"
    );
    // Another client address is not affected.
    let other = s.client_from("198.51.100.77");
    assert_eq!(new_session(&other).await.status, 200);
    s.clock.advance(chrono::Duration::seconds(61));
    let again = new_session(&s.client).await;
    assert_eq!(again.status, 200, "the limit forgets old traffic");
    // /health is never limited.
    for _ in 0..5 {
        assert_eq!(s.health().await.0, 200);
    }
}
