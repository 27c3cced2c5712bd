//! The tests' Python: a venv with what authnzerver's client and the mail
//! sink need, and the interop script run against a server.

use std::path::PathBuf;

mod venv;

/// A Python interpreter with `venv::PACKAGES`: a venv made once under the
/// target directory, so the tests need nothing but `python3` on the machine.
pub fn test_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            venv::ensure(env!("CARGO_TARGET_TMPDIR").as_ref()).unwrap_or_else(|e| {
                panic!("the tests' Python venv (`cargo xtask test` reports why up front): {e}")
            })
        })
        .clone()
}

/// Runs `tests/python/interop.py` against `url` with `key`; returns its
/// summary line.
pub fn run_python_interop(url: &str, key: &str) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/interop.py");
    let out = std::process::Command::new(test_python())
        .arg(script)
        .arg(url)
        .arg(key)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python interop failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("interop prints one JSON line")
}

/// Verifies `token` with PyJWT against the JWKS document `jwks` for `iss`
/// and `aud`: the claims, or the name of PyJWT's exception.
pub fn pyjwt_verify(
    jwks: &str,
    token: &str,
    iss: &str,
    aud: &str,
) -> Result<serde_json::Value, String> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/verify_jwt.py");
    let out = std::process::Command::new(test_python())
        .arg(script)
        .args([jwks, token, iss, aud])
        .output()
        .expect("run python");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "verify_jwt.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: serde_json::Value = serde_json::from_str(&stdout).expect("one JSON line");
    match line.get("claims") {
        Some(c) => Ok(c.clone()),
        None => Err(line["error"].as_str().unwrap_or_default().to_owned()),
    }
}

/// Runs `tests/python/oidc_rp.py ARGS…` (an Authlib relying party) off the
/// runtime, since it calls the server under test: its one JSON line.
pub async fn oidc_rp(args: Vec<String>) -> serde_json::Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/python/oidc_rp.py");
    let python = test_python();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .expect("run python")
    })
    .await
    .expect("joined");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    assert!(
        out.status.success(),
        "oidc_rp.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&stdout).expect("one JSON line")
}
