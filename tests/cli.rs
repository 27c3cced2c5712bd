//! The operator's command line, driven as a process (`authnzd user …`,
//! `key …`, `check-config`, `request`, `completions`, `man`) against real
//! servers of the kit, on the database `AUTHNZD_TEST_DATABASE_URL` names.

mod common;

use authnzd_proto::Refusal;
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use authnzd::envelope::KeyRing;
use authnzd_client::Client;
use common::cli::{RingFile, authnzd, json_of, ok, private_key_file, stderr, stdout, write_config};
use common::{PW, PW2, TestServer, login_body, random_suffix, session_new_body, token_of};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_added_by_the_cli_logs_in_over_rpc_and_the_other_user_commands_work() {
    // No session cache: what the command changes is seen at once (the lock
    // test below measures the bound with a cache).
    let s = TestServer::start_with(|c| c.sessions.session_cache_ttl = 0).await;
    let config = write_config(&s, &s.key, "");
    let email = format!("cli-{}@example.com", random_suffix());

    // The password policy is the server's: a short one is refused, nothing made.
    let refused = authnzd(&config, &["user", "add", &email], Some("short\n")).await;
    assert!(!refused.status.success(), "{}", stdout(&refused));
    assert!(
        stderr(&refused).contains(Refusal::InvalidPassword.as_str()),
        "{}",
        stderr(&refused)
    );
    assert!(
        !authnzd(&config, &["user", "show", &email], None)
            .await
            .status
            .success()
    );

    let added = authnzd(
        &config,
        &[
            "user",
            "add",
            &email,
            "--name",
            "Cli Person",
            "--role",
            "staff",
            "--json",
        ],
        Some(&format!("{PW}\n")),
    )
    .await;
    let info = json_of(&added, "user add");
    assert_eq!(info["email"], json!(email));
    assert_eq!(info["user_role"], json!("staff"));
    assert_eq!(info["email_verified"], json!(true));
    let id = info["user_id"].as_i64().expect("user_id");

    // It logs in over RPC at once, with that password only.
    let wrong = s.try_login(&email, PW2).await;
    assert!(!wrong.success, "{wrong:?}");
    let (logged, session) = s.login(&email, PW).await.expect("logs in");
    assert_eq!(logged, id);
    assert_eq!(
        s.session_exists(&session).await.response["session_info"]["user_role"],
        json!("staff")
    );

    let listed = json_of(
        &authnzd(&config, &["user", "list", "--json"], None).await,
        "list",
    );
    let emails: Vec<&str> = listed
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert!(emails.contains(&email.as_str()), "{emails:?}");
    let shown = json_of(
        &authnzd(&config, &["user", "show", &id.to_string(), "--json"], None).await,
        "show",
    );
    assert_eq!(shown["email"], json!(email));

    let demoted = authnzd(
        &config,
        &["user", "set-role", &email, "authenticated", "--json"],
        None,
    );
    assert_eq!(
        json_of(&demoted.await, "set-role")["user_role"],
        json!("authenticated")
    );

    // A reset from stdin: the old password stops working, sessions end.
    let reset = authnzd(
        &config,
        &["user", "reset-password", &email],
        Some(&format!("{PW2}\n")),
    );
    ok(&reset.await, "reset-password");
    assert!(!s.try_login(&email, PW).await.success);
    assert!(s.try_login(&email, PW2).await.success);
    assert!(!s.session_alive(&session).await);

    // Delete asks for --yes without a terminal; then the account is gone.
    let unasked = authnzd(&config, &["user", "delete", &email], None).await;
    assert!(!unasked.status.success());
    assert!(s.try_login(&email, PW2).await.success);
    ok(
        &authnzd(&config, &["user", "delete", &email, "--yes"], None).await,
        "delete",
    );
    assert!(!s.try_login(&email, PW2).await.success);
    assert!(
        !authnzd(&config, &["user", "show", &email], None)
            .await
            .status
            .success()
    );
    let events: Vec<String> = s.audit_events().await.into_iter().map(|e| e.0).collect();
    assert!(
        events.contains(&"operator-user-add".to_owned()),
        "{events:?}"
    );
    assert!(
        events.contains(&"operator-user-delete".to_owned()),
        "{events:?}"
    );
    s.stop().await;
}

