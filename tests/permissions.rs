//! The permissions model over the wire: authnzerver's permission matrix
//! (`tests/data/permissions_matrix.tsv`) and role limits against the
//! built-in policy, a custom policy file that changes decisions, a bad one
//! that stops start-up, and the users-table checks around every decision.

mod common;

use authnzd_proto::Refusal;
use std::collections::HashMap;

use authnzd::Server;
use authnzd_client::Reply;
use common::{TestServer, invalid_naming};
use serde_json::{Value, json};

const AUTH: &str = "authenticated";

/// Real accounts standing in for the matrix's user ids: the requester (id 2
/// in the matrix) per role, and owners / shared-with users 1, 5 and 6.
struct Cast {
    requester: HashMap<&'static str, i64>,
    others: HashMap<i64, i64>,
}

impl Cast {
    async fn new(s: &TestServer) -> Cast {
        let requester = HashMap::from([
            ("superuser", 1),
            (
                "staff",
                s.user_with_role("staff@example.com", "staff").await,
            ),
            (AUTH, s.user_with_role("member@example.com", AUTH).await),
            // The real anonymous user, so "shared with 2" keeps its meaning.
            ("anonymous", 2),
            (
                "locked",
                s.user_with_role("locked@example.com", "locked").await,
            ),
        ]);
        let others = HashMap::from([
            (1, s.user_with_role("owner@example.com", AUTH).await),
            (5, s.user_with_role("five@example.com", AUTH).await),
            (6, s.user_with_role("six@example.com", AUTH).await),
        ]);
        Cast { requester, others }
    }

    fn id(&self, role: &str, matrix_id: i64) -> i64 {
        if matrix_id == 2 {
            self.requester[role]
        } else {
            self.others[&matrix_id]
        }
    }
}

async fn check(
    s: &TestServer,
    (user_id, role): (i64, &str),
    action: &str,
    target: &str,
    owner: i64,
    visibility: &str,
    shared: &str,
) -> Reply {
    s.call(
        "user-check-access",
        json!({"user_id": user_id, "user_role": role, "action": action,
               "target_name": target, "target_owner": owner,
               "target_visibility": visibility, "target_sharedwith": shared}),
    )
    .await
}

/// `check` of a dataset.
async fn dataset(
    s: &TestServer,
    by: (i64, &str),
    action: &str,
    owner: i64,
    visibility: &str,
    shared: &str,
) -> Reply {
    check(s, by, action, "dataset", owner, visibility, shared).await
}

/// A user-check-limit body.
fn limit(user_id: i64, role: &str, name: &str, value: Value) -> Value {
    json!({"user_id": user_id, "user_role": role, "limit_name": name, "value_to_check": value})
}

