//! The tests' Python venv, in one place for its two users: the test kit
//! (`tests/common/python.rs`), which makes it on first use, and
//! `cargo xtask test` (`#[path]`-included), which makes it before the suite
//! so a missing `python3-venv` or an unreachable PyPI shows once, up front.
//! Std only, since the xtask has no other dependency to share.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

/// What the tests' Python needs, as (pip name, module): `cryptography` (what
/// authnzerver's client encrypts with), `aiosmtpd` (the SMTP server mail
/// tests deliver to), PyJWT (an independent check of our access tokens),
/// Authlib with requests (an OpenID Connect relying party).
pub const PACKAGES: &[(&str, &str)] = &[
    ("aiosmtpd", "aiosmtpd"),
    ("cryptography", "cryptography"),
    ("PyJWT", "jwt"),
    ("Authlib", "authlib"),
    ("requests", "requests"),
];

/// The venv's directory under the tests' `CARGO_TARGET_TMPDIR`, which cargo
/// sets to `<target dir>/tmp`. Renamed when `PACKAGES` grows, so an older
/// venv is not mistaken for this one.
pub const DIR: &str = "test-venv-2";

/// The venv's interpreter under `tmpdir` (`CARGO_TARGET_TMPDIR`), made with
/// `PACKAGES` if it is not there yet. Built under a scratch name and renamed
/// into place, so concurrent test processes never use a half-made one.
pub fn ensure(tmpdir: &Path) -> io::Result<PathBuf> {
    let venv = tmpdir.join(DIR);
    let py = venv.join("bin/python");
    if has_all(&py) {
        return Ok(py);
    }
    std::fs::create_dir_all(tmpdir)?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let scratch = tmpdir.join(format!("{DIR}.{}.{nanos}", std::process::id()));
    let made = run(Command::new("python3").arg("-m").arg("venv").arg(&scratch)).and_then(|()| {
        run(Command::new(scratch.join("bin/python"))
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .args(PACKAGES.iter().map(|(pip, _)| *pip)))
    });
    if let Err(e) = made {
        std::fs::remove_dir_all(&scratch).ok();
        return Err(e);
    }
    if std::fs::rename(&scratch, &venv).is_err() {
        // Another test process got there first.
        std::fs::remove_dir_all(&scratch).ok();
    }
    if has_all(&py) {
        Ok(py)
    } else {
        Err(io::Error::other(format!(
            "the venv at {} lacks {PACKAGES:?}",
            venv.display()
        )))
    }
}

/// Whether `py` runs and imports every module of `PACKAGES`.
fn has_all(py: &Path) -> bool {
    let modules: Vec<&str> = PACKAGES.iter().map(|(_, m)| *m).collect();
    Command::new(py)
        .args(["-c", &format!("import {}", modules.join(", "))])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `cmd`; a non-zero exit is an error naming the command.
fn run(cmd: &mut Command) -> io::Result<()> {
    let status = cmd
        .status()
        .map_err(|e| io::Error::new(e.kind(), format!("{cmd:?}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{cmd:?} failed: {status}")))
    }
}
