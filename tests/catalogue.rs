//! The server's catalogue, the Rust client and the Python client agree on
//! every request's name and parameters. The server and the Rust client share
//! one definition (`authnzd-proto`); the Python client's methods are
//! generated from the catalogue (`clients/python/generate.py`), and here
//! both read back from the checked-in source and regenerated.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

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
    let out = Command::new("python3")
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

#[test]
fn the_python_methods_are_generated_from_the_live_catalogue() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // What `authnzd catalogue --json` prints.
    let specs: Vec<_> = authnzd::catalogue::all().collect();
    let json = serde_json::to_vec_pretty(&specs).expect("the catalogue serialises");
    let mut child = Command::new("python3")
        .arg(root.join("clients/python/generate.py"))
        .args(["-", "-o", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&json)
        .expect("the generator reads the catalogue");
    let out = child.wait_with_output().expect("the generator runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = root.join("clients/python/src/authnzd_client/_methods.py");
    let checked_in = std::fs::read_to_string(&path).expect("the generated file");
    let fresh = String::from_utf8(out.stdout).expect("UTF-8");
    if checked_in != fresh {
        // The first line that differs, to say what changed.
        let old: Vec<&str> = checked_in.lines().collect();
        let new: Vec<&str> = fresh.lines().collect();
        let n = (0..old.len().max(new.len()))
            .find(|&i| old.get(i) != new.get(i))
            .unwrap_or(0);
        panic!(
            "{} is stale: run `python3 clients/python/generate.py`\n\
             line {}: checked in {:?}, generated {:?}",
            path.display(),
            n + 1,
            old.get(n),
            new.get(n)
        );
    }
}