/// The command writes its invalidations to the log the running servers
/// read every second (and on PostgreSQL also `NOTIFY`s them) before it
/// exits, so the lock is seen within two seconds (one on PostgreSQL) under
/// a cache that would hold the session for ten minutes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_from_the_cli_reaches_a_running_server_within_two_seconds() {
    let on_postgres = std::env::var("AUTHNZD_TEST_DATABASE_URL")
        .is_ok_and(|u| u.trim_start().starts_with("postgres"));
    let bound = Duration::from_secs(if on_postgres { 1 } else { 2 });
    let s = TestServer::start_with(|c| c.sessions.session_cache_ttl = 600).await;
    let config = write_config(&s, &s.key, "");
    let email = format!("lock-{}@example.com", random_suffix());
    s.verified_user(&email, PW).await;
    let (_, session) = s.login(&email, PW).await.expect("logs in");
    assert!(s.session_alive(&session).await, "cached now");

    let locked = authnzd(&config, &["user", "lock", &email, "--json"], None).await;
    assert_eq!(json_of(&locked, "lock")["user_role"], json!("locked"));
    let since = Instant::now();
    while s.session_alive(&session).await {
        assert!(
            since.elapsed() < bound,
            "session still alive {:?} after the lock",
            since.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Checked only now: a login attempt could drop the cached user here.
    assert!(!s.try_login(&email, PW).await.success);
    ok(
        &authnzd(&config, &["user", "unlock", &email], None).await,
        "unlock",
    );
    let back = s.login(&email, PW).await.expect("logs in after unlock").0;
    assert_eq!(
        s.ok("user-list", json!({"user_id": back})).await["user_info"][0]["user_role"],
        json!("authenticated")
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_rotation_keeps_the_old_key_working_until_it_is_retired() {
    let ring = RingFile::new();
    let (mut s, config) = ring.server().await;
    let (old, key_file) = (ring.first.clone(), ring.path.clone());
    let session_new = |c: Client| async move {
        c.request("session-new", session_new_body(None, 1))
            .await
            .expect("reply")
    };
    let before = session_new(Client::new(s.url(), &old).expect("client")).await;
    assert!(before.success, "{before:?}");

    let added = authnzd(&config, &["key", "add"], None).await;
    let new = ok(&added, "key add").trim().to_owned();
    assert!(KeyRing::parse(&new).is_ok(), "{new}");
    let mode = std::fs::metadata(&key_file)
        .expect("meta")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let listed = json_of(
        &authnzd(&config, &["key", "list", "--json"], None).await,
        "list",
    );
    let prints: Vec<String> = listed
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["fingerprint"].as_str().expect("fingerprint").to_owned())
        .collect();
    assert_eq!(prints.len(), 2);
    assert_eq!(
        prints[1],
        KeyRing::parse(&old).expect("ring").fingerprints()[0]
    );

    // After a restart both keys open requests.
    s.restart().await;
    for key in [&old, &new] {
        let r = session_new(Client::new(s.url(), key).expect("client")).await;
        assert!(r.success, "{r:?}");
    }
    // Retired: the running server still has it until it restarts; then 401.
    ok(
        &authnzd(&config, &["key", "retire", &prints[1]], None).await,
        "key retire",
    );
    let still = session_new(Client::new(s.url(), &old).expect("client")).await;
    assert!(still.success, "{still:?}");
    s.restart().await;
    let refused = session_new(Client::new(s.url(), &old).expect("client")).await;
    assert_eq!(refused.status, 401, "{refused:?}");
    let fine = session_new(Client::new(s.url(), &new).expect("client")).await;
    assert!(fine.success, "{fine:?}");

    // The last key stays; a key that starts with '-' is taken as --key=….
    let last = authnzd(&config, &["key", "retire", "1"], None).await;
    assert!(!last.status.success(), "{}", stdout(&last));
    let dashed = loop {
        let k = KeyRing::generate_key();
        if k.starts_with('-') {
            break k;
        }
    };
    ok(
        &authnzd(&config, &["key", "add", &format!("--key={dashed}")], None).await,
        "add --key",
    );
    let ring = std::fs::read_to_string(&key_file).expect("ring");
    assert_eq!(
        ring.lines().collect::<Vec<_>>(),
        vec![dashed.as_str(), new.as_str()]
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_config_names_each_problem_on_a_line() {
    let s = TestServer::start().await;
    let key_file = s.path("check.key");
    private_key_file(&key_file, &KeyRing::generate_key());
    let file = key_file.display().to_string();
    let good = write_config(&s, &file, "");
    let out = authnzd(&good, &["check-config"], None).await;
    assert_eq!(ok(&out, "good config").trim(), "configuration OK");

    // A policy without one of its actions (so a rule names one that does
    // not exist), a world-readable key
    // file, and a value out of bounds: three problems, three lines.
    let policy: Value =
        serde_json::from_str(include_str!("../src/policy/default.json")).expect("policy");
    let mut text = serde_json::to_string_pretty(&policy).expect("json");
    text = text.replacen("\"view\"", "\"teleport\"", 1);
    assert!(text.contains("teleport"));
    let policy_file = s.path("bad-policy.json");
    std::fs::write(&policy_file, text).expect("policy written");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let bad = write_config(
        &s,
        &file,
        &format!(
            "permissions = {:?}\nrequest_ttl = 0\n",
            policy_file.display().to_string()
        ),
    );
    let out = authnzd(&bad, &["check-config"], None).await;
    assert!(!out.status.success());
    let lines: Vec<String> = stdout(&out).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 3, "{lines:#?}");
    assert!(
        lines
            .iter()
            .any(|l| l.contains("permissions") && l.contains("unknown action")),
        "{lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("chmod 600")), "{lines:#?}");
    assert!(
        lines.iter().any(|l| l.contains("request_ttl")),
        "{lines:#?}"
    );

    // A database that does not answer is a problem too.
    let unreachable = s.path("unreachable.toml");
    std::fs::write(
        &unreachable,
        "database_url = \"postgres://authnzd@127.0.0.1:1/none\"\nsecret = \"not-a-key\"\n",
    )
    .expect("config");
    let out = authnzd(&unreachable, &["check-config"], None).await;
    assert!(!out.status.success());
    let lines = stdout(&out);
    assert!(lines.lines().any(|l| l.starts_with("database:")), "{lines}");
    assert!(lines.lines().any(|l| l.contains("`secret`")), "{lines}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_round_trips_session_new() {
    let s = TestServer::start().await;
    let config = write_config(&s, &s.key, "");
    let body = session_new_body(None, 1).to_string();
    let key_arg = format!("--key={}", s.key);
    let url = s.url();
    let out = authnzd(
        &config,
        &["request", "session-new", &body, "--url", &url, &key_arg],
        None,
    );
    let answer = json_of(&out.await, "request");
    assert_eq!(answer["success"], json!(true), "{answer}");
    let token = token_of(&answer["response"]);
    // The session it made is real.
    let found = s.session_exists(&token).await;
    assert!(found.success, "{found:?}");
    assert_eq!(
        found.response["session_info"]["user_role"],
        json!("anonymous")
    );

    // The key from the configuration, and from --key-file.
    let from_config = authnzd(&config, &["request", "session-new", &body], None).await;
    assert_eq!(json_of(&from_config, "request")["success"], json!(true));
    let key_file = s.path("frontend.key");
    private_key_file(&key_file, &s.key);
    let file = key_file.display().to_string();
    let args = ["request", "user-login", "--url", &url, "--key-file", &file];
    let login = login_body(&token, "nobody@example.com", PW).to_string();
    let mut args = args.to_vec();
    args.insert(2, &login);
    let refused = authnzd(&config, &args, None).await;
    assert!(!refused.status.success());
    let answer: Value = serde_json::from_str(&stdout(&refused)).expect("JSON answer");
    assert_eq!(answer["success"], json!(false));
    assert!(answer["failure_reason"].is_string(), "{answer}");

    // Another key: no envelope comes back, the status is told.
    let other = format!("--key={}", KeyRing::generate_key());
    let out = authnzd(
        &config,
        &["request", "session-new", &body, "--url", &url, &other],
        None,
    );
    let out = out.await;
    assert!(!out.status.success());
    assert!(stderr(&out).contains("401"), "{}", stderr(&out));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn help_completions_and_man_page() {
    let dir = tempfile::tempdir().expect("dir");
    let config = dir.path().join("none.toml");
    std::fs::write(&config, "").expect("config");
    let subcommands: &[&[&str]] = &[
        &["serve"],
        &["keygen"],
        &["migrate"],
        &["rotate-token-key"],
        &["catalogue"],
        &["check-config"],
        &["request"],
        &["completions"],
        &["man"],
        &["user", "add"],
        &["user", "list"],
        &["user", "show"],
        &["user", "lock"],
        &["user", "unlock"],
        &["user", "set-role"],
        &["user", "reset-password"],
        &["user", "delete"],
        &["key", "add"],
        &["key", "list"],
        &["key", "retire"],
    ];
    for sub in subcommands {
        let mut args = sub.to_vec();
        args.push("--help");
        let help = ok(&authnzd(&config, &args, None).await, &sub.join(" "));
        assert!(help.contains("Example"), "{sub:?} has no example:\n{help}");
    }
    let bash = ok(
        &authnzd(&config, &["completions", "bash"], None).await,
        "completions",
    );
    assert!(
        bash.contains("reset-password") && bash.contains("check-config"),
        "{bash}"
    );
    let man = ok(&authnzd(&config, &["man"], None).await, "man");
    assert!(man.starts_with(".ie") || man.contains(".TH"), "{man}");
    let pages = dir.path().join("man1");
    let page_dir = pages.display().to_string();
    ok(
        &authnzd(&config, &["man", "--out-dir", &page_dir], None).await,
        "man --out-dir",
    );
    assert!(pages.join("authnzd-user-add.1").exists());
}
