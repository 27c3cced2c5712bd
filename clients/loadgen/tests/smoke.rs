//! The load generator against a real in-process authnzd: it sets up its
//! fixtures, runs counted scenarios and writes the JSON report. The server
//! runs in this test process, so `--server-pid` is this process's id.

use std::path::Path;
use std::process::Command;

use authnzd::config::Config;
use authnzd::{Server, envelope::KeyRing};
use serde_json::Value;

/// Runs the load generator with `extra` arguments; returns stdout and the
/// JSON report.
async fn loadgen(url: &str, key: &str, json: &Path, extra: &[&str]) -> (String, Value) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_authnzd-loadgen"));
    cmd.args(["--url", url, "--key", key, "--warmup", "0s"])
        .args(["--server-pid", &std::process::id().to_string()])
        .args(extra)
        .arg("--json")
        .arg(json);
    let what = format!("{extra:?}");
    let out = tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap();
    (String::from_utf8_lossy(&out.stdout).into_owned(), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_runs_report_throughput_latency_cpu_and_errors() {
    let dir = tempfile::tempdir().unwrap();
    // URL-safe base64 keys start with '-' one time in 32, which once made
    // `--key <key>` read as an unknown flag; always test that case.
    let key = std::iter::repeat_with(KeyRing::generate_key)
        .find(|k| k.starts_with('-'))
        .unwrap();
    let mut config = Config::for_tests(dir.path());
    config.keys.secret = Some(key.clone().into());
    let config = config.validated().unwrap();
    let server = Server::start(config).await.unwrap();
    let url = server.url();
    let runs: [(&str, u64, &[&str]); 9] = [
        ("session-exists", 200, &[]),
        // Pre-sealed envelopes: all of them, then some and the rest sealed
        // as they go. The server refuses a replayed or stale one, so zero
        // errors below means each was fresh and sent once.
        ("session-exists", 200, &["--prebuild", "200"]),
        ("user-check-access", 120, &["--prebuild", "50"]),
        ("session-exists", 200, &["--threads", "2"]),
        // Open loop: every scheduled arrival is sent and counted.
        ("session-exists", 100, &["--rate", "500"]),
        ("session-new", 50, &[]),
        ("user-check-access", 50, &[]),
        ("user-login", 20, &[]),
        ("mix", 100, &[]),
    ];
    for (scenario, requests, extra) in runs {
        let json = dir.path().join(format!("{scenario}.json"));
        let n = requests.to_string();
        let mut args = vec!["--scenario", scenario, "--concurrency", "4"];
        args.extend(["--requests", &n, "--sessions", "20"]);
        args.extend(extra);
        let (stdout, report) = loadgen(&url, &key, &json, &args).await;
        assert!(stdout.contains("| throughput (req/s) |"), "{stdout}");
        assert!(
            stdout.contains("CPU per request: load generator"),
            "{stdout}"
        );
        assert_eq!(report["requests"], requests, "{scenario}: {report}");
        assert!(report["throughput_rps"].as_f64().unwrap() > 0.0);
        for q in ["p50", "p90", "p99", "p999", "max"] {
            assert!(
                report["latency_ms"][q].as_f64().unwrap() > 0.0,
                "{scenario} {q}"
            );
        }
        // Every envelope was fresh and sent once: a replayed or stale token
        // would come back as an HTTP 401 and be counted here.
        let errors = report["errors"].as_object().unwrap();
        assert!(errors.is_empty(), "{scenario}: {report}");
        assert_eq!(report["errors_total"], 0);
        let cpu = &report["cpu"];
        assert!(
            cpu["loadgen_us_per_request"].as_f64().unwrap() > 0.0,
            "{cpu}"
        );
        assert!(cpu["loadgen_cores"].as_f64().unwrap() > 0.0, "{cpu}");
        // /proc counts in clock ticks: a short cheap run may round to 0,
        // but the field is always there when a pid is given.
        assert!(
            cpu["server_us_per_request"].as_f64().unwrap() >= 0.0,
            "{cpu}"
        );
        assert!(cpu["limit"].is_string(), "{cpu}");
        if scenario == "user-login" {
            // 20 argon2 hashes are far more than a tick.
            assert!(
                cpu["server_us_per_request"].as_f64().unwrap() > 0.0,
                "{cpu}"
            );
        }
        if let Some(p) = extra.iter().position(|&a| a == "--prebuild") {
            assert_eq!(report["prebuilt"]["bodies"].to_string(), extra[p + 1]);
            assert!(report["prebuilt"]["us_per_body"].as_f64().unwrap() > 0.0);
        } else {
            assert!(report["prebuilt"].is_null());
        }
        for at in ["before", "after"] {
            assert!(report["server_rss_kib"][at].as_u64().unwrap() > 0);
        }
    }

    // /health, unencrypted.
    let json = dir.path().join("health.json");
    let args = [
        "--scenario",
        "health",
        "--requests",
        "100",
        "--concurrency",
        "2",
    ];
    let (_, report) = loadgen(&url, &key, &json, &args).await;
    assert_eq!(report["requests"], 100, "{report}");
    assert_eq!(report["errors_total"], 0, "{report}");

    // A session pool is written once and reused: the second run makes no
    // new session, and its tokens still work.
    let pool = dir.path().join("sessions.txt");
    let pool_arg = pool.to_str().unwrap();
    let args = [
        "--scenario",
        "session-exists",
        "--requests",
        "50",
        "--sessions",
        "30",
        "--sessions-file",
        pool_arg,
    ];
    let (_, report) = loadgen(&url, &key, &json, &args).await;
    assert_eq!(report["errors_total"], 0, "{report}");
    let first = std::fs::read_to_string(&pool).unwrap();
    assert_eq!(first.lines().count(), 30);
    let (_, report) = loadgen(&url, &key, &json, &args).await;
    assert_eq!(report["errors_total"], 0, "{report}");
    assert_eq!(std::fs::read_to_string(&pool).unwrap(), first);

    // A wrong key is counted, not hidden: every request fails.
    let other = KeyRing::generate_key();
    let args = ["--scenario", "user-check-access", "--requests", "10"];
    let (_, report) = loadgen(&url, &other, &json, &args).await;
    assert_eq!(report["errors_total"], 10, "{report}");
    assert_eq!(report["errors"]["http 401"], 10, "{report}");
    server.shutdown().await;
}
