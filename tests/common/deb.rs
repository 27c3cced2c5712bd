//! The Debian package, made in one place for its two users: `cargo xtask
//! deb` (`#[path]`-included), which packages a build for operators, and
//! tests/service.rs, which packages the debug build the suite has just made
//! (so the test path builds nothing more). Std only, since the xtask has no
//! other dependency to share.

use std::ffi::OsStr;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The cargo-deb `cargo xtask` installs. Pinned: packaging a dev-profile
/// build (the tests') is a warning in this version, and to become an error.
pub const CARGO_DEB_VERSION: &str = "3.8.0";

/// Where Cargo.toml's assets expect what the binary generates, beside the
/// binary (`target/release/deb-assets/…`, cargo-deb's spelling of the
/// profile's output directory).
pub const ASSETS: &str = "deb-assets";

/// Writes what the package ships and `bin` generates into `ASSETS` beside
/// it: a man page per command, gzipped as Debian wants them, and the bash,
/// zsh and fish completions.
pub fn generate_assets(bin: &Path) -> io::Result<PathBuf> {
    let dir = bin
        .parent()
        .ok_or_else(|| io::Error::other(format!("{} has no directory", bin.display())))?
        .join(ASSETS);
    // Afresh: a command removed since must not stay in the package.
    match fs::remove_dir_all(&dir) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let man = dir.join("man");
    let completions = dir.join("completions");
    fs::create_dir_all(&man)?;
    fs::create_dir_all(&completions)?;
    run(Command::new(bin).arg("man").arg("--out-dir").arg(&man))?;
    let mut pages = Vec::new();
    for entry in fs::read_dir(&man)? {
        pages.push(entry?.path());
    }
    // -n: no name or time inside, so the same pages make the same package.
    run(Command::new("gzip").arg("-9n").args(&pages))?;
    for (shell, name) in [
        ("bash", "authnzd.bash"),
        ("zsh", "_authnzd"),
        ("fish", "authnzd.fish"),
    ] {
        let script = Command::new(bin).args(["completions", shell]).output()?;
        if !script.status.success() {
            return Err(io::Error::other(format!(
                "authnzd completions {shell}: {}",
                script.status
            )));
        }
        fs::write(completions.join(name), script.stdout)?;
    }
    Ok(dir)
}

/// `cargo deb` for the authnzd package already built under `profile`
/// (`release`, or `dev` for the tests' build), written to `out` (a file
/// or a directory) if given.
pub fn cargo_deb(cargo: &OsStr, workspace: &Path, profile: &str, out: Option<&Path>) -> Command {
    let mut cmd = Command::new(cargo);
    cmd.current_dir(workspace)
        .args(["deb", "--package", "authnzd", "--no-build", "--profile"])
        .arg(profile);
    if let Some(out) = out {
        cmd.arg("--output").arg(out);
    }
    cmd
}

fn run(cmd: &mut Command) -> io::Result<()> {
    let status = cmd.stdin(Stdio::null()).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("{cmd:?}: {status}")))
    }
}
