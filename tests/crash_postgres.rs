//! Kill -9 under a write load on PostgreSQL (the local server whatever the
//! backend the other tests use; CI runs it): after a restart, every write
//! acknowledged with `success: true` — users, sessions, API keys — is there.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use authnzd_client::Client;
use common::apikeys::{Key, member};
use common::process::serve;
use common::{PW, Scratch, call, free_port, postgres_admin_url, random_suffix, session_new_body};
use serde_json::json;

#[derive(Default)]
struct Acknowledged {
    users: Vec<(i64, String)>,
    sessions: Vec<String>,
    keys: Vec<Key>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_writes_survive_kill_9_on_postgres() {
    let (scratch, database_url) = Scratch::create(&postgres_admin_url()).await;
    let dir = tempfile::tempdir().expect("tempdir");
    let port = free_port();
    let mut child = serve(dir.path(), port, &database_url, &[]).await;
    let key = std::fs::read_to_string(dir.path().join("authnzd.key")).expect("key file");
    let url = format!("http://127.0.0.1:{port}/");
    let client = Client::new(&url, key.trim()).expect("client");

    // A key holder with a session, for apikey-new.
    let email = format!("holder-{}@example.com", random_suffix());
    let made = call(
        &client,
        "user-new",
        json!({"full_name": "Key Holder", "email": email, "password": PW}),
    )
    .await;
    let uid = made.response["user_id"].as_i64().expect("user_id");
    call(&client, "user-set-emailverified", json!({"email": email})).await;
    let session = call(&client, "session-new", session_new_body(Some(uid), 24)).await;
    let session = common::token_of(&session.response);

    // Writers of each kind run flat out; the kill lands mid-stream.
    let acked = Arc::new(Mutex::new(Acknowledged::default()));
    let mut writers = Vec::new();
    for kind in 0..6 {
        let (client, acked, session) = (client.clone(), acked.clone(), session.clone());
        writers.push(tokio::spawn(async move {
            let mut n = 0u64;
            loop {
                n += 1;
                let r = match kind % 3 {
                    0 => {
                        let email = format!("w{kind}-{n}-{}@example.com", random_suffix());
                        let body = json!({"full_name": "Writer", "email": email, "password": PW});
                        let Ok(r) = client.request("user-new", body).await else {
                            return;
                        };
                        if r.success {
                            let id = r.response["user_id"].as_i64().expect("user_id");
                            acked.lock().expect("lock").users.push((id, email));
                        }
                        r
                    }
                    1 => {
                        let body = session_new_body(None, 1);
                        let Ok(r) = client.request("session-new", body).await else {
                            return;
                        };
                        if r.success {
                            let token = common::token_of(&r.response);
                            acked.lock().expect("lock").sessions.push(token);
                        }
                        r
                    }
                    _ => {
                        let body = member(uid).session_key(&session, 7, 0.0);
                        let Ok(r) = client.request("apikey-new", body).await else {
                            return;
                        };
                        if r.success {
                            acked.lock().expect("lock").keys.push(Key::from_reply(&r));
                        }
                        r
                    }
                };
                assert!(r.success || r.status != 200, "refused under load: {r:?}");
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(2000)).await;
    child.0.kill().expect("SIGKILL");
    child.0.wait().expect("reaped");
    for w in writers {
        w.await.expect("writer");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(
        acked.users.len() >= 5 && acked.sessions.len() >= 5 && acked.keys.len() >= 5,
        "too few writes before the kill: {} users, {} sessions, {} keys",
        acked.users.len(),
        acked.sessions.len(),
        acked.keys.len()
    );

    eprintln!(
        "acknowledged before the kill: {} users, {} sessions, {} keys",
        acked.users.len(),
        acked.sessions.len(),
        acked.keys.len()
    );
    let _child = serve(dir.path(), port, &database_url, &[]).await;
    let client = Client::new(&url, key.trim()).expect("client");
    for token in &acked.sessions {
        let r = call(&client, "session-exists", json!({"session_token": token})).await;
        assert!(r.success, "acknowledged session lost after kill -9: {r:?}");
    }
    for (id, email) in &acked.users {
        let r = call(&client, "user-lookup-email", json!({"email": email})).await;
        assert!(
            r.success,
            "acknowledged user {id} lost after kill -9: {r:?}"
        );
        assert_eq!(r.response["user_info"]["user_id"], *id);
    }
    for k in &acked.keys {
        let r = call(&client, "apikey-verify", member(uid).present(k)).await;
        assert!(r.success, "acknowledged API key lost after kill -9: {r:?}");
    }
    drop(_child);
    scratch.drop_database().await;
}
