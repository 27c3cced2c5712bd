//! The typed Rust client against the real server: each layer of its error
//! type, and typed calls across sessions, users, access checks and keys.

mod common;

use authnzd_client::{Client, Error, params};
use common::TestServer;
use serde_json::json;

const PW: &str = "tangerine-Voyage-8713-quartz";

fn session_params(user_id: Option<i64>) -> params::SessionNew {
    params::SessionNew {
        ip_address: "203.0.113.7".into(),
        user_agent: "typed client".into(),
        user_id,
        expires: (chrono::Utc::now() + chrono::Duration::hours(1)).to_rfc3339(),
        extra_info_json: None,
    }
}

#[tokio::test]
async fn typed_calls_from_sign_up_to_delete() {
    let s = TestServer::start().await;
    let c = &s.client;
    let anon = c.session_new(&session_params(None)).await.unwrap();
    let info = c
        .session_exists(&params::SessionExists {
            session_token: anon.session_token.clone(),
        })
        .await
        .unwrap();
    assert_eq!((info.user_id, info.user_role.as_str()), (2, "anonymous"));

    let made = c
        .user_new(&params::UserNew {
            full_name: "Ada Typed".into(),
            email: "ada@example.com".into(),
            password: PW.into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(made.send_verification);
    let verified = c
        .user_set_emailverified(&params::UserSetEmailverified {
            email: "ada@example.com".into(),
        })
        .await
        .unwrap();
    assert_eq!(verified.user_id, made.user_id);
    assert_eq!(verified.user_role, "authenticated");

    let login = params::UserLogin {
        session_token: anon.session_token.clone(),
        email: "ada@example.com".into(),
        password: PW.into(),
    };
    let me = c.user_login(&login).await.unwrap();
    assert_eq!(me.user_id, made.user_id);
    let mine = c
        .session_new(&session_params(Some(me.user_id)))
        .await
        .unwrap();

    let found = c
        .user_lookup_email(&params::UserLookupEmail {
            email: "ada@example.com".into(),
        })
        .await
        .unwrap();
    assert_eq!(found.full_name.as_deref(), Some("Ada Typed"));
    let listed = c
        .user_list(&params::UserList {
            user_id: Some(made.user_id),
        })
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let matched = c
        .user_lookup_match(&params::UserLookupMatch {
            by: "email".into(),
            r#match: json!("ada@example.com"),
        })
        .await
        .unwrap();
    assert_eq!(matched[0].user_id, made.user_id);

    let edited = c
        .internal_user_edit(&params::InternalUserEdit {
            target_userid: made.user_id,
            update_dict: json!({"full_name": "Ada Lovelace"})
                .as_object()
                .unwrap()
                .clone(),
        })
        .await
        .unwrap();
    assert_eq!(edited.full_name.as_deref(), Some("Ada Lovelace"));

    // Questions answered no are Ok(false), not errors.
    let mut access = params::UserCheckAccess {
        user_id: made.user_id,
        user_role: "authenticated".into(),
        action: "view".into(),
        target_name: "dataset".into(),
        target_owner: made.user_id,
        target_visibility: "private".into(),
        target_sharedwith: String::new(),
    };
    assert!(c.user_check_access(&access).await.unwrap());
    access.target_owner = 1;
    assert!(!c.user_check_access(&access).await.unwrap());
    access.user_role = "superuser".into();
    let err = c.user_check_access(&access).await.unwrap_err();
    assert_eq!(
        err.failure_reason(),
        Some("user initiating request is not valid")
    );
    let limit = params::UserCheckLimit {
        user_id: made.user_id,
        user_role: "authenticated".into(),
        limit_name: "max_requests".into(),
        value_to_check: json!(10),
    };
    assert!(c.user_check_limit(&limit).await.unwrap());

    // A session-less API key round trip.
    let key = c
        .apikey_new_nosession(&params::ApikeyNewNosession {
            issuer: "typed".into(),
            audience: "api".into(),
            subject: "/v1".into(),
            apiversion: json!(1),
            expires_seconds: 600,
            not_valid_before: 0.0,
            user_id: made.user_id,
            user_role: "authenticated".into(),
            ip_address: "203.0.113.7".into(),
            refresh_expires: 3600,
            refresh_nbf: 0.0,
        })
        .await
        .unwrap();
    let dict = key.dict().unwrap();
    let key_params = params::ApikeyVerifyNosession {
        apikey_dict: dict.clone(),
        user_id: made.user_id,
        user_role: "authenticated".into(),
    };
    c.apikey_verify_nosession(&key_params).await.unwrap();
    let revoked = c
        .apikey_revokeall_nosession(&params::ApikeyRevokeallNosession {
            apikey_dict: dict,
            user_id: made.user_id,
            user_role: "authenticated".into(),
        })
        .await
        .unwrap();
    assert_eq!(revoked, 1);
    assert!(matches!(
        c.apikey_verify_nosession(&key_params).await,
        Err(Error::Refused { .. })
    ));

    c.user_logout(&params::UserLogout {
        session_token: mine.session_token.clone(),
        user_id: me.user_id,
    })
    .await
    .unwrap();
    let gone = c
        .session_exists(&params::SessionExists {
            session_token: mine.session_token,
        })
        .await;
    assert!(matches!(gone, Err(Error::Refused { .. })), "{gone:?}");
    c.internal_user_delete(&params::InternalUserDelete {
        target_userid: made.user_id,
    })
    .await
    .unwrap();
    s.stop().await;
}

#[tokio::test]
async fn errors_say_which_layer_failed() {
    let s = TestServer::start().await;
    let uid = s.verified_user("ada@example.com", PW).await;
    let anon = s.anon_session().await;

    // The server said no: reason, messages and fields come along.
    let wrong = s
        .client
        .user_login(&params::UserLogin {
            session_token: anon,
            email: "ada@example.com".into(),
            password: format!("x{PW}"),
        })
        .await
        .unwrap_err();
    match wrong {
        Error::Refused {
            failure_reason,
            messages,
            ..
        } => {
            assert!(!failure_reason.is_empty());
            assert!(!messages.is_empty());
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Matching on the password column is refused.
    let bad = s
        .client
        .user_lookup_match(&params::UserLookupMatch {
            by: "password".into(),
            r#match: json!("anything"),
        })
        .await;
    assert!(matches!(bad, Err(Error::Refused { .. })), "{bad:?}");
    assert_eq!(
        s.client
            .user_list(&params::UserList { user_id: Some(uid) })
            .await
            .unwrap()[0]
            .email,
        "ada@example.com"
    );

    // Another key: the server answers 401 without an envelope.
    let stranger = Client::new(s.url(), &authnzd::envelope::KeyRing::generate_key()).unwrap();
    let err = stranger
        .session_exists(&params::SessionExists {
            session_token: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Status { status: 401, .. }), "{err:?}");

    // Nobody listening: a transport error.
    let nowhere = Client::builder("http://127.0.0.1:9/", &s.key)
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
        .unwrap();
    let err = nowhere
        .session_exists(&params::SessionExists {
            session_token: "x".into(),
        })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    s.stop().await;
}

#[tokio::test]
async fn rate_limits_are_a_status_with_retry_after() {
    let s = TestServer::start_with(|c| c.rate_limits = "session:2; burst:2".into()).await;
    let c = Client::builder(s.url(), &s.key)
        .client_ipaddr("198.51.100.20")
        .build()
        .unwrap();
    let mut limited = None;
    for _ in 0..6 {
        let r = c
            .session_exists(&params::SessionExists {
                session_token: "x".into(),
            })
            .await;
        if let Err(Error::Status {
            status: 429,
            retry_after,
            ..
        }) = r
        {
            limited = Some(retry_after);
            break;
        }
    }
    let retry_after = limited.expect("a 429 within 6 requests");
    assert!(retry_after.is_some_and(|s| s >= 1), "{retry_after:?}");
    s.stop().await;
}
