//! Passkeys over the wire with webauthn-authenticator-rs's software
//! authenticator: registration from a fresh session, username-first and
//! discoverable sign-in, the second step of a TOTP account, each refusal
//! (origin, RP ID, replay, counter, another user's key), a ceremony
//! finished by ten at once, and one finished by another instance.

mod common;

use authnzd::config::Config;
use authnzd_proto::Refusal;
use common::{PW, TestServer};
use serde_json::{Value, json};
use webauthn_authenticator_rs::WebauthnAuthenticator;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs::prelude::{CreationChallengeResponse, RequestChallengeResponse, Url};

const ORIGIN: &str = "https://localhost";
/// Allowed too; used with another RP ID to get a signature for it.
const OTHER_ORIGIN: &str = "https://a.localhost";

fn configure(c: &mut Config) {
    c.webauthn.webauthn_rp_id = "localhost".into();
    c.webauthn.webauthn_origins = format!("{ORIGIN}; {OTHER_ORIGIN}");
}

async fn server() -> TestServer {
    server_with(|_| {}).await
}

/// The passkey server, then `tweak`.
async fn server_with(tweak: impl FnOnce(&mut Config)) -> TestServer {
    TestServer::start_with(|c| {
        configure(c);
        tweak(c);
    })
    .await
}

fn url(s: &str) -> Url {
    Url::parse(s).expect("a URL")
}

/// A passkey on a software authenticator, and what a test needs of it.
struct Key {
    authenticator: SoftPasskey,
    user_id: i64,
    /// The credential id and user handle, base64url (a browser reads them
    /// off a resident key; the software one keeps neither).
    credential_id: Value,
    user_handle: Value,
    passkey_id: String,
}

impl Key {
    /// The authenticator's answer to `options`, on `origin`.
    fn assert(&mut self, options: &Value, origin: &str) -> Value {
        let rcr: RequestChallengeResponse =
            serde_json::from_value(options.clone()).expect("request options");
        let a = self
            .authenticator
            .do_authentication(url(origin), rcr)
            .expect("the authenticator signs");
        serde_json::to_value(a).expect("JSON")
    }

    /// As a browser with a resident key answers a discoverable request:
    /// the key picked, the user handle returned.
    fn assert_discoverable(&mut self, options: &Value, handle: &Value) -> Value {
        let mut o = options.clone();
        o["publicKey"]["allowCredentials"] =
            json!([{"type": "public-key", "id": self.credential_id}]);
        let mut a = self.assert(&o, ORIGIN);
        a["response"]["userHandle"] = handle.clone();
        a
    }
}

/// A verified user with a user-verifying passkey, added over RPC from a
/// session just signed in with the password.
async fn with_passkey(s: &TestServer, email: &str) -> Key {
    let user_id = s.verified_user(email, PW).await;
    let (_, session) = s.login(email, PW).await.expect("signs in");
    add_passkey(s, user_id, &session, SoftPasskey::new(true)).await
}

async fn add_passkey(s: &TestServer, user_id: i64, session: &str, mut a: SoftPasskey) -> Key {
    let started = s
        .ok("passkey-register-start", json!({"session_token": session}))
        .await;
    let ccr: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("creation options");
    let user_handle = started["options"]["publicKey"]["user"]["id"].clone();
    assert_eq!(
        user_handle.as_str().map(str::len),
        Some(22),
        "a 16-byte random handle, not the user id"
    );
    let reg = a.do_registration(url(ORIGIN), ccr).expect("registers");
    let reg = serde_json::to_value(reg).expect("JSON");
    let added = s
        .ok(
            "passkey-register-finish",
            json!({"ceremony_id": started["ceremony_id"], "session_token": session,
                   "credential": reg, "label": "laptop"}),
        )
        .await;
    assert_eq!(added["label"], "laptop");
    Key {
        authenticator: a,
        user_id,
        credential_id: reg["rawId"].clone(),
        user_handle,
        passkey_id: added["passkey_id"].as_str().expect("id").to_owned(),
    }
}

async fn login_start(s: &TestServer, body: Value) -> Value {
    s.ok("passkey-login-start", body).await
}