#[tokio::test]
async fn authnzerver_permission_matrix_holds_over_the_wire() {
    let s = TestServer::start().await;
    let cast = Cast::new(&s).await;
    let table = include_str!("data/permissions_matrix.tsv");
    let mut wrong = Vec::new();
    let mut counts = HashMap::<&str, usize>::new();
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split('\t').collect();
        let [role, action, target, owner, visibility, shared, expected] = f[..] else {
            panic!("bad matrix line {line:?}");
        };
        let owner = cast.id(role, owner.parse().unwrap());
        let shared = match shared {
            "-" => String::new(),
            ids => ids
                .split(',')
                .map(|i| cast.id(role, i.parse().unwrap()).to_string())
                .collect::<Vec<_>>()
                .join(","),
        };
        let r = check(
            &s,
            (cast.requester[role], role),
            action,
            target,
            owner,
            visibility,
            &shared,
        )
        .await;
        let allowed = expected == "allow";
        *counts.entry(expected).or_default() += 1;
        let reason_ok = allowed || r.refusal() == Some(Refusal::ActionNotPermitted);
        if r.success != allowed || !reason_ok {
            wrong.push(format!("{line} -> {:?} {:?}", r.success, r.refusal()));
        }
        let granted = if allowed { "True" } else { "False" };
        assert_eq!(
            r.messages,
            vec![format!(
                "Access request check successful. Access granted: {granted}."
            )]
        );
    }
    // The whole matrix ran: 1716 cases, 337 of them granted.
    assert_eq!((counts["allow"], counts["deny"]), (337, 1379));
    assert!(
        wrong.is_empty(),
        "{} wrong decisions:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[tokio::test]
async fn role_limits_of_the_builtin_policy() {
    let s = TestServer::start().await;
    let cast = Cast::new(&s).await;
    // authnzerver's test_permissions_limits.py, per role.
    for role in ["superuser", "staff", "authenticated", "anonymous", "locked"] {
        let unlimited = role != "locked";
        for (name, value, expected) in [
            ("max_requests", json!(100), unlimited),
            ("max_requests_per_minute", json!(100), unlimited),
            ("max_requests", json!(100_000_000), false),
            ("max_requests_per_minute", json!(10_000_000), false),
            ("nonexistent_limit_name", json!(10_000_000), true),
        ] {
            let body = limit(cast.requester[role], role, name, value.clone());
            let r = s.call("user-check-limit", body).await;
            assert_eq!(r.success, expected, "{role} {name} {value}: {r:?}");
            if !expected {
                assert_eq!(r.refusal(), Some(Refusal::OverLimit));
            }
        }
    }
    // Values are read as the limit's type; unreadable ones fail.
    for (value, expected) in [
        (json!("599"), true),
        (json!(599.9), true),
        (json!("six hundred"), false),
        (Value::Null, false),
    ] {
        let body = limit(2, "anonymous", "max_requests_per_minute", value.clone());
        let r = s.call("user-check-limit", body).await;
        assert_eq!(r.success, expected, "{value}: {r:?}");
    }
    // Only for a real, active user holding the role.
    let body = limit(2, "superuser", "max_requests", json!(1));
    s.refuses("user-check-limit", body, Refusal::AccessUserNotFound)
        .await;
}

#[tokio::test]
async fn decisions_only_for_real_active_users() {
    let s = TestServer::start().await;
    let member = s.user_with_role("member@example.com", AUTH).await;
    let friend = s.user_with_role("friend@example.com", AUTH).await;
    let reason = |r: &Reply| r.refusal();
    let (as_member, shared) = ((member, AUTH), member.to_string());

    let ok = dataset(&s, as_member, "view", friend, "shared", &shared).await;
    assert!(ok.success, "{ok:?}");
    // A caller that does not exist, or does not hold the role it names.
    let r = dataset(&s, (9999, AUTH), "view", friend, "public", "").await;
    assert_eq!(reason(&r), Some(Refusal::InvalidCaller));
    let r = dataset(&s, (member, "superuser"), "view", friend, "private", "").await;
    assert_eq!(reason(&r), Some(Refusal::InvalidCaller));
    // An owner or shared-with user that does not exist or is inactive.
    let r = dataset(&s, as_member, "view", 9999, "public", "").await;
    assert_eq!(reason(&r), Some(Refusal::UnknownOwnerOrShare));
    let shared = format!("{member},9998");
    let r = dataset(&s, as_member, "view", friend, "shared", &shared).await;
    assert_eq!(reason(&r), Some(Refusal::UnknownOwnerOrShare));
    s.lock_user(friend, "lock").await;
    let r = dataset(&s, as_member, "view", friend, "public", "").await;
    assert_eq!(reason(&r), Some(Refusal::UnknownOwnerOrShare));
    // A shared-with list that is not a list of ids is a clear error.
    let r = dataset(&s, as_member, "view", member, "shared", "4,five").await;
    assert!(!r.success);
    let why = reason(&r).expect("a reason");
    assert!(invalid_naming(&why, "target_sharedwith"), "{r:?}");
}

fn policy_file(dir: &std::path::Path, edit: impl FnOnce(&mut Value)) -> std::path::PathBuf {
    let mut policy: Value =
        serde_json::from_str(include_str!("../src/policy/default.json")).unwrap();
    edit(&mut policy);
    let path = dir.join("policy.json");
    std::fs::write(&path, policy.to_string()).unwrap();
    path
}

/// Whether a member may delete another member's public dataset.
async fn member_deletes_anothers_public_dataset(s: &TestServer) -> Reply {
    let member = s.user_with_role("member@example.com", AUTH).await;
    let other = s.user_with_role("other@example.com", AUTH).await;
    dataset(s, (member, AUTH), "delete", other, "public", "").await
}

#[tokio::test]
async fn a_custom_policy_file_is_what_decides() {
    let dir = tempfile::tempdir().unwrap();
    // Deny all: no role may do anything to anything.
    let deny_all = policy_file(dir.path(), |p| {
        for (_, role) in p["role_policy"].as_object_mut().unwrap() {
            role["can_own_items"] = json!([]);
            role["allowed_actions_for_owned"] = json!([]);
            role["allowed_actions_for_other"] = json!({});
        }
    });
    let s = TestServer::start_with(|c| c.limits.permissions = Some(deny_all)).await;
    let member = s.user_with_role("member@example.com", AUTH).await;
    for (user, role, owner, visibility) in [
        (1, "superuser", member, "private"),
        (1, "superuser", 1, "public"),
        (member, AUTH, member, "private"),
        (2, "anonymous", member, "public"),
    ] {
        let r = dataset(&s, (user, role), "view", owner, visibility, "").await;
        assert!(!r.success, "{role} viewing a {visibility} dataset: {r:?}");
        assert_eq!(r.refusal(), Some(Refusal::ActionNotPermitted));
    }
    s.stop().await;

    // A policy that lets authenticated users delete other people's public
    // datasets, which the default forbids.
    let lenient = policy_file(dir.path(), |p| {
        p["role_policy"][AUTH]["allowed_actions_for_other"]["public"] =
            json!(["list", "view", "delete"]);
    });
    let s = TestServer::start_with(|c| c.limits.permissions = Some(lenient)).await;
    let r = member_deletes_anothers_public_dataset(&s).await;
    assert!(r.success, "{r:?}");
    s.stop().await;

    let s = TestServer::start().await;
    let r = member_deletes_anothers_public_dataset(&s).await;
    assert!(!r.success, "the default forbids it: {r:?}");
}

#[tokio::test]
async fn a_bad_policy_file_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let start = |path: std::path::PathBuf| {
        let mut config = common::test_config(dir.path());
        config.limits.permissions = Some(path);
        config.keys.secret = Some(authnzd::envelope::KeyRing::generate_key().into());
        async move {
            match Server::start(config).await {
                Ok(running) => {
                    running.shutdown().await;
                    panic!("a bad policy was accepted")
                }
                Err(e) => e.to_string(),
            }
        }
    };
    let bad = policy_file(dir.path(), |p| {
        p["item_policy"]["dataset"]["valid_role_actions"] = json!(["view", "teleport"]);
    });
    let message = start(bad).await;
    assert!(message.contains("permissions"), "{message}");
    assert!(
        message.contains("item_policy.dataset.valid_role_actions") && message.contains("teleport"),
        "{message}"
    );
    let message = start(dir.path().join("missing.json")).await;
    assert!(message.contains("missing.json"), "{message}");
}
