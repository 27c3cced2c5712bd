//! The tests' Python: a venv with what authnzerver's client and the mail
//! sink need, and the interop script run against a server.

use std::path::PathBuf;

use super::random_suffix;

/// What the tests' Python needs, as (pip name, module): `cryptography` (what
/// authnzerver's client encrypts with), `aiosmtpd` (the SMTP server mail
/// tests deliver to), PyJWT (an independent check of our access tokens).
const PYTHON_PACKAGES: &[(&str, &str)] = &[
    ("aiosmtpd", "aiosmtpd"),
    ("cryptography", "cryptography"),
    ("PyJWT", "jwt"),
];

/// A Python interpreter with `PYTHON_PACKAGES`: a venv made once under the
/// target directory, so the tests need nothing but `python3` on the machine.
/// Built under a temporary name and renamed into place, so concurrent test
/// processes never use a half-made one.
pub fn test_python() -> PathBuf {
    use std::process::Command;
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let has_all = |py: &std::path::Path| {
                let modules: Vec<&str> = PYTHON_PACKAGES.iter().map(|(_, m)| *m).collect();
                let imports = format!("import {}", modules.join(", "));
                Command::new(py)
                    .args(["-c", &imports])
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::null())
                    .status()
                    .is_ok_and(|s| s.success())
            };
            let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("test-venv");
            let py = venv.join("bin/python");
            if has_all(&py) {
                return py;
            }
            let scratch = venv.with_file_name(format!("test-venv.{}", random_suffix()));
            let made = Command::new("python3")
                .arg("-m")
                .arg("venv")
                .arg(&scratch)
                .status();
            assert!(made.is_ok_and(|s| s.success()), "python3 -m venv failed");
            let pip = Command::new(scratch.join("bin/python"))
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .args(PYTHON_PACKAGES.iter().map(|(pip, _)| *pip))
                .status();
            assert!(
                pip.is_ok_and(|s| s.success()),
                "pip install {PYTHON_PACKAGES:?} failed"
            );
            if std::fs::rename(&scratch, &venv).is_err() {
                // Another test process got there first.
                std::fs::remove_dir_all(&scratch).ok();
            }
            assert!(
                has_all(&py),
                "the test venv at {} lacks {PYTHON_PACKAGES:?}",
                venv.display()
            );
            py
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