fn finish_body(started: &Value, credential: &Value) -> Value {
    json!({"ceremony_id": started["ceremony_id"], "credential": credential})
}

#[tokio::test]
async fn register_list_rename_and_sign_in_username_first_and_discoverable() {
    let s = server().await;
    let mut key = with_passkey(&s, "pk@example.com").await;
    let listed = s.ok("passkey-list", json!({"user_id": key.user_id})).await;
    assert_eq!(listed["passkeys"].as_array().map(Vec::len), Some(1));
    assert_eq!(listed["passkeys"][0]["passkey_id"], key.passkey_id.as_str());
    assert_eq!(s.audit_count("passkey-added").await, 1);

    // Username-first: the options list the user's passkey.
    let started = login_start(&s, json!({"email": "pk@example.com"})).await;
    let allowed = &started["options"]["publicKey"]["allowCredentials"];
    assert_eq!(allowed[0]["id"], key.credential_id);
    let a = key.assert(&started["options"], ORIGIN);
    let anon = s.anon_session().await;
    let mut body = finish_body(&started, &a);
    body["session_token"] = json!(anon);
    let done = s.ok("passkey-login-finish", body).await;
    assert_eq!(done["user_id"], key.user_id);
    assert_eq!(
        done["amr"],
        json!(["passkey", "mfa"]),
        "user-verified: two factors"
    );
    assert!(!s.session_alive(&anon).await, "the pre-login session ends");
    let session = s.session_for(Some(key.user_id), 1).await;
    let info = s
        .ok("session-exists", json!({"session_token": session}))
        .await;
    assert_eq!(info["session_info"]["amr"], json!(["passkey", "mfa"]));

    // Discoverable: no address, no list; the authenticator names the user.
    let started = login_start(&s, json!({})).await;
    assert_eq!(
        started["options"]["publicKey"]["allowCredentials"],
        json!([])
    );
    assert!(started["options"].get("mediation").is_none());
    let handle = key.user_handle.clone();
    let a = key.assert_discoverable(&started["options"], &handle);
    let done = s
        .ok("passkey-login-finish", finish_body(&started, &a))
        .await;
    assert_eq!(done["user_id"], key.user_id);
    assert_eq!(s.audit_count("passkey-login").await, 2);

    // An unknown address gets a discoverable ceremony: nothing to tell.
    let started = login_start(&s, json!({"email": "nobody@example.com"})).await;
    assert_eq!(
        started["options"]["publicKey"]["allowCredentials"],
        json!([])
    );

    s.ok(
        "passkey-rename",
        json!({"user_id": key.user_id, "passkey_id": key.passkey_id, "label": "phone"}),
    )
    .await;
    let listed = s.ok("passkey-list", json!({"user_id": key.user_id})).await;
    assert_eq!(listed["passkeys"][0]["label"], "phone");
    assert!(listed["passkeys"][0]["last_used"].is_string());
    s.ok(
        "passkey-delete",
        json!({"user_id": key.user_id, "passkey_id": key.passkey_id}),
    )
    .await;
    assert_eq!(s.audit_count("passkey-removed").await, 1);
    let started = login_start(&s, json!({"email": "pk@example.com"})).await;
    let a = key.assert_discoverable(&started["options"], &handle);
    s.refuses(
        "passkey-login-finish",
        finish_body(&started, &a),
        Refusal::PasskeyUnknown,
    )
    .await;
}

#[tokio::test]
async fn adding_a_passkey_needs_a_live_fresh_session_and_passkeys_configured() {
    let s = server().await;
    s.refuses(
        "passkey-register-start",
        json!({"session_token": "no-such-session"}),
        Refusal::SessionNotFound,
    )
    .await;
    let user_id = s.verified_user("stale@example.com", PW).await;
    let (_, session) = s.login("stale@example.com", PW).await.expect("signs in");
    let window = s.config.sessions.fresh_sign_in_window;
    s.clock.advance(chrono::Duration::seconds(
        i64::try_from(window).unwrap() + 1,
    ));
    s.refuses(
        "passkey-register-start",
        json!({"session_token": session}),
        Refusal::FreshSignInRequired,
    )
    .await;
    assert!(user_id > 0);

    let off = TestServer::start().await;
    off.refuses("passkey-login-start", json!({}), Refusal::PasskeysOff)
        .await;
}

