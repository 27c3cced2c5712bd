//! The server's catalogue, the Rust client and the Python client agree on
//! every request's name and parameters. The server and the Rust client share
//! one definition (`authnzd-proto`); the Python client's methods are read
//! from its source and held to the same catalogue here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Deserialize)]
struct Method {
    request: Option<String>,
    params: Vec<(String, bool)>,
}

#[test]
fn server_rust_client_and_python_client_agree_on_every_request() {
    // The Rust client's parameter structs are the server's.
    let server: Vec<_> = authnzd::catalogue::all().map(|s| s.name).collect();
    let rust: Vec<_> = authnzd_client::params::catalogue()
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(server, rust);

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/python/client_methods.py"))
        .arg(root.join("clients/python/src/authnzd_client/_methods.py"))
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let python: BTreeMap<String, Method> =
        serde_json::from_slice(&out.stdout).expect("one JSON object");

    let mut problems = Vec::new();
    for spec in authnzd::catalogue::all() {
        let method = spec.name.replace('-', "_");
        let Some(m) = python.get(&method) else {
            problems.push(format!("{}: no Python method {method}", spec.name));
            continue;
        };
        if m.request.as_deref() != Some(spec.name) {
            problems.push(format!("{method} sends {:?}, not {}", m.request, spec.name));
        }
        let want: Vec<(String, bool)> = spec
            .params
            .iter()
            .map(|p| (p.name.to_owned(), p.required))
            .collect();
        let mut got = m.params.clone();
        let mut sorted_want = want.clone();
        got.sort();
        sorted_want.sort();
        if got != sorted_want {
            problems.push(format!(
                "{}: Python has {got:?}, the catalogue {sorted_want:?}",
                spec.name
            ));
        }
    }
    for method in python.keys() {
        if !server.iter().any(|n| n.replace('-', "_") == *method) {
            problems.push(format!("Python method {method} has no request"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
