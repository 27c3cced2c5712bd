//! Login takes the same time whether the password is right, wrong, or the
//! account does not exist. Interleaved rounds and medians keep it robust on a
//! noisy machine; the production argon2 parameters make the hash dominate.

mod common;

use authnzd_proto::Refusal;
use std::time::Instant;

use common::{PW, TestServer, login_body, production_hashing};
use serde_json::json;
const ROUNDS: usize = 200;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_medians_match_within_ten_percent() {
    let s = TestServer::start_with(|c| {
        production_hashing(c);
        c.limits.rate_limits = "none".into();
        // What is measured is the check itself: the failure delay (the same
        // for both by construction, tested in tests/hardening.rs) and the
        // lock would swamp it.
        c.lockout.failed_login_delay_ms = 0;
        c.lockout.user_lock_tries = 1000;
    })
    .await;
    s.verified_user("right@example.org", PW).await;
    s.verified_user("wrong@example.org", PW).await;
    let cases = [
        ("right", "right@example.org", PW),
        ("wrong", "wrong@example.org", "not-the-password-at-all"),
        ("unknown", "nobody@example.org", PW),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS + 10 {
        for (i, (_, email, password)) in cases.iter().enumerate() {
            let anon = s.anon_session().await;
            let body = login_body(&anon, email, password);
            let started = Instant::now();
            let r = s.call("user-login", body).await;
            let took = started.elapsed().as_secs_f64();
            assert_eq!(r.success, i == 0, "{r:?}");
            if round >= 10 {
                times[i].push(took); // the first rounds warm caches and pools
            }
        }
    }
    // Load on a shared machine comes in phases; comparing the three kinds
    // within each round cancels them, and medians drop the outliers.
    let medians: Vec<f64> = times.iter().cloned().map(median).collect();
    let ratios: Vec<f64> = (1..cases.len())
        .map(|k| {
            median(
                times[k]
                    .iter()
                    .zip(&times[0])
                    .map(|(t, right)| t / right)
                    .collect(),
            )
        })
        .collect();
    let report: Vec<String> = cases
        .iter()
        .zip(&medians)
        .map(|((name, _, _), m)| format!("{name}: {:.2} ms", m * 1000.0))
        .collect();
    eprintln!(
        "login medians: {}; per-round ratios to right: {ratios:.3?}",
        report.join(", ")
    );
    let (lo, hi) = medians
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
    for r in &ratios {
        assert!(
            (0.9..=1.1).contains(r),
            "paired ratio {r:.3} off by more than 10 %: {}",
            report.join(", ")
        );
    }
    assert!(
        hi / lo <= 1.10,
        "medians differ by more than 10 %: {}",
        report.join(", ")
    );
}

/// A wrong password takes as long for an account whose hash has costlier
/// parameters (one imported from authnzerver, or made before the operator
/// lowered them) as for a current account and an address without one:
/// every check is padded to the costliest parameters stored.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_cost_the_same_whatever_the_stored_parameters() {
    const ROUNDS: usize = 60;
    let mut s = TestServer::start_with(|c| {
        c.hashing.argon2_memory_kib = 16 * 1024;
        c.hashing.argon2_iterations = 2;
        c.limits.rate_limits = "none".into();
        c.lockout.failed_login_delay_ms = 0;
        c.lockout.user_lock_tries = 1000;
    })
    .await;
    s.verified_user("old@example.org", PW).await;
    // The operator lowers the cost; the old hash stays until its next
    // successful login.
    s.config.hashing.argon2_memory_kib = 2 * 1024;
    s.config.hashing.argon2_iterations = 1;
    s.restart().await;
    s.verified_user("new@example.org", PW).await;
    let cases = [
        ("old parameters", "old@example.org"),
        ("current parameters", "new@example.org"),
        ("no account", "nobody@example.org"),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    for round in 0..ROUNDS + 5 {
        for (i, (_, email)) in cases.iter().enumerate() {
            let body = json!({"email": email, "password": "not the password at all"});
            let started = Instant::now();
            let r = s.call("user-passcheck-nosession", body).await;
            let took = started.elapsed().as_secs_f64();
            assert_eq!(r.refusal(), Some(Refusal::WrongPassword), "{r:?}");
            if round >= 5 {
                times[i].push(took); // start-up times the stored parameters
            }
        }
    }
    let medians: Vec<f64> = times.iter().cloned().map(median).collect();
    let report: Vec<String> = cases
        .iter()
        .zip(&medians)
        .map(|((name, _), m)| format!("{name}: {:.2} ms", m * 1000.0))
        .collect();
    eprintln!("wrong-password medians: {}", report.join(", "));
    let (lo, hi) = medians
        .iter()
        .fold((f64::MAX, 0.0_f64), |(lo, hi), m| (lo.min(*m), hi.max(*m)));
    assert!(
        hi / lo <= 1.10,
        "medians differ by more than 10 %: {}",
        report.join(", ")
    );
}
