//! The wait map behind `pubkey-challenge-wait` over the wire: many waits at
//! once on one challenge, answered, timing out and cancelled by their
//! clients, leave no entry behind; ids that cannot be ids get none.

mod common;

use authnzd_proto::Refusal;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use common::{PW, TestServer, call};
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

fn signature(key: &SigningKey, purpose: &str, c: &Value) -> String {
    let message = format!(
        "authnzd-pubkey-v1\n{purpose}\n{}\n{}",
        c["challenge_id"].as_str().unwrap(),
        c["challenge"].as_str().unwrap()
    );
    STANDARD.encode(key.sign(message.as_bytes()).to_bytes())
}

/// Polls the map until it is empty; what is left after 10 s fails the test
/// (waits whose client went away end at the latest when their challenge
/// completes, well within that).
async fn map_empties(s: &TestServer, what: &str) {
    let waits = &s.running().app.challenge_waits;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !waits.is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: {} entries left in the wait map",
            waits.len()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn sixty_rounds_of_thirty_two_waits_leave_the_map_empty() {
    let s = TestServer::start().await;
    s.verified_user("waits@example.com", PW).await;
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).unwrap();
    let key = SigningKey::from_bytes(&seed);
    let (_, session) = s.login("waits@example.com", PW).await.unwrap();
    let c = s
        .ok(
            "pubkey-challenge-new",
            json!({"purpose": "register", "session_token": session}),
        )
        .await;
    let registered = s
        .ok(
            "pubkey-register",
            json!({"challenge_id": c["challenge_id"],
                   "public_key": STANDARD.encode(key.verifying_key().to_bytes()),
                   "signature": signature(&key, "register", &c)}),
        )
        .await;
    s.ok(
        "pubkey-register-confirm",
        json!({"challenge_id": c["challenge_id"], "wait_secret": c["wait_secret"]}),
    )
    .await;
    let key_id = registered["key_id"].clone();
    // Clients that give up on their wait (the server's side goes on).
    let impatient = [20, 60, 150].map(|ms| s.impatient_client(Duration::from_millis(ms)));

    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for round in 0..60usize {
        let c = s
            .ok("pubkey-challenge-new", json!({"purpose": "login"}))
            .await;
        // Every tenth round nobody completes the challenge: the waits end
        // by their own time.
        let completes = round % 10 != 9;
        let waits: Vec<_> = (0..32usize)
            .map(|n| {
                let client = match n % 4 {
                    1 => impatient[(n / 4 + round) % 3].clone(),
                    _ => s.client.clone(),
                };
                let wait_seconds = match n % 4 {
                    0 => 0,
                    2 => 1,
                    _ if completes => 5,
                    _ => 1,
                };
                let body = json!({"challenge_id": c["challenge_id"],
                                  "wait_secret": c["wait_secret"], "wait_seconds": wait_seconds});
                tokio::spawn(async move {
                    match client.request("pubkey-challenge-wait", body).await {
                        Ok(r) if r.success => r.response["status"].as_str().unwrap().to_owned(),
                        Ok(r) => format!("refused: {:?}", r.refusal()),
                        Err(_) => "client gave up".to_owned(),
                    }
                })
            })
            .collect();
        if completes {
            tokio::time::sleep(Duration::from_millis(30)).await;
            let body = json!({"challenge_id": c["challenge_id"], "key_id": key_id,
                              "signature": signature(&key, "login", &c)});
            s.ok("pubkey-login", body).await;
        }
        for w in waits {
            *outcomes.entry(w.await.unwrap()).or_default() += 1;
        }
        map_empties(&s, &format!("round {round}")).await;
    }
    eprintln!("outcomes: {outcomes:?}");
    assert!(
        outcomes.keys().all(|k| !k.starts_with("refused")),
        "{outcomes:?}"
    );
    // One wait of a completed round gets the session; the others see it
    // handed out.
    for seen in ["completed", "used", "pending", "client gave up"] {
        assert!(
            outcomes.contains_key(seen),
            "no wait ended {seen}: {outcomes:?}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn ids_that_cannot_be_ids_get_no_entry() {
    let s = TestServer::start().await;
    let waits = &s.running().app.challenge_waits;
    let c = s
        .ok("pubkey-challenge-new", json!({"purpose": "login"}))
        .await;
    let real = c["challenge_id"].as_str().unwrap().to_owned();
    let unknown = "0".repeat(32);
    let huge = "a".repeat(512 * 1024);
    let upper = real.to_ascii_uppercase();
    let tasks: Vec<_> = [huge.as_str(), "nope", "", upper.as_str(), unknown.as_str()]
        .into_iter()
        .map(|id| {
            let client = s.client.clone();
            let body = json!({"challenge_id": id, "wait_secret": "x", "wait_seconds": 30});
            tokio::spawn(async move { call(&client, "pubkey-challenge-wait", body).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert!(!r.success, "{r:?}");
        assert_eq!(r.refusal(), Some(Refusal::ChallengeUnknown));
    }
    assert!(waits.is_empty(), "{} entries", waits.len());
    // A real one waits (and holds its one entry meanwhile).
    let body = json!({"challenge_id": real, "wait_secret": c["wait_secret"], "wait_seconds": 1});
    let waiting = tokio::spawn({
        let client = s.client.clone();
        async move { call(&client, "pubkey-challenge-wait", body).await }
    });
    let r = waiting.await.unwrap();
    assert_eq!(r.response["status"], "pending");
    assert!(waits.is_empty());
}