#[tokio::test]
async fn wrong_origin_wrong_rp_id_replay_and_counter_regression_are_refused_for_their_reasons() {
    let s = server().await;
    let mut key = with_passkey(&s, "refusals@example.com").await;
    let email = json!({"email": "refusals@example.com"});

    let started = login_start(&s, email.clone()).await;
    let a = key.assert(&started["options"], "https://evil.localhost");
    let r = Refusal::PasskeyWrongOrigin;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;

    let started = login_start(&s, email.clone()).await;
    let mut other_rp = started["options"].clone();
    other_rp["publicKey"]["rpId"] = json!("a.localhost");
    let a = key.assert(&other_rp, OTHER_ORIGIN);
    let r = Refusal::PasskeyWrongRpId;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;

    // A signed-in assertion sent again: its ceremony is spent; sent for a
    // new ceremony, it answers the old challenge.
    let started = login_start(&s, email.clone()).await;
    let a = key.assert(&started["options"], ORIGIN);
    s.ok("passkey-login-finish", finish_body(&started, &a))
        .await;
    let r = Refusal::PasskeyCeremonyUsed;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;
    let again = login_start(&s, email.clone()).await;
    let r = Refusal::PasskeyChallengeMismatch;
    s.refuses("passkey-login-finish", finish_body(&again, &a), r)
        .await;

    // A clone of the key ran ahead: the stored counter is past the one this
    // copy signs with.
    set_counter(&s, &key.passkey_id, 1000).await;
    let started = login_start(&s, email.clone()).await;
    let a = key.assert(&started["options"], ORIGIN);
    let r = Refusal::PasskeyCounterRegressed;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;

    // An expired ceremony.
    let started = login_start(&s, email).await;
    let a = key.assert(&started["options"], ORIGIN);
    let ttl = i64::try_from(s.config.webauthn.webauthn_ceremony_ttl).unwrap();
    s.clock.advance(chrono::Duration::seconds(ttl + 1));
    let r = Refusal::PasskeyCeremonyExpired;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;
    assert!(s.audit_count("passkey-login-failed").await >= 4);
}

/// Sets the stored signature counter of a passkey.
async fn set_counter(s: &TestServer, passkey_id: &str, counter: u32) {
    edit_stored(s, passkey_id, |cred| cred["counter"] = json!(counter)).await;
}

/// Changes the stored webauthn-rs credential of a passkey.
async fn edit_stored(s: &TestServer, passkey_id: &str, edit: impl FnOnce(&mut Value)) {
    use sea_orm::{ActiveModelTrait, EntityTrait, IntoActiveModel, Set};
    let db = &s.running().app.db;
    let row = entity::passkeys::Entity::find_by_id(passkey_id.to_owned())
        .one(db)
        .await
        .expect("read")
        .expect("the passkey");
    let mut stored: Value = serde_json::from_str(&row.passkey).expect("JSON");
    edit(&mut stored["cred"]);
    let mut m = row.into_active_model();
    m.passkey = Set(stored.to_string());
    m.update(db).await.expect("updated");
}

#[tokio::test]
async fn another_users_passkey_is_refused() {
    let s = server().await;
    let alice = with_passkey(&s, "alice@example.com").await;
    let mut bob = with_passkey(&s, "bob@example.com").await;

    // Username-first for Alice, answered with Bob's key.
    let started = login_start(&s, json!({"email": "alice@example.com"})).await;
    let mut o = started["options"].clone();
    o["publicKey"]["allowCredentials"] = json!([{"type": "public-key", "id": bob.credential_id}]);
    let a = bob.assert(&o, ORIGIN);
    let r = Refusal::PasskeyOtherUser;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;

    // Discoverable: Bob's key claiming Alice's user handle.
    let started = login_start(&s, json!({})).await;
    let a = bob.assert_discoverable(&started["options"], &alice.user_handle);
    let r = Refusal::PasskeyOtherUser;
    s.refuses("passkey-login-finish", finish_body(&started, &a), r)
        .await;

    // Nor may Alice delete or rename Bob's.
    let theirs = json!({"user_id": alice.user_id, "passkey_id": bob.passkey_id});
    s.refuses("passkey-delete", theirs.clone(), Refusal::PasskeyUnknown)
        .await;
    s.refuses("passkey-rename", theirs, Refusal::PasskeyUnknown)
        .await;
}

