//! The typed Rust client over real HTTP: a user's whole life against the
//! real server, each layer of its error type, and — against a stand-in
//! server that misbehaves on purpose — request ids, undecryptable and
//! misshapen replies, timeouts and connection reuse.

mod common;

use authnzd_proto::Refusal;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use authnzd_client::{Client, Error, ProtocolError, params};
use common::{PW, TestServer};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

const NEW_PW: &str = "marmalade-Orbit-2291-basalt";
const ADA: &str = "ada@example.com";

fn session_params(user_id: Option<i64>) -> params::SessionNew {
    params::SessionNew {
        ip_address: "203.0.113.7".into(),
        user_agent: "typed client".into(),
        user_id,
        expires: (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        extra_info_json: None,
    }
}

fn object(v: Value) -> serde_json::Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn exists(token: &str) -> params::SessionExists {
    params::SessionExists {
        session_token: token.into(),
    }
}

#[tokio::test]
async fn a_user_from_sign_up_to_delete() {
    let s = TestServer::start().await;
    let c = &s.client;

    // An anonymous visitor.
    let anon = c.session_new(&session_params(None)).await.unwrap();
    assert!(!anon.session_token.is_empty() && !anon.expires.is_empty());
    let info = c
        .session_exists(&exists(&anon.session_token))
        .await
        .unwrap();
    assert_eq!((info.user_id, info.user_role.as_str()), (2, "anonymous"));

    // Sign-up, then verification.
    let made = c
        .user_new(&params::UserNew {
            full_name: "Ada Typed".into(),
            email: ADA.into(),
            password: PW.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(made.send_verification);
    assert_eq!(made.user_email, ADA);
    let verified = c
        .user_set_emailverified(&params::UserSetEmailverified { email: ADA.into() })
        .await
        .unwrap();
    assert_eq!(verified.user_id, made.user_id);
    assert_eq!(verified.user_role, "authenticated");
    assert!(verified.is_active);

    // Login spends the anonymous session; the frontend makes the user's.
    let me = c
        .user_login(&params::UserLogin {
            session_token: anon.session_token.clone().into(),
            email: ADA.into(),
            password: PW.into(),
            code: None,
        })
        .await
        .unwrap();
    assert_eq!(
        (me.user_id, me.user_role.as_str()),
        (made.user_id, "authenticated")
    );
    let gone = c.session_exists(&exists(&anon.session_token)).await;
    assert!(matches!(gone, Err(Error::Refused { .. })), "{gone:?}");
    let mine = c
        .session_new(&session_params(Some(me.user_id)))
        .await
        .unwrap();
    let info = c
        .session_exists(&exists(&mine.session_token))
        .await
        .unwrap();
    assert_eq!((info.user_id, info.email.as_str()), (me.user_id, ADA));
    assert_eq!(info.system_id.as_deref(), Some(made.system_id.as_str()));

    let checked = c
        .user_passcheck(&params::UserPasscheck {
            session_token: mine.session_token.clone().into(),
            password: PW.into(),
            code: None,
        })
        .await
        .unwrap();
    assert_eq!(checked.user_id, me.user_id);

    // A password change keeps the session it came from and ends the others.
    let elsewhere = c
        .session_new(&session_params(Some(me.user_id)))
        .await
        .unwrap();
    c.user_changepass(&params::UserChangepass {
        user_id: me.user_id,
        session_token: mine.session_token.clone().into(),
        full_name: "Ada Typed".into(),
        email: ADA.into(),
        current_password: PW.into(),
        new_password: NEW_PW.into(),
        code: None,
    })
    .await
    .unwrap();
    assert!(c.session_exists(&exists(&mine.session_token)).await.is_ok());
    let ended = c.session_exists(&exists(&elsewhere.session_token)).await;
    assert!(matches!(ended, Err(Error::Refused { .. })), "{ended:?}");
    let old = c
        .user_passcheck_nosession(&params::UserPasscheckNosession {
            email: ADA.into(),
            password: PW.into(),
            code: None,
        })
        .await;
    assert!(old.as_ref().is_err_and(Error::is_refused), "{old:?}");
    // That failure started a login back-off on the server's (manual) clock.
    s.clock.advance(chrono::Duration::seconds(30));

    // Editing one's own name, then looking the account up three ways.
    let edited = c
        .user_edit(&params::UserEdit {
            user_id: me.user_id,
            user_role: me.user_role.clone(),
            session_token: mine.session_token.clone().into(),
            target_userid: me.user_id,
            update_dict: object(json!({"full_name": "Ada Lovelace"})),
        })
        .await
        .unwrap();
    assert_eq!(edited.full_name.as_deref(), Some("Ada Lovelace"));
    let found = c
        .user_lookup_email(&params::UserLookupEmail { email: ADA.into() })
        .await
        .unwrap();
    assert_eq!(found.full_name.as_deref(), Some("Ada Lovelace"));
    assert!(found.email_verified && found.is_active);
    assert!(found.last_login_success.is_some());
    let listed = c
        .user_list(&params::UserList {
            user_id: Some(me.user_id),
        })
        .await
        .unwrap();
    assert_eq!(listed, vec![found.clone()]);
    let everyone = c
        .user_list(&params::UserList { user_id: None })
        .await
        .unwrap();
    assert!(everyone.len() >= 4, "the reserved users and Ada");
    let matched = c
        .user_lookup_match(&params::UserLookupMatch {
            by: "email".into(),
            r#match: ADA.into(),
        })
        .await
        .unwrap();
    assert_eq!(matched, vec![found]);

    // One session deleted outright, the other by logging out.
    let spare = c
        .session_new(&session_params(Some(me.user_id)))
        .await
        .unwrap();
    c.session_delete(&params::SessionDelete {
        session_token: spare.session_token.clone().into(),
    })
    .await
    .unwrap();
    let again = c
        .session_delete(&params::SessionDelete {
            session_token: spare.session_token.into(),
        })
        .await
        .unwrap_err();
    assert_eq!(again.refusal(), Some(Refusal::SessionNotFound));
    c.user_logout(&params::UserLogout {
        session_token: mine.session_token.clone().into(),
        user_id: me.user_id,
    })
    .await
    .unwrap();
    let out = c.session_exists(&exists(&mine.session_token)).await;
    assert!(matches!(out, Err(Error::Refused { .. })), "{out:?}");

    // The user deletes the account with the current password.
    c.user_delete(&params::UserDelete {
        email: ADA.into(),
        user_id: me.user_id,
        password: NEW_PW.into(),
        code: None,
    })
    .await
    .unwrap();
    let nobody = c
        .user_lookup_email(&params::UserLookupEmail { email: ADA.into() })
        .await;
    assert!(matches!(nobody, Err(Error::Refused { .. })), "{nobody:?}");
}

#[tokio::test]
async fn access_checks_and_api_keys() {
    let s = TestServer::start().await;
    let c = &s.client;
    let uid = s.verified_user(ADA, PW).await;

    // Questions answered no are Ok(false), not errors.
    let mut access = params::UserCheckAccess {
        user_id: uid,
        user_role: "authenticated".into(),
        action: "view".into(),
        target_name: "dataset".into(),
        target_owner: uid,
        target_visibility: "private".into(),
        target_sharedwith: String::new(),
    };
    assert!(c.user_check_access(&access).await.unwrap());
    access.target_owner = 1;
    assert!(!c.user_check_access(&access).await.unwrap());
    // A question that cannot be answered is an error.
    access.user_role = "superuser".into();
    let err = c.user_check_access(&access).await.unwrap_err();
    assert_eq!(err.refusal(), Some(Refusal::InvalidCaller));
    let limit = params::UserCheckLimit {
        user_id: uid,
        user_role: "authenticated".into(),
        limit_name: "max_requests".into(),
        value_to_check: json!(10),
    };
    assert!(c.user_check_limit(&limit).await.unwrap());

    // A session-less key: issue, verify, refresh, revoke them all.
    let key = c
        .apikey_new_nosession(&params::ApikeyNewNosession {
            issuer: "typed".into(),
            audience: "api".into(),
            subject: "/v1".into(),
            apiversion: json!(1),
            expires_seconds: 600,
            not_valid_before: 0.0,
            user_id: uid,
            user_role: "authenticated".into(),
            ip_address: "203.0.113.7".into(),
            refresh_expires: 3600,
            refresh_nbf: 0.0,
        })
        .await
        .unwrap();
    let presented = |dict| params::ApikeyVerifyNosession {
        apikey_dict: dict,
        user_id: uid,
        user_role: "authenticated".into(),
    };
    let verify = async |dict| c.apikey_verify_nosession(&presented(dict)).await;
    verify(key.dict().unwrap()).await.unwrap();
    let fresh = c
        .apikey_refresh_nosession(&params::ApikeyRefreshNosession {
            apikey_dict: key.dict().unwrap(),
            user_id: uid,
            user_role: "authenticated".into(),
            refresh_token: key.refresh_token.clone().into(),
            ip_address: "203.0.113.7".into(),
            expires_seconds: 600,
            not_valid_before: 0.0,
            refresh_expires: 3600,
            refresh_nbf: 0.0,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_ne!(fresh.apikey, key.apikey);
    verify(fresh.dict().unwrap()).await.unwrap();
    let revoked = c
        .apikey_revokeall_nosession(&params::ApikeyRevokeallNosession {
            apikey_dict: fresh.dict().unwrap(),
            user_id: uid,
            user_role: "authenticated".into(),
        })
        .await
        .unwrap();
    assert!(revoked >= 1);
    let dead = verify(fresh.dict().unwrap()).await;
    assert!(matches!(dead, Err(Error::Refused { .. })), "{dead:?}");
}

#[tokio::test]
async fn errors_say_which_layer_failed() {
    let s = TestServer::start().await;
    s.verified_user(ADA, PW).await;
    let anon = s.anon_session().await;

    // The server said no: reason, messages and fields come along.
    let wrong = s
        .client
        .user_login(&params::UserLogin {
            session_token: anon.into(),
            email: ADA.into(),
            password: format!("x{PW}").into(),
            code: None,
        })
        .await
        .unwrap_err();
    assert!(wrong.is_refused() && !wrong.is_transport() && !wrong.is_protocol());
    match &wrong {
        Error::Refused {
            failure_reason,
            messages,
            response,
        } => {
            assert_eq!(Refusal::parse(failure_reason), Refusal::WrongPassword);
            assert!(!messages.is_empty());
            assert!(response.get("user_id").is_some(), "{response}");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(!wrong.messages().is_empty());

    // Parameters the server rejects come back with their problems.
    let bad: Result<Value, _> = s
        .client
        .call("user-list", &json!({"user_id": "four"}))
        .await;
    match bad {
        Err(Error::Refused {
            failure_reason,
            response,
            ..
        }) => {
            assert_eq!(Refusal::parse(&failure_reason), Refusal::InvalidParameters);
            assert_eq!(response["problems"][0]["param"], "user_id");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }

    // Another key: 401 without an envelope.
    let stranger = Client::new(s.url(), &authnzd::envelope::KeyRing::generate_key()).unwrap();
    let err = stranger.session_exists(&exists("x")).await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 401, .. }), "{err:?}");
    assert!(err.is_transport());
    assert_eq!(err.status(), Some(401));

    // Nobody listening.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let nowhere = Client::builder(format!("http://127.0.0.1:{port}/"), &s.key)
        .connect_timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let err = nowhere.session_exists(&exists("x")).await.unwrap_err();
    assert!(matches!(err, Error::Connect(_)), "{err:?}");
}

#[tokio::test]
async fn rate_limits_are_a_status_with_retry_after() {
    let s = TestServer::start_with(|c| c.limits.rate_limits = "session:2; burst:2".into()).await;
    let c = Client::builder(s.url(), &s.key)
        .client_ipaddr("198.51.100.20")
        .build()
        .unwrap();
    let mut limited = None;
    for _ in 0..6 {
        if let Err(e @ Error::Status { status: 429, .. }) = c.session_exists(&exists("x")).await {
            limited = Some(e.retry_after());
            break;
        }
    }
    let retry_after = limited.expect("a 429 within 6 requests");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
}

/// What the stand-in does with one request.
enum Answer {
    /// 200 with this body.
    Body(String),
    /// Never answers.
    Hang,
}

/// A stand-in for authnzd: HTTP/1.1 with keep-alive on an ephemeral port,
/// answering each decrypted request envelope (`Null` when it does not
/// decrypt) with `answer`. Counts the connections it accepts.
struct Standin {
    url: String,
    connections: Arc<AtomicUsize>,
}

async fn standin(
    key: &str,
    answer: impl Fn(&Client, Value) -> Answer + Send + Sync + 'static,
) -> Standin {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    // Requests and replies share one encoding, so a client opens both.
    let crypto = Client::new(&url, key).unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    let answer = Arc::new(answer);
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let (crypto, answer) = (crypto.clone(), answer.clone());
            tokio::spawn(async move {
                let mut stream = BufReader::new(stream);
                loop {
                    let mut length = 0;
                    loop {
                        let mut line = String::new();
                        if stream.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let line = line.trim_end().to_ascii_lowercase();
                        if line.is_empty() {
                            break;
                        }
                        if let Some(n) = line.strip_prefix("content-length:") {
                            length = n.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0; length];
                    stream.read_exact(&mut body).await.unwrap();
                    let envelope = crypto
                        .open(&String::from_utf8_lossy(&body))
                        .unwrap_or(Value::Null);
                    let Answer::Body(reply) = answer(&crypto, envelope) else {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    };
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n\r\n",
                        reply.len()
                    );
                    let out = stream.get_mut();
                    out.write_all(head.as_bytes()).await.unwrap();
                    out.write_all(reply.as_bytes()).await.unwrap();
                }
            });
        }
    });
    Standin { url, connections }
}

/// What a client with `key` makes of the stand-in's answer to session-new
/// (asserted to be an error).
async fn session_new_error(standin: &Standin, key: &str) -> Error {
    let client = Client::new(&standin.url, key).unwrap();
    client.session_new(&session_params(None)).await.unwrap_err()
}

/// A well-formed success for `envelope`, with `reqid` and `response`
/// replaced as the test likes.
fn success(crypto: &Client, envelope: &Value, reqid: Option<Value>, response: Value) -> Answer {
    Answer::Body(crypto.seal(&json!({
        "success": true,
        "reqid": reqid.unwrap_or_else(|| envelope["reqid"].clone()),
        "messages": [],
        "response": response,
    })))
}

fn session_answer() -> Value {
    json!({"session_token": "t", "expires": "2030-01-01T00:00:00+00:00"})
}

#[tokio::test]
async fn request_ids_are_checked_and_sent_fresh() {
    let key = authnzd::envelope::KeyRing::generate_key();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = seen.clone();
    let echo = standin(&key, move |crypto, envelope| {
        log.lock().unwrap().push(envelope["reqid"].clone());
        success(crypto, &envelope, None, session_answer())
    })
    .await;
    let c = Client::new(&echo.url, &key).unwrap();
    for _ in 0..3 {
        let made = c.session_new(&session_params(None)).await.unwrap();
        assert_eq!(made.session_token, "t");
    }
    let ids = seen.lock().unwrap().clone();
    assert!(ids.iter().all(Value::is_string), "{ids:?}");
    assert!(ids[0] != ids[1] && ids[1] != ids[2], "{ids:?}");
    // The untyped API echoes the caller's id, of the caller's JSON type.
    let r = c
        .request_with_id("session-new", json!({}), json!(42))
        .await
        .unwrap();
    assert!(r.success);
    assert_eq!(seen.lock().unwrap().last(), Some(&json!(42)));

    let liar = standin(&key, |crypto, envelope| {
        success(
            crypto,
            &envelope,
            Some(json!("someone else's")),
            session_answer(),
        )
    })
    .await;
    let c = Client::new(&liar.url, &key).unwrap();
    let err = c.session_new(&session_params(None)).await.unwrap_err();
    match err {
        Error::Protocol(ProtocolError::ReqidMismatch { sent, got }) => {
            assert!(sent.is_string());
            assert_eq!(got, "someone else's");
        }
        other => panic!("expected a reqid mismatch, got {other:?}"),
    }
    let untyped = c
        .request_with_id("session-new", json!({}), json!(7))
        .await
        .unwrap_err();
    assert!(
        matches!(untyped, authnzd_client::ClientError::ReqidMismatch { .. }),
        "{untyped:?}"
    );
}

#[tokio::test]
async fn replies_that_break_the_protocol() {
    let key = authnzd::envelope::KeyRing::generate_key();

    // Encrypted with another key: the wrong key, or not authnzd at all.
    let other = authnzd::envelope::KeyRing::generate_key();
    let foreign = Client::new("http://127.0.0.1:1/", &other).unwrap();
    let s = standin(&key, move |_, envelope| {
        Answer::Body(foreign.seal(&json!({"success": true, "reqid": envelope["reqid"]})))
    })
    .await;
    let err = session_new_error(&s, &key).await;
    assert!(
        matches!(err, Error::Protocol(ProtocolError::Undecryptable)),
        "{err:?}"
    );
    assert!(err.is_protocol() && !err.is_transport());

    // A success whose fields are not the documented ones.
    let s = standin(&key, |crypto, envelope| {
        success(crypto, &envelope, None, json!({"session_token": 5}))
    })
    .await;
    let err = session_new_error(&s, &key).await;
    match err {
        Error::Protocol(ProtocolError::UnexpectedShape { request, .. }) => {
            assert_eq!(request, "session-new");
        }
        other => panic!("expected an unexpected shape, got {other:?}"),
    }

    // Not an envelope at all.
    let s = standin(&key, |crypto, _| {
        Answer::Body(crypto.seal(&json!(["not", "an", "envelope"])))
    })
    .await;
    let err = session_new_error(&s, &key).await;
    assert!(
        matches!(err, Error::Protocol(ProtocolError::NotEnvelope(_))),
        "{err:?}"
    );
}

#[tokio::test]
async fn timeouts_and_connection_reuse() {
    let key = authnzd::envelope::KeyRing::generate_key();
    let silent = standin(&key, |_, _| Answer::Hang).await;
    let c = Client::builder(&silent.url, &key)
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let err = c.session_new(&session_params(None)).await.unwrap_err();
    assert!(matches!(err, Error::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(5));

    // Sequential calls, from the client and its clones, share a connection.
    let echo = standin(&key, |crypto, envelope| {
        success(crypto, &envelope, None, session_answer())
    })
    .await;
    let c = Client::new(&echo.url, &key).unwrap();
    for i in 0..5 {
        let clone = c.clone().with_client_ipaddr(format!("192.0.2.{i}"));
        clone.session_new(&session_params(None)).await.unwrap();
    }
    assert_eq!(echo.connections.load(Ordering::SeqCst), 1);
}
