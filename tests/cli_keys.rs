//! What a key rotation by `authnzd key add` / `retire` does to secrets
//! derived from the ring: TOTP users stay enrolled throughout (retire seals
//! their secrets anew), recovery codes made before the rotation work until
//! their key is retired.

mod common;

use authnzd::clock::Clock as _;
use authnzd::envelope::KeyRing;
use common::cli::{RingFile, authnzd, ok, stderr};
use common::{PW, TestServer};
use serde_json::json;

/// The code another implementation computes for the server's clock, after
/// moving it to the next 30 s step (each step is accepted once).
fn next_code(s: &TestServer, secret: &[u8]) -> String {
    s.clock.advance(chrono::Duration::seconds(30));
    let now = u64::try_from(s.clock.now().timestamp()).expect("after 1970");
    totp_lite::totp_custom::<totp_lite::Sha1>(30, 6, secret, now)
}

async fn verify(s: &TestServer, user_id: i64, code: &str) -> bool {
    let r = s
        .call("totp-verify", json!({"user_id": user_id, "code": code}))
        .await;
    r.success
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn totp_users_stay_enrolled_through_a_rotation() {
    let ring = RingFile::new();
    let (mut s, config) = ring.server().await;
    let old = ring.first.clone();

    let user_id = s.verified_user("totp-rotation@example.com", PW).await;
    let started = s.ok("totp-enroll-start", json!({"user_id": user_id})).await;
    let secret = base32::decode(
        base32::Alphabet::Rfc4648 { padding: false },
        started["secret"].as_str().expect("secret"),
    )
    .expect("base32");
    let code = next_code(&s, &secret);
    let finished = s
        .ok(
            "totp-enroll-finish",
            json!({"user_id": user_id, "code": code}),
        )
        .await;
    let recovery: Vec<String> = finished["recovery_codes"]
        .as_array()
        .expect("codes")
        .iter()
        .map(|c| c.as_str().expect("code").to_owned())
        .collect();

    // A new key in front: codes and recovery codes made under the old one work.
    let new = ok(&authnzd(&config, &["key", "add"], None).await, "key add")
        .trim()
        .to_owned();
    s.key = new.clone();
    s.restart().await;
    assert!(verify(&s, user_id, &next_code(&s, &secret)).await);
    assert!(
        verify(&s, user_id, &recovery[0]).await,
        "older recovery code"
    );
    assert!(!verify(&s, user_id, &recovery[0]).await, "spent");

    // Retired: the secret was sealed anew first, so TOTP still works; the
    // recovery codes keyed by the retired key end.
    let old_print = KeyRing::parse(&old).expect("ring").fingerprints().remove(0);
    let retired = authnzd(&config, &["key", "retire", &old_print], None).await;
    ok(&retired, "key retire");
    assert!(
        stderr(&retired).contains("1 TOTP secret(s) sealed anew"),
        "{}",
        stderr(&retired)
    );
    s.restart().await;
    assert!(
        verify(&s, user_id, &next_code(&s, &secret)).await,
        "TOTP after retire"
    );
    assert!(
        !verify(&s, user_id, &recovery[1]).await,
        "retired key's recovery code"
    );
    // Codes made now are keyed by the newest key.
    let fresh = s
        .ok(
            "totp-recovery-regenerate",
            json!({"user_id": user_id, "code": next_code(&s, &secret)}),
        )
        .await;
    let code = fresh["recovery_codes"][0]
        .as_str()
        .expect("code")
        .to_owned();
    assert!(verify(&s, user_id, &code).await);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retire_before_any_restart_leaves_servers_able_to_start() {
    let ring = RingFile::new();
    let (mut s, config) = ring.server().await;

    // The server's own keys are sealed under the old key only; add and
    // retire with no restart between (step 2 of the procedure skipped).
    let new = ok(&authnzd(&config, &["key", "add"], None).await, "key add")
        .trim()
        .to_owned();
    let retired = authnzd(&config, &["key", "retire", "2"], None).await;
    ok(&retired, "key retire");
    assert!(
        stderr(&retired).contains("server signing key(s) sealed anew"),
        "{}",
        stderr(&retired)
    );
    // It starts (a key it cannot open would stop it) and signs as before.
    let public_before = s.running().app.keys.server_key.public_key().to_owned();
    s.key = new.clone();
    s.restart().await;
    assert_eq!(s.running().app.keys.server_key.public_key(), public_before);
    let challenge = s
        .ok("pubkey-challenge-new", json!({"purpose": "login"}))
        .await;
    assert_eq!(challenge["server_public_key"], json!(public_before));
    s.stop().await;
}
