//! The load generator against a real in-process authnzd: it sets up its
//! fixtures, runs a counted scenario and writes the JSON report.

use std::process::Command;

use authnzd::config::Config;
use authnzd::{Server, envelope::KeyRing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counted_runs_report_throughput_latency_and_errors() {
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
    for (scenario, requests) in [("session-exists", 200), ("user-login", 20), ("mix", 100)] {
        let json = dir.path().join(format!("{scenario}.json"));
        let (url, key, json2) = (url.clone(), key.clone(), json.clone());
        let out = tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_authnzd-loadgen"))
                .args([
                    "--url",
                    &url,
                    "--key",
                    &key,
                    "--scenario",
                    scenario,
                    "--concurrency",
                    "4",
                ])
                .args([
                    "--requests",
                    &requests.to_string(),
                    "--warmup",
                    "0s",
                    "--sessions",
                    "20",
                ])
                .arg("--json")
                .arg(&json2)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        assert!(
            out.status.success(),
            "{scenario}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("| throughput (req/s) |"), "{stdout}");
        let report: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        assert_eq!(report["requests"], requests, "{scenario}: {report}");
        assert!(report["throughput_rps"].as_f64().unwrap() > 0.0);
        for q in ["p50", "p90", "p99", "p999", "max"] {
            assert!(
                report["latency_ms"][q].as_f64().unwrap() > 0.0,
                "{scenario} {q}"
            );
        }
        let errors = report["errors"].as_object().unwrap();
        assert!(errors.is_empty(), "{scenario}: {report}");
    }
    server.shutdown().await;
}