#[tokio::test]
async fn a_totp_account_signs_in_with_a_user_verified_passkey_or_uses_it_as_the_second_step() {
    let s = server().await;
    let mut key = with_passkey(&s, "totp-pk@example.com").await;
    s.with_totp(key.user_id).await;

    // The passkey alone: it verified the user, so it is both factors.
    let started = login_start(&s, json!({"email": "totp-pk@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let done = s
        .ok("passkey-login-finish", finish_body(&started, &a))
        .await;
    assert_eq!(done["amr"], json!(["passkey", "mfa"]));

    // The password first: the second step offers the passkey.
    let r = s.try_login("totp-pk@example.com", PW).await;
    assert_eq!(r.refusal(), Some(Refusal::SecondFactorRequired));
    assert_eq!(
        r.response["methods"],
        json!(["totp", "recovery_code", "passkey"])
    );
    let token = r.response["mfa_token"].clone();
    let started = login_start(&s, json!({"mfa_token": token})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let done = s
        .ok(
            "user-login-mfa",
            json!({"mfa_token": token, "passkey_ceremony_id": started["ceremony_id"],
                   "passkey_credential": a}),
        )
        .await;
    assert_eq!(done["user_id"], key.user_id);
    assert_eq!(done["amr"], json!(["pwd", "passkey", "mfa"]));

    // A second-step ceremony is for that sign-in only.
    let started = login_start(&s, json!({"email": "totp-pk@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let r = s.try_login("totp-pk@example.com", PW).await;
    let token = r.response["mfa_token"].clone();
    s.refuses(
        "user-login-mfa",
        json!({"mfa_token": token, "passkey_ceremony_id": started["ceremony_id"],
               "passkey_credential": a}),
        Refusal::PasskeyCeremonyMismatch,
    )
    .await;
}

#[tokio::test]
async fn a_presence_only_security_key_is_one_factor() {
    let s = server_with(|c| c.webauthn.webauthn_user_verification = "discouraged".into()).await;
    let user_id = s.verified_user("up@example.com", PW).await;
    let (_, session) = s.login("up@example.com", PW).await.expect("signs in");
    let mut key = add_passkey(&s, user_id, &session, SoftPasskey::new(false)).await;
    let started = login_start(&s, json!({"email": "up@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let done = s
        .ok("passkey-login-finish", finish_body(&started, &a))
        .await;
    assert_eq!(done["amr"], json!(["passkey"]));

    s.with_totp(user_id).await;
    let started = login_start(&s, json!({"email": "up@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let r = s
        .call("passkey-login-finish", finish_body(&started, &a))
        .await;
    assert_eq!(r.refusal(), Some(Refusal::SecondFactorRequired));
    assert_eq!(r.response["methods"], json!(["totp", "recovery_code"]));
}

#[tokio::test]
async fn ten_concurrent_finishes_of_one_ceremony_make_one_sign_in() {
    let s = server().await;
    let mut key = with_passkey(&s, "race@example.com").await;
    let started = login_start(&s, json!({"email": "race@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let replies = common::concurrency::at_once(
        &s.client,
        "passkey-login-finish",
        (0..10).map(|_| finish_body(&started, &a)),
    )
    .await;
    let ok = replies.iter().filter(|r| r.success).count();
    let used = replies
        .iter()
        .filter(|r| r.refusal() == Some(Refusal::PasskeyCeremonyUsed))
        .count();
    assert_eq!((ok, used), (1, 9), "{replies:?}");
    assert_eq!(s.audit_count("passkey-login").await, 1);
}

#[tokio::test]
async fn a_ceremony_started_on_one_instance_is_finished_on_another() {
    let a = server().await;
    let b = TestServer::start_beside(&a, configure).await;
    let mut key = with_passkey(&a, "two@example.com").await;
    let started = login_start(&a, json!({"email": "two@example.com"})).await;
    let assertion = key.assert(&started["options"], ORIGIN);
    let done = b
        .ok("passkey-login-finish", finish_body(&started, &assertion))
        .await;
    assert_eq!(done["user_id"], key.user_id);
    a.refuses(
        "passkey-login-finish",
        finish_body(&started, &assertion),
        Refusal::PasskeyCeremonyUsed,
    )
    .await;
}

#[tokio::test]
async fn a_registration_is_bound_to_its_session_and_to_the_allowed_models() {
    // No authenticator has this model.
    let s = server_with(|c| {
        c.webauthn.webauthn_aaguids = "6f1d3b1c-3c2a-4e55-9a53-0d8a1b0c2d3e".into()
    })
    .await;
    let user_id = s.verified_user("models@example.com", PW).await;
    let (_, session) = s.login("models@example.com", PW).await.expect("signs in");
    let (_, other) = s.login("models@example.com", PW).await.expect("signs in");
    let started = s
        .ok("passkey-register-start", json!({"session_token": session}))
        .await;
    let ccr: CreationChallengeResponse =
        serde_json::from_value(started["options"].clone()).expect("creation options");
    let reg = SoftPasskey::new(true)
        .do_registration(url(ORIGIN), ccr)
        .expect("registers");
    let body = |session: &str| {
        json!({"ceremony_id": started["ceremony_id"], "session_token": session,
               "credential": reg})
    };
    // Another session of the same user cannot finish it (nor spend it).
    s.refuses(
        "passkey-register-finish",
        body(&other),
        Refusal::PasskeyCeremonyMismatch,
    )
    .await;
    s.refuses(
        "passkey-register-finish",
        body(&session),
        Refusal::PasskeyModelNotAllowed,
    )
    .await;
    let listed = s.ok("passkey-list", json!({"user_id": user_id})).await;
    assert_eq!(listed["passkeys"], json!([]));
}

#[tokio::test]
async fn an_allowed_model_registers() {
    // The software authenticator's AAGUID is all zeros.
    let s = server_with(|c| {
        c.webauthn.webauthn_aaguids =
            "6f1d3b1c-3c2a-4e55-9a53-0d8a1b0c2d3e; 00000000-0000-0000-0000-000000000000".into();
    })
    .await;
    with_passkey(&s, "allowed@example.com").await;
}

#[tokio::test]
async fn a_password_reset_revokes_the_passkeys() {
    let s = server().await;
    let key = with_passkey(&s, "reset@example.com").await;
    let reset = json!({"email_address": "reset@example.com", "new_password": common::PW2,
                       "required_active": true});
    s.ok("user-resetpass-nosession", reset).await;
    let listed = s.ok("passkey-list", json!({"user_id": key.user_id})).await;
    assert_eq!(listed["passkeys"], json!([]));
}

#[tokio::test]
async fn a_changed_backup_eligibility_is_refused_with_its_reason() {
    let s = server().await;
    let mut key = with_passkey(&s, "backup@example.com").await;
    let listed = s.ok("passkey-list", json!({"user_id": key.user_id})).await;
    assert_eq!(listed["passkeys"][0]["backup_eligible"], false);
    // Registered as synced, now answering as a device-bound key.
    edit_stored(&s, &key.passkey_id, |cred| {
        cred["backup_eligible"] = json!(true)
    })
    .await;
    let started = login_start(&s, json!({"email": "backup@example.com"})).await;
    let a = key.assert(&started["options"], ORIGIN);
    let r = s
        .call("passkey-login-finish", finish_body(&started, &a))
        .await;
    assert_eq!(r.refusal(), Some(Refusal::PasskeyBackupChanged));
    assert!(
        r.messages.iter().any(|m| m.contains("add it again")),
        "{r:?}"
    );
}
